// A client that goes away in the middle of its upload, on every backend, through its own
// protocol over real sockets (a real process and pipes for cgi): the application's body read
// fails with ERR_VSGI_ABORTED and the request's abort signal fires, with that error as reason.
import { capturingErrors, loggedLines } from "../helpers/log.js";
import { describe, it, expect, afterEach } from "@jest/globals";
import { connect } from "node:net";
import { once } from "node:events";
import { Server, ERR_ABORTED, ERR_REQUEST_ENDED } from "../../vsgi/index.js";
import { encodeHead } from "../../servers/scgi/index.js";
import { abortWatcher, type AbortSeen } from "../helpers/abort-watch.js";
import { AjpSocket, forwardRequest, bodyPacket } from "../helpers/ajp-client.js";
import { FastcgiClient, nginxParams } from "../helpers/fastcgi-client.js";
import { runCgi, cgiVariables, CGI_APP } from "../helpers/cgi-client.js";
import { spawn } from "node:child_process";

const DECLARED = 100000;
const SENT = Buffer.alloc(1000, 0x61);
// After the abort, a write of the response fails with ERR_VSGI_REQUEST_ENDED.
const EXPECTED: AbortSeen = { bodyError: ERR_ABORTED, aborted: true, signalFired: true, reason: ERR_ABORTED, write: ERR_REQUEST_ENDED };

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A backend serving the abort watcher: resolves `started` when the handler runs, `seen` with what it saw. */
async function watch(name: string): Promise<{ port: number; started: Promise<void>; seen: Promise<AbortSeen> }> {
  const started = deferred();
  const seen = deferred<AbortSeen>();
  server = await Server.load(name, { handler: abortWatcher(seen.resolve, () => started.resolve()) });
  await server.listen({ port: 0, host: "127.0.0.1" });
  return { port: Number(server.uris[0]!.port), started: started.promise, seen: seen.promise };
}

let server: Server | null = null;
const logged = loggedLines();
afterEach(async () => {
  await server?.stop();
  server = null;
});

describe("a client that goes away mid-upload", () => {
  it("http: the body fails with ERR_VSGI_ABORTED and the signal fires", async () => {
    const { port, started, seen } = await watch("http");
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => undefined);
    await once(socket, "connect");
    socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${DECLARED}\r\n\r\n`);
    socket.write(SENT);
    await started;
    socket.destroy();
    expect(await seen).toEqual(EXPECTED);
  });

  it("scgi: the body fails with ERR_VSGI_ABORTED and the signal fires", async () => {
    const { port, started, seen } = await watch("scgi");
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => undefined);
    await once(socket, "connect");
    socket.write(Buffer.concat([encodeHead([["REQUEST_METHOD", "POST"], ["REQUEST_URI", "/upload"]], DECLARED), SENT]));
    await started;
    socket.destroy();
    expect(await seen).toEqual(EXPECTED);
  });

  it("fastcgi: the body fails with ERR_VSGI_ABORTED and the signal fires when the connection closes", async () => {
    const { port, started, seen } = await watch("fastcgi");
    const client = await FastcgiClient.connect({ port });
    const rest = deferred();
    async function* body(): AsyncGenerator<Buffer> {
      yield SENT;
      await rest.promise; // the rest never comes: the front server drops the connection first
    }
    void client.request({ params: nginxParams("POST", "/upload", [], DECLARED), body: body(), keepConn: true });
    await started;
    await client.close();
    rest.resolve();
    expect(await seen).toEqual(EXPECTED);
  });

  it("fastcgi: the same for ABORT_REQUEST (HAProxy)", async () => {
    const { port, started, seen } = await watch("fastcgi");
    const client = await FastcgiClient.connect({ port });
    const rest = deferred();
    async function* body(): AsyncGenerator<Buffer> {
      yield SENT;
      await rest.promise;
    }
    void client.request({ requestId: 7, params: nginxParams("POST", "/upload", [], DECLARED), body: body(), keepConn: true });
    await started;
    await client.abort(7);
    expect(await seen).toEqual(EXPECTED);
    rest.resolve();
    await client.close();
  });

  it("ajp: the body fails with ERR_VSGI_ABORTED and the signal fires", async () => {
    const { port, started, seen } = await watch("ajp");
    const s = await AjpSocket.connect(port);
    s.write(forwardRequest({ method: "POST", uri: "/upload", headers: [["Host", "h"], ["Content-Length", String(DECLARED)]] }));
    s.write(bodyPacket(SENT));
    await started;
    s.destroy();
    expect(await seen).toEqual(EXPECTED);
  });

  it("cgi: the body fails with ERR_VSGI_ABORTED and the signal fires when stdin closes early", async () => {
    async function* body(): AsyncGenerator<Buffer> {
      yield SENT; // then stdin closes, as a front server whose client left closes it
    }
    const run = await runCgi(CGI_APP, { method: "POST", target: "/abort-watch", headers: [["Content-Length", String(DECLARED)]], body: body() });
    expect(run.exitCode).toBe(0);
    const line = /^abort-watch (.*)$/m.exec(run.stderr);
    expect(line).not.toBeNull();
    expect(JSON.parse(line![1]!)).toEqual(EXPECTED);
  });
});

describe("a handler that gives up without a response once told of the abort", () => {
  it("scgi: the backend closes the connection the front server half-closed mid-upload", async () => {
    const started = deferred();
    server = await Server.load("scgi", {
      async handler(req) {
        started.resolve();
        await req.flatten().catch(() => undefined);
        return true;
      },
    });
    await server.listen({ port: 0, host: "127.0.0.1" });
    const socket = connect(Number(server.uris[0]!.port), "127.0.0.1");
    socket.on("error", () => undefined);
    await once(socket, "connect");
    socket.write(Buffer.concat([encodeHead([["REQUEST_METHOD", "POST"], ["REQUEST_URI", "/upload"]], DECLARED), SENT]));
    await started.promise;
    // What a front server whose client left does: it ends its side (a FIN, not a reset).
    socket.end();
    await once(socket, "close"); // else the half-open socket, and its descriptor, stayed for good
  });

  it("cgi: the process exits 0 when its stdin closes early", async () => {
    const variables = cgiVariables({ method: "POST", target: "/abort-quietly", headers: [] }, DECLARED);
    const child = spawn(process.execPath, [CGI_APP], { env: { PATH: process.env.PATH, ...Object.fromEntries(variables) }, stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout!.setEncoding("utf8").on("data", (t: string) => (output += t));
    child.stderr!.setEncoding("utf8").on("data", (t: string) => (output += t));
    child.stdin!.on("error", () => undefined);
    child.stdin!.end(SENT); // then stdin closes, as a front server whose client left closes it
    const [code] = await once(child, "exit");
    // Before: 13, node's code for a top-level await left unsettled (`run()` never returned).
    expect([code, output]).toEqual([0, ""]);
  });
});

/** Opens a request with part of an upload on each socket backend; resolves with how to go away. */
const CUT: Record<string, (port: number) => Promise<() => unknown>> = {
  async http(port) {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => undefined);
    await once(socket, "connect");
    socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${DECLARED}\r\n\r\n`);
    socket.write(SENT);
    return () => socket.destroy();
  },
  async scgi(port) {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => undefined);
    await once(socket, "connect");
    socket.write(Buffer.concat([encodeHead([["REQUEST_METHOD", "POST"], ["REQUEST_URI", "/upload"]], DECLARED), SENT]));
    return () => socket.destroy();
  },
  async fastcgi(port) {
    const client = await FastcgiClient.connect({ port });
    const rest = deferred();
    async function* body(): AsyncGenerator<Buffer> {
      yield SENT;
      await rest.promise;
    }
    void client.request({ params: nginxParams("POST", "/upload", [], DECLARED), body: body(), keepConn: true }).catch(() => undefined);
    return async () => {
      await client.close();
      rest.resolve();
    };
  },
  async ajp(port) {
    const s = await AjpSocket.connect(port);
    s.write(forwardRequest({ method: "POST", uri: "/upload", headers: [["Host", "h"], ["Content-Length", String(DECLARED)]] }));
    s.write(bodyPacket(SENT));
    return () => s.destroy();
  },
};

describe("a handler that lets the abort error through", () => {
  for (const name of Object.keys(CUT)) {
    it(`${name}: a client gone is logged in one line, without a stack`, async () => {
      const started = deferred();
      const failed = deferred<string>();
      server = await Server.load(name, {
        async handler(req, res) {
          started.resolve();
          try {
            await req.flatten();
          } catch (error) {
            failed.resolve((req.signal.reason as Error).message);
            throw error;
          }
          return res.end();
        },
      });
      await server.listen({ port: 0, host: "127.0.0.1" });
      let reason = "";
      const lines = await capturingErrors(async () => {
        const leave = await CUT[name]!(Number(server!.uris[0]!.port));
        await started.promise;
        await leave();
        reason = await failed.promise;
        await new Promise((r) => setTimeout(r, 50));
      });
      // Before: "POST /upload: unhandled error" and the error's stack, for normal traffic.
      expect(lines).toEqual([`POST /upload: ${reason}`]);
    });
  }
});
