// The opt-in handler timeout, through each backend's own protocol on real sockets (and a real
// CGI process): a handler that never answers gets a 503 and its abort signal fires; one that
// wrote its head loses its connection, and its signal fires too; one that answers in time is
// left alone; off by default.
import { describe, it, expect, afterEach } from "@jest/globals";
import { connect } from "node:net";
import { loggedLines } from "../helpers/log.js";
import { serve, send, type Served } from "../helpers/http.js";
import { scgiRequest, exchange as scgiExchange } from "../helpers/scgi-client.js";
import { FastcgiClient, nginxParams, parseCgiResponse } from "../helpers/fastcgi-client.js";
import { AjpSocket, exchange as ajpExchange } from "../helpers/ajp-client.js";
import { runCgi } from "../helpers/cgi-client.js";
import { distPath } from "../helpers/process.js";
import { limitsApp } from "../helpers/limits-app.js";
import { until, untilClosed } from "../helpers/limits-clients.js";
import { encodeHead } from "../../servers/scgi/index.js";
import { Server, HandlerTimeouts, SERVER_LIMITS, VsgiError } from "../../vsgi/index.js";

const TIMEOUT = 200;
const CGI_LIMITS_APP = distPath("test/helpers/cgi-limits-app.js");

describe("handlerTimeout on the http backend", () => {
  let served: Served | null = null;
  const logged = loggedLines();
  const seen: string[] = [];
  afterEach(async () => {
    await served?.close();
    served = null;
    seen.length = 0;
  });

  it("answers 503 to a handler that never answers, and fires its abort signal with ERR_VSGI_HANDLER_TIMEOUT", async () => {
    served = await serve(limitsApp((line) => seen.push(line)), { handlerTimeout: TIMEOUT });
    const answered = await send(served.port, "GET", "/hang");
    expect(answered.status).toBe(503);
    expect(answered.body.toString()).toMatch(/did not answer in time/);
    await until(() => seen.length > 0);
    expect(seen).toEqual(["aborted ERR_VSGI_HANDLER_TIMEOUT"]);
    expect(logged.join("\n")).toMatch(/GET \/hang: the handler did not finish within handlerTimeout \(200 ms\); answered 503/);
  }, 20000);

  it("closes the connection of a handler that wrote its head, unfinished (no last chunk), and fires its signal", async () => {
    served = await serve(limitsApp((line) => seen.push(line)), { handlerTimeout: TIMEOUT });
    const reply = await untilClosed(served.port, "GET /hang-after-head HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n7\r\npartial\r\n$/);
    await until(() => seen.length > 0);
    expect(seen).toEqual(["aborted ERR_VSGI_HANDLER_TIMEOUT"]);
    expect(logged.join("\n")).toMatch(/handlerTimeout \(200 ms\); closing the connection/);
  }, 20000);

  it("leaves alone a handler that answers within it, and serves the next request on the connection", async () => {
    served = await serve(limitsApp((line) => seen.push(line)), { handlerTimeout: TIMEOUT });
    for (let i = 0; i < 3; i++) {
      const answered = await send(served.port, "GET", "/quick");
      expect(answered.status).toBe(200);
      expect(answered.body.toString()).toBe("quick");
    }
    await new Promise((resolve) => setTimeout(resolve, 2 * TIMEOUT)); // the sweep passes over none
    expect(seen).toEqual([]);
    expect(logged).toEqual([]);
  }, 20000);

  it("leaves a taken connection alone (a protocol switched to), though its handler runs on", async () => {
    served = await serve(
      async (req, res) => {
        const taken = res.takeConnection()!;
        taken.socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
        taken.socket.on("data", (chunk: Buffer) => taken.socket.write(chunk));
        taken.socket.on("end", () => taken.socket.end()); // node's http sockets allow half-open ones
        // settles only when the session ends: far past the timeout
        await new Promise((resolve) => taken.socket.on("close", resolve));
        return true;
      },
      { handlerTimeout: TIMEOUT },
    );
    const socket = connect(served.port, "127.0.0.1");
    let text = "";
    socket.on("data", (c: Buffer) => (text += c.toString("latin1")));
    socket.write("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n");
    await until(() => text.includes("\r\n\r\n"));
    await new Promise((resolve) => setTimeout(resolve, 3 * TIMEOUT)); // the sweep passes, the session stays
    socket.write("still here");
    await until(() => text.endsWith("still here"));
    expect(text).toMatch(/^HTTP\/1\.1 101 /);
    expect(socket.destroyed).toBe(false);
    socket.destroy();
    expect(logged).toEqual([]);
  }, 20000);

  it("is off by default: a handler slower than any timeout of this file still answers", async () => {
    expect(SERVER_LIMITS.handlerTimeout).toBe(0);
    served = await serve(async (req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 2 * TIMEOUT));
      return res.expandUtf8("slow");
    });
    const answered = await send(served.port, "GET", "/");
    expect(answered.status).toBe(200);
    expect(answered.body.toString()).toBe("slow");
  }, 20000);

  it("refuses a handlerTimeout that is no non-negative integer, naming it", async () => {
    const handler = limitsApp(() => undefined);
    await expect(Server.load("http", { handler, handlerTimeout: -1 })).rejects.toThrow(/option handlerTimeout must be a non-negative integer, got -1/);
    await expect(Server.load("scgi", { handler, handlerTimeout: 1.5 })).rejects.toThrow(/option handlerTimeout/);
    await expect(Server.load("fastcgi", { handler, handlerTimeout: "200" as unknown as number })).rejects.toThrow(/option handlerTimeout/);
    expect(() => new HandlerTimeouts(100).wrap(handler)).not.toThrow();
    expect(() => Server.new("ajp", { handler, handlerTimeout: -5 })).toThrow(VsgiError);
  });
});

describe("handlerTimeout on the gateway backends", () => {
  let server: Server | null = null;
  const logged = loggedLines();
  const seen: string[] = [];
  afterEach(async () => {
    await server?.stop();
    server = null;
    seen.length = 0;
  });

  async function start(name: "scgi" | "fastcgi" | "ajp"): Promise<number> {
    server = await Server.load(name, { handler: limitsApp((line) => seen.push(line)), handlerTimeout: TIMEOUT });
    await server.listen({ port: 0, host: "127.0.0.1" });
    return Number(server.uris[0]!.port);
  }

  it("scgi: 503 to a handler that never answers, its signal fired", async () => {
    const port = await start("scgi");
    const answered = await scgiRequest({ port }, { method: "GET", target: "/hang" });
    expect(answered.status).toBe(503);
    await until(() => seen.length > 0);
    expect(seen).toEqual(["aborted ERR_VSGI_HANDLER_TIMEOUT"]);
  }, 20000);

  it("scgi: the connection closed under a handler that wrote its head, its signal fired", async () => {
    const port = await start("scgi");
    const reply = await scgiExchange({ port }, encodeHead([["REQUEST_METHOD", "GET"], ["REQUEST_URI", "/hang-after-head"], ["SCRIPT_NAME", ""]], 0));
    expect(reply.toString("latin1")).toMatch(/^Status: 200 OK\r\n(?:[^\r\n]+\r\n)*\r\npartial$/);
    await until(() => seen.length > 0);
    expect(seen).toEqual(["aborted ERR_VSGI_HANDLER_TIMEOUT"]);
    expect(logged.join("\n")).toMatch(/closing the connection/);
  }, 20000);

  it("fastcgi: 503 to a handler that never answers, END_REQUEST complete, the connection kept", async () => {
    const port = await start("fastcgi");
    const client = await FastcgiClient.connect({ port });
    const result = await client.request({ params: nginxParams("GET", "/hang"), keepConn: true });
    expect(parseCgiResponse(result.stdout).status).toBe(503);
    expect(result.protocolStatus).toBe(0);
    await until(() => seen.length > 0);
    expect(seen).toEqual(["aborted ERR_VSGI_HANDLER_TIMEOUT"]);
    const next = await client.request({ params: nginxParams("GET", "/quick"), keepConn: true });
    expect(parseCgiResponse(next.stdout).body.toString()).toBe("quick");
    await client.close();
  }, 20000);

  it("fastcgi: a handler that wrote its head is cut without END_REQUEST, its signal fired", async () => {
    const port = await start("fastcgi");
    const client = await FastcgiClient.connect({ port });
    const result = await client.request({ params: nginxParams("GET", "/hang-after-head"), keepConn: true });
    expect(result.stdout.toString("latin1")).toMatch(/\r\n\r\npartial$/);
    expect(result.protocolStatus).toBeNull();
    await client.closed;
    await until(() => seen.length > 0);
    expect(seen).toEqual(["aborted ERR_VSGI_HANDLER_TIMEOUT"]);
  }, 20000);

  it("ajp: 503 to a handler that never answers, the connection kept for the next request", async () => {
    const port = await start("ajp");
    const socket = await AjpSocket.connect(port);
    const answered = await ajpExchange(socket, { method: "GET", uri: "/hang", headers: [["Host", "x"]] });
    expect(answered.status).toBe(503);
    expect(answered.reuse).toBe(true);
    await until(() => seen.length > 0);
    expect(seen).toEqual(["aborted ERR_VSGI_HANDLER_TIMEOUT"]);
    const next = await ajpExchange(socket, { method: "GET", uri: "/quick", headers: [["Host", "x"]] });
    expect(next.body.toString()).toBe("quick");
    socket.destroy();
  }, 20000);

  it("ajp: the connection closed under a handler that wrote its head, without END_RESPONSE", async () => {
    const port = await start("ajp");
    const socket = await AjpSocket.connect(port);
    const answered = await ajpExchange(socket, { method: "GET", uri: "/hang-after-head", headers: [["Host", "x"]] });
    expect(answered.status).toBe(200);
    expect(answered.body.toString()).toBe("partial");
    expect(answered.reuse).toBeNull();
    expect(socket.isClosed).toBe(true);
    await until(() => seen.length > 0);
    expect(seen).toEqual(["aborted ERR_VSGI_HANDLER_TIMEOUT"]);
  }, 20000);
});

describe("handlerTimeout on the cgi backend (a real CGI process)", () => {
  const env = { LIMITS_OPTIONS: JSON.stringify({ handlerTimeout: TIMEOUT }) };

  it("answers 503 to a handler that never answers, and fires its signal", async () => {
    const run = await runCgi(CGI_LIMITS_APP, { method: "GET", target: "/hang" }, { env });
    expect(run.response.status).toBe(503);
    expect(run.stderr).toContain("aborted ERR_VSGI_HANDLER_TIMEOUT");
    expect(run.exitCode).toBe(0);
  }, 30000);

  it("cuts the output of a handler that wrote its head, and fires its signal", async () => {
    const run = await runCgi(CGI_LIMITS_APP, { method: "GET", target: "/hang-after-head" }, { env });
    expect(run.response.status).toBe(200);
    expect(run.response.body.toString()).toBe("partial");
    expect(run.stderr).toContain("aborted ERR_VSGI_HANDLER_TIMEOUT");
  }, 30000);
});
