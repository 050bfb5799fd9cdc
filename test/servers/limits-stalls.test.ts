// Timeouts on clients that stop sending, through real sockets: an http body that stops
// arriving (requestTimeout), an idle kept-alive http connection (keepAliveTimeout), a FastCGI
// STDIN that stops in the middle (idleTimeout). The scgi and ajp backends' own are in
// scgi.test.ts and limits.test.ts.
import { describe, it, expect, afterEach } from "@jest/globals";
import { connect } from "node:net";
import { loggedLines } from "../helpers/log.js";
import { limitsApp } from "../helpers/limits-app.js";
import { until, untilClosed } from "../helpers/limits-clients.js";
import { FastcgiClient, nginxParams } from "../helpers/fastcgi-client.js";
import { beginRequestRecord, encodePairs, encodeRecord, KEEP_CONN, PARAMS, RESPONDER, STDIN } from "../../servers/fastcgi/records.js";
import { Server } from "../../vsgi/index.js";

describe("clients that stop sending", () => {
  let server: Server | null = null;
  const logged = loggedLines();
  const seen: string[] = [];
  afterEach(async () => {
    await server?.stop();
    server = null;
    seen.length = 0;
  });

  async function start(name: string, options: Record<string, unknown>): Promise<number> {
    server = await Server.load(name, { handler: limitsApp((line) => seen.push(line)), ...options });
    await server.listen({ port: 0, host: "127.0.0.1" });
    return Number(server.uris[0]!.port);
  }

  it("http: a body that stops arriving is cut at requestTimeout: 408, closed, the handler's read aborted", async () => {
    const port = await start("http", { requestTimeout: 300 });
    const reply = await untilClosed(port, "POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nten bytes.");
    expect(reply).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\nConnection: close\r\n\r\n$/);
    await until(() => seen.length > 0, "the handler's failed read");
    expect(seen).toEqual(["read failed ERR_VSGI_ABORTED"]);
  }, 20000);

  it("http: a body that stops arriving while the application reads it is cut at bodyTimeout: 408, closed, the read aborted", async () => {
    const port = await start("http", { bodyTimeout: 300, requestTimeout: 0 });
    const reply = await untilClosed(port, "POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nten bytes.");
    expect(reply).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\nConnection: close\r\n\r\n$/);
    await until(() => seen.length > 0, "the handler's failed read");
    expect(seen).toEqual(["read failed ERR_VSGI_ABORTED"]);
    expect(logged.join("\n")).toMatch(/POST \/read from [^:]*: no request body for bodyTimeout \(300 ms\); closing the connection/);
  }, 20000);

  it("http: a body still awaited after the response was sent and the client left is not logged at bodyTimeout, and its read is aborted", async () => {
    server = await Server.load("http", {
      handler: (req, res) => {
        void req.flatten().then(
          (body) => seen.push(`read ${body.length}`),
          (error: { code?: string }) => seen.push(`read failed ${error.code}`),
        );
        return res.expandUtf8("early");
      },
      bodyTimeout: 300,
      requestTimeout: 0,
    });
    await server.listen({ port: 0, host: "127.0.0.1" });
    const port = Number(server.uris[0]!.port);
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    await new Promise<void>((resolve) => {
      socket.on("data", (c: Buffer) => {
        reply += c.toString("latin1");
        // the whole answer came: the client leaves without the rest of its body
        if (reply.endsWith("early")) socket.destroy(), resolve();
      });
      socket.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nten bytes.");
    });
    await until(() => seen.length > 0, "the handler's failed read");
    await new Promise((resolve) => setTimeout(resolve, 600)); // past bodyTimeout
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(seen).toEqual(["read failed ERR_VSGI_ABORTED"]);
    expect(logged).toEqual([]);
  }, 20000);

  it("http: a body trickling in, a byte well within each bodyTimeout, is read whole", async () => {
    const port = await start("http", { bodyTimeout: 1000, requestTimeout: 0 });
    const body = "fifteen bytes!!";
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    socket.on("data", (c: Buffer) => (reply += c.toString("latin1")));
    socket.write(`POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    for (const byte of body) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.write(byte);
    }
    await new Promise((resolve) => socket.on("close", resolve));
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(seen).toEqual([`read ${body.length}`]);
  }, 20000);

  it("http: an application that waits before reading is not cut while the client waits on it", async () => {
    const body = Buffer.alloc(4 << 20, 0x61); // far more than node buffers: the client is held back
    server = await Server.load("http", {
      handler: async (req, res) => {
        await new Promise((resolve) => setTimeout(resolve, 1000)); // several bodyTimeouts
        return res.expandUtf8(`read ${(await req.flatten(Infinity)).length}`);
      },
      bodyTimeout: 200,
    });
    await server.listen({ port: 0, host: "127.0.0.1" });
    const port = Number(server.uris[0]!.port);
    const reply = await untilClosed(port, Buffer.concat([Buffer.from(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`), body]));
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nread 4194304$/);
    expect(logged).toEqual([]);
  }, 20000);

  it("http: refuses a bodyTimeout that is no non-negative integer, naming it", async () => {
    await expect(Server.load("http", { handler: limitsApp(() => undefined), bodyTimeout: -1 })).rejects.toThrow(/option bodyTimeout must be a non-negative integer, got -1/);
  });

  it("http: a body sent whole within requestTimeout is read", async () => {
    const port = await start("http", { requestTimeout: 300 });
    const reply = await untilClosed(port, "POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\nten bytes.");
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(seen).toEqual(["read 10"]);
  }, 20000);

  it("http: an idle kept-alive connection is closed after keepAliveTimeout, silently", async () => {
    const port = await start("http", { keepAliveTimeout: 200 });
    const reply = await untilClosed(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\nConnection: keep-alive\r\n[\s\S]*\r\n\r\nfields 1 target 1$/);
    expect(logged).toEqual([]);
  }, 20000);

  it("fastcgi: a STDIN that stops in the middle is cut at idleTimeout: closed, the handler's read aborted", async () => {
    const port = await start("fastcgi", { idleTimeout: 300 });
    const client = await FastcgiClient.connect({ port });
    await client.send([
      beginRequestRecord(1, RESPONDER, KEEP_CONN),
      encodeRecord(PARAMS, 1, encodePairs(nginxParams("POST", "/read", [["Host", "x"]], 100))),
      encodeRecord(PARAMS, 1),
      encodeRecord(STDIN, 1, Buffer.from("ten bytes.")),
    ]);
    await client.closed;
    await until(() => seen.length > 0, "the handler's failed read");
    expect(seen).toEqual(["read failed ERR_VSGI_ABORTED"]);
  }, 20000);

  it("fastcgi: a kept connection between requests is closed after idleTimeout", async () => {
    const port = await start("fastcgi", { idleTimeout: 200 });
    const socket = connect(port, "127.0.0.1");
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    const replies: Buffer[] = [];
    socket.on("data", (c: Buffer) => replies.push(c));
    socket.on("error", () => undefined);
    socket.write(Buffer.concat([beginRequestRecord(1, RESPONDER, KEEP_CONN), encodeRecord(PARAMS, 1, encodePairs(nginxParams("GET", "/"))), encodeRecord(PARAMS, 1), encodeRecord(STDIN, 1)]));
    await closed;
    expect(Buffer.concat(replies).toString("latin1")).toContain("fields 1 target 1");
    expect(logged).toEqual([]);
  }, 20000);
});
