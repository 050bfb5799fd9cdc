import { describe, it, expect, afterEach } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { conformance } from "./conformance.js";
import { httpTransport } from "../helpers/http-client.js";
import { serve, raw, send, type Served } from "../helpers/http.js";
import { Server } from "../../vsgi/index.js";

conformance(httpTransport);

describe("http backend", () => {
  let served: Served | null = null;
  afterEach(async () => {
    await served?.close();
    served = null;
  });

  it("keeps the connection alive for several requests", async () => {
    served = await serve((req, res) => res.expandUtf8(req.path));
    const text = await raw(served.port, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
    expect(text).toMatch(/\/1HTTP\/1\.1 200 OK[\s\S]*\r\n\r\n\/2$/);
  });

  it("reads a repeated header joined, as the header table does, before the table is built and after", async () => {
    // header() reads those node keeps the first of from the raw list, the others from node's
    // object; once the table is built (and perhaps changed by a middleware), from the table
    const names = ["User-Agent", "referer", "AUTHORIZATION", "accept", "x-none"];
    served = await serve((req, res) => {
      const before = names.map((name) => req.header(name));
      const table = names.map((name) => req.headers.get(name));
      const after = names.map((name) => req.header(name));
      return res.expandUtf8(JSON.stringify({ before, table, after, all: req.headers.getAll("user-agent") }));
    });
    const text = await raw(
      served.port,
      "GET / HTTP/1.1\r\nHost: x\r\nX-Agent-Ua: no\r\nuser-agent: first\r\nUser-Agent: second\r\nReferex: no\r\nReferer: http://r/\r\nAuthorization: Basic eDp5\r\n" +
        "Accept: a/b\r\nACCEPT: c/d\r\nConnection: close\r\n\r\n",
    );
    const answers = ["first, second", "http://r/", "Basic eDp5", "a/b, c/d", null];
    expect(JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4))).toEqual({ before: answers, table: answers, after: answers, all: ["first", "second"] });
  });

  it("reads a chunked request body", async () => {
    served = await serve(async (req, res) => res.expandUtf8(await req.flattenUtf8()));
    const text = await raw(
      served.port,
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    );
    expect(text).toMatch(/\r\n\r\nabcde$/);
  });

  it("answers Expect: 100-continue before the body is sent", async () => {
    served = await serve(async (req, res) => res.expandUtf8(await req.flattenUtf8()));
    const socket = connect(served.port, "127.0.0.1");
    socket.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
    let text = "";
    socket.setEncoding("latin1");
    for await (const chunk of socket) {
      text += chunk;
      if (text === "HTTP/1.1 100 Continue\r\n\r\n") socket.write("body");
    }
    expect(text.startsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")).toBe(true);
    expect(text.endsWith("\r\n\r\nbody")).toBe(true);
  });

  it("hands CONNECT to the application like any method, then closes", async () => {
    served = await serve((req, res) => res.expandUtf8(`${req.method} ${req.target}`));
    const text = await raw(served.port, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).toMatch(/Connection: close\r\n/);
    expect(text.endsWith("\r\n\r\nCONNECT example.com:443")).toBe(true);
  });

  it("answers a malformed request with 400 and keeps serving", async () => {
    served = await serve((req, res) => res.expandUtf8("ok"));
    expect(await raw(served.port, "GARBAGE\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 /);
    expect((await send(served.port, "GET", "/")).body.toString()).toBe("ok");
  });

  it("closes connections from peers outside the allow list", async () => {
    served = await serve((req, res) => res.expandUtf8("ok"), { allow: ["10.1.2.3"] });
    expect(await raw(served.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")).toBe("");
    await served.close();
    served = await serve((req, res) => res.expandUtf8("ok"), { allow: ["127.0.0.1"] });
    expect((await send(served.port, "GET", "/")).body.toString()).toBe("ok");
  });

  it("stops gracefully: the request in flight finishes, new connections are refused", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let started: () => void = () => undefined;
    const inFlight = new Promise<void>((r) => (started = r));
    served = await serve(async (req, res) => {
      started();
      await gate;
      return res.expandUtf8("finished");
    });
    const port = served.port;
    const pending = send(port, "GET", "/");
    await inFlight;
    const stopped = served.server.stop();
    served = null;
    await expect(send(port, "GET", "/")).rejects.toThrow(/ECONNREFUSED/);
    release();
    expect((await pending).body.toString()).toBe("finished");
    await stopped;
  });

  it("speaks https with key and cert", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vsgi-tls-"));
    try {
      execFileSync("openssl", [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
        "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
      ], { stdio: "ignore" });
      const key = await readFile(join(dir, "key.pem"));
      const cert = await readFile(join(dir, "cert.pem"));
      const server = await Server.load("http", { handler: (req, res) => res.expandUtf8(req.uri.protocol), key, cert });
      await server.listen({ port: 0 });
      try {
        expect(server.uris[0]!.protocol).toBe("https:");
        const body = await new Promise<string>((resolve, reject) => {
          httpsRequest({ host: "127.0.0.1", port: Number(server.uris[0]!.port), ca: cert, servername: "localhost", path: "/" }, (res) => {
            let text = "";
            res.on("data", (c) => (text += c));
            res.on("end", () => resolve(text));
          }).on("error", reject).end();
        });
        expect(body).toBe("https:");
      } finally {
        await server.stop();
      }
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it("refuses a limit that is no integer, naming the option", async () => {
    await expect(Server.load("http", { handler: () => false, keepAliveTimeout: -1 })).rejects.toThrow(/option keepAliveTimeout must be a non-negative integer/);
    await expect(Server.load("http", { handler: () => false, maxHeaderSize: 1.5 })).rejects.toThrow(/option maxHeaderSize must be a positive integer/);
  });

  it("refuses key without cert", async () => {
    await expect(Server.load("http", { handler: () => false, key: "k" })).rejects.toThrow(/key and cert go together/);
  });

  it("listens on a UNIX socket", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vsgi-unix-"));
    const path = join(dir, "app.sock");
    const server = await Server.load("http", { handler: (req, res) => res.expandUtf8("unix") });
    try {
      await server.listen({ path });
      expect(server.uris[0]!.href).toBe(`http+unix://${path}/`);
      const body = await new Promise<string>((resolve, reject) => {
        const socket = connect(path);
        let text = "";
        socket.on("data", (c) => (text += c));
        socket.on("end", () => resolve(text));
        socket.on("error", reject);
        socket.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      });
      expect(body.endsWith("\r\n\r\nunix")).toBe(true);
    } finally {
      await server.stop();
      await rm(dir, { recursive: true });
    }
  });
});
