import { describe, it, expect, beforeAll, afterAll, afterEach } from "@jest/globals";
import { loggedLines } from "../helpers/log.js";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { createServer, connect, type Server as NetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { conformance } from "./conformance.js";
import { scgiTransport, scgiClient, scgiRequest, exchange, type ScgiTarget } from "../helpers/scgi-client.js";
import { parseCgiResponse } from "../helpers/cgi-client.js";
import { distPath, start as startProgram } from "../helpers/process.js";
import { Server, type HandlerLike, type Request } from "../../vsgi/index.js";
import { handler as echo } from "../../examples/echo/handler.js";
import { ScgiHeadParser, ScgiProtocolError, parseHeaderBlock, encodeHead, DEFAULT_MAX_HEADER_SIZE } from "../../servers/scgi/index.js";

conformance(scgiTransport);

let socketDir = "";
beforeAll(async () => {
  socketDir = await mkdtemp(join(tmpdir(), "vsgi-scgi-"));
});
afterAll(async () => {
  await rm(socketDir, { recursive: true, force: true });
});

conformance({
  name: "scgi over a UNIX socket",
  async start() {
    const server = await Server.load("scgi", { handler: echo });
    const path = join(socketDir, "conformance.sock");
    await server.listen({ path });
    return scgiClient({ path }, () => server.stop());
  },
});

const MiB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves with `read()` once it stops changing (bounded number of checks). */
async function settled(read: () => number): Promise<number> {
  let last = read();
  let still = 0;
  for (let i = 0; i < 400 && still < 10; i++) {
    await sleep(10);
    const now = read();
    still = now === last ? still + 1 : 0;
    last = now;
  }
  return last;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Builds a netstring head from raw text (NULs as `|`), for malformed inputs. */
function netstring(block: string, length = Buffer.byteLength(block)): Buffer {
  return Buffer.from(`${length}:${block.replace(/\|/g, "\0")},`, "latin1");
}

const VALID = "CONTENT_LENGTH|5|REQUEST_METHOD|POST|REQUEST_URI|/a?b=1|SCGI|1|HTTP_COOKIE|a=1|HTTP_COOKIE|b=2|";

describe("SCGI head parser", () => {
  it("parses a whole head and says where the body starts", () => {
    const bytes = Buffer.concat([netstring(VALID), Buffer.from("hello")]);
    const parser = new ScgiHeadParser();
    const start = parser.feed(bytes);
    expect(bytes.subarray(start).toString()).toBe("hello");
    expect(parser.done).toBe(true);
    expect(parser.head!.contentLength).toBe(5);
    expect(parser.head!.variables.get("REQUEST_URI")).toBe("/a?b=1");
    expect(parser.head!.variables.get("HTTP_COOKIE")).toBe("a=1; b=2");
  });

  it("gives the same head fed byte by byte, and the body offset in the last chunk", () => {
    const bytes = Buffer.concat([netstring(VALID), Buffer.from("hello")]);
    const head = netstring(VALID).length;
    const parser = new ScgiHeadParser();
    for (let i = 0; i < head - 1; i++) expect(parser.feed(bytes.subarray(i, i + 1))).toBe(-1);
    expect(parser.feed(bytes.subarray(head - 1))).toBe(1);
    expect(parser.head!.variables.toRecord()).toEqual(parseHeaderBlock(Buffer.from(VALID.replace(/\|/g, "\0"))).variables.toRecord());
    expect(parser.consumed).toBe(head);
  });

  it("gives the same head at every split into two chunks", () => {
    const bytes = Buffer.concat([netstring(VALID), Buffer.from("hello")]);
    for (let split = 1; split < bytes.length; split++) {
      const parser = new ScgiHeadParser();
      const first = bytes.subarray(0, split);
      const rest = bytes.subarray(split);
      const start = parser.feed(first);
      const body = start === -1 ? rest.subarray(parser.feed(rest)) : Buffer.concat([first.subarray(start), rest]);
      expect(body.toString()).toBe("hello");
      expect(parser.head!.variables.get("HTTP_COOKIE")).toBe("a=1; b=2");
    }
  });

  it("accepts SCGI anywhere (nginx puts it in the middle, lighttpd last) and CONTENT_LENGTH 0", () => {
    const head = parseHeaderBlock(Buffer.from("CONTENT_LENGTH\x000\0SCGI\x001\0REQUEST_METHOD\0GET\0"));
    expect(head.contentLength).toBe(0);
    expect(head.variables.get("REQUEST_METHOD")).toBe("GET");
  });

  it("decodes UTF-8 values, and Latin-1 byte for byte when the block is no UTF-8", () => {
    const utf8 = parseHeaderBlock(Buffer.from("CONTENT_LENGTH\x000\0SCGI\x001\0PATH_INFO\0/caf\u00e9\0"));
    expect(utf8.variables.get("PATH_INFO")).toBe("/caf\u00e9");
    const latin1 = parseHeaderBlock(Buffer.concat([Buffer.from("CONTENT_LENGTH\x000\0SCGI\x001\0HTTP_X\0"), Buffer.from([0xe9, 0xff, 0])]));
    expect(latin1.variables.get("HTTP_X")).toBe("\u00e9\u00ff");
  });

  it("keeps empty values", () => {
    expect(parseHeaderBlock(Buffer.from("CONTENT_LENGTH\x000\0SCGI\x001\0QUERY_STRING\0\0")).variables.get("QUERY_STRING")).toBe("");
  });

  it.each([
    ["a non-digit first byte", Buffer.from("x12:"), /does not start with a netstring length/, 400],
    ["an empty length", Buffer.from(":abc,"), /no length before ':'/, 400],
    ["a leading zero", Buffer.from("012:"), /leading zero/, 400],
    ["a length not followed by ':'", Buffer.from("12;"), /not followed by ':'/, 400],
    ["a negative length", Buffer.from("-1:"), /does not start with a netstring length/, 400],
    ["too many length digits", Buffer.from("9999999"), /larger than maxHeaderSize/, 431],
    ["a block larger than maxHeaderSize", Buffer.from(`${DEFAULT_MAX_HEADER_SIZE + 1}:`), /larger than maxHeaderSize \(65536 bytes\)/, 431],
    ["no ',' after the block", Buffer.from(netstring("CONTENT_LENGTH|0|SCGI|1|").toString("latin1").slice(0, -1) + ";", "latin1"), /not followed by ','/, 400],
    ["an empty block", netstring(""), /empty SCGI header block/, 400],
    ["a block not ending with NUL", netstring("CONTENT_LENGTH|0|SCGI|1"), /does not end with a NUL/, 400],
    ["an odd number of fields", netstring("CONTENT_LENGTH|0|SCGI|"), /odd number of fields/, 400],
    ["an empty name", netstring("CONTENT_LENGTH|0|SCGI|1||x|"), /empty variable name/, 400],
    ["CONTENT_LENGTH not first", netstring("SCGI|1|CONTENT_LENGTH|0|"), /must start with CONTENT_LENGTH/, 400],
    ["no CONTENT_LENGTH", netstring("SCGI|1|REQUEST_METHOD|GET|"), /must start with CONTENT_LENGTH/, 400],
    ["an empty CONTENT_LENGTH", netstring("CONTENT_LENGTH||SCGI|1|"), /invalid SCGI CONTENT_LENGTH ""/, 400],
    ["a negative CONTENT_LENGTH", netstring("CONTENT_LENGTH|-5|SCGI|1|"), /invalid SCGI CONTENT_LENGTH "-5"/, 400],
    ["a CONTENT_LENGTH with spaces", netstring("CONTENT_LENGTH| 5|SCGI|1|"), /invalid SCGI CONTENT_LENGTH/, 400],
    ["a huge CONTENT_LENGTH", netstring("CONTENT_LENGTH|12345678901234567|SCGI|1|"), /invalid SCGI CONTENT_LENGTH/, 400],
    ["CONTENT_LENGTH twice", netstring("CONTENT_LENGTH|0|SCGI|1|CONTENT_LENGTH|7|"), /CONTENT_LENGTH twice/, 400],
    ["no SCGI variable", netstring("CONTENT_LENGTH|0|REQUEST_METHOD|GET|"), /lacks the SCGI variable/, 400],
    ["SCGI = 2", netstring("CONTENT_LENGTH|0|SCGI|2|"), /unsupported SCGI version "2"/, 400],
  ])("refuses %s, fed whole or byte by byte", (_what, bytes, message, status) => {
    expect(() => new ScgiHeadParser().feed(bytes)).toThrow(message);
    const parser = new ScgiHeadParser();
    let error: unknown = null;
    for (let i = 0; i < bytes.length && error === null; i++) {
      try {
        parser.feed(bytes.subarray(i, i + 1));
      } catch (err) {
        error = err;
      }
    }
    expect(error).toBeInstanceOf(ScgiProtocolError);
    expect((error as ScgiProtocolError).message).toMatch(message);
    expect((error as ScgiProtocolError).status).toBe(status);
  });

  it("refuses a too long length as soon as the digit that makes it too long arrives", () => {
    const parser = new ScgiHeadParser(1000);
    for (const digit of "999") parser.feed(Buffer.from(digit));
    expect(() => parser.feed(Buffer.from("9"))).toThrow(/maxHeaderSize \(1000 bytes\)/);
  });

  it("honours a configured maxHeaderSize", () => {
    const block = "CONTENT_LENGTH|0|SCGI|1|";
    expect(new ScgiHeadParser(block.length).feed(netstring(block))).toBeGreaterThan(0);
    expect(() => new ScgiHeadParser(block.length - 1).feed(netstring(block))).toThrow(/larger than maxHeaderSize/);
  });

  it("refuses a maxHeaderSize that is no positive integer", () => {
    expect(() => new ScgiHeadParser(0)).toThrow(RangeError);
    expect(() => new ScgiHeadParser(1.5)).toThrow(RangeError);
  });

  it("encodeHead writes what the parser reads, CONTENT_LENGTH first and SCGI added", () => {
    const bytes = encodeHead([["REQUEST_METHOD", "GET"], ["HTTP_COOKIE", "a=1"], ["HTTP_COOKIE", "b=2"]], 0);
    expect(bytes.toString("latin1").startsWith(`${bytes.length - 4}:CONTENT_LENGTH\x000\0`)).toBe(true);
    const parser = new ScgiHeadParser();
    expect(parser.feed(bytes)).toBe(bytes.length);
    expect(parser.head!.variables.toRecord()).toMatchObject({ REQUEST_METHOD: "GET", HTTP_COOKIE: "a=1; b=2", SCGI: "1" });
  });
});

describe("scgi backend", () => {
  let server: Server | null = null;
  const logged = loggedLines();
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  async function start(handler: HandlerLike, options: Record<string, unknown> = {}): Promise<ScgiTarget> {
    server = await Server.load("scgi", { handler, ...options });
    await server.listen({ port: 0 });
    expect(server.uris[0]!.href).toMatch(/^scgi:\/\/127\.0\.0\.1:\d+\/$/);
    return { port: Number(server.uris[0]!.port) };
  }

  const hello: HandlerLike = (req, res) => res.expandUtf8("hello");

  it("listens on a UNIX socket, with an scgi+unix URI", async () => {
    server = await Server.load("scgi", { handler: hello });
    const path = join(socketDir, "unix.sock");
    await server.listen({ path });
    expect(server.uris[0]!.href).toBe(`scgi+unix://${path}/`);
    expect((await scgiRequest({ path }, { method: "GET", target: "/" })).body.toString()).toBe("hello");
  });

  it("answers a malformed head with 400 naming the problem, logs it, and serves the next", async () => {
    const target = await start(hello);
    const reply = parseCgiResponse(await exchange(target, netstring("CONTENT_LENGTH|0|REQUEST_METHOD|GET|")));
    expect(reply.status).toBe(400);
    expect(reply.body.toString()).toMatch(/lacks the SCGI variable/);
    expect(logged.join("\n")).toMatch(/scgi: refused a request from 127\.0\.0\.1:\d+: SCGI header block lacks the SCGI variable/);
    expect((await scgiRequest(target, { method: "GET", target: "/" })).body.toString()).toBe("hello");
  });

  it("answers garbage with 400 at its first byte", async () => {
    const target = await start(hello);
    const reply = parseCgiResponse(await exchange(target, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    expect(reply.status).toBe(400);
    expect(reply.body.toString()).toMatch(/does not start with a netstring length \(byte 0x47\)/);
  });

  it("answers a head larger than maxHeaderSize with 431 and a log line naming the limit", async () => {
    const target = await start(hello, { maxHeaderSize: 1024 });
    const big = encodeHead([["REQUEST_METHOD", "GET"], ["REQUEST_URI", "/"], ["HTTP_X_BIG", "x".repeat(2000)]], 0);
    const reply = parseCgiResponse(await exchange(target, big));
    expect(reply.status).toBe(431);
    expect(reply.body.toString()).toMatch(/larger than maxHeaderSize \(1024 bytes\)/);
    expect(logged.join("\n")).toMatch(/maxHeaderSize \(1024 bytes\)/);
    // Just under the limit passes.
    expect((await scgiRequest(target, { method: "GET", target: "/" }, {}, [["HTTP_X_BIG", "x".repeat(500)]])).body.toString()).toBe("hello");
  });

  it("reads JSON and form bodies from CONTENT_TYPE and CONTENT_LENGTH: 415 on another type, 413 on a declared length over the limit, unread", async () => {
    const target = await start(async (req, res) => res.expandJson(req.path === "/form" ? { ...(await req.form()) } : await req.json()));
    const json = async (type: string, body: string): Promise<{ status: number; body: string }> => {
      const res = await scgiRequest(target, { method: "POST", target: "/", headers: [["Content-Type", type]], body: Buffer.from(body) });
      return { status: res.status, body: res.body.toString() };
    };
    expect(await json("Application/JSON; charset=utf-8", '{"a":[1]}')).toEqual({ status: 200, body: '{"a":[1]}' });
    expect(await json("application/x-www-form-urlencoded", "a=1")).toEqual({
      status: 415,
      body: "unsupported media type: expected application/json, got Content-Type application/x-www-form-urlencoded",
    });
    const form = await scgiRequest(target, { method: "POST", target: "/form", headers: [["Content-Type", "application/x-www-form-urlencoded"]], body: Buffer.from("a=1&a=2") });
    expect(form.body.toString()).toBe('{"a":"2"}');
    // CONTENT_LENGTH says 2 MiB and 3 bytes follow: the answer comes without waiting for the rest.
    const head = encodeHead([["REQUEST_METHOD", "POST"], ["REQUEST_URI", "/"], ["CONTENT_TYPE", "application/json"]], 2 * 1024 * 1024);
    const reply = parseCgiResponse(await exchange(target, Buffer.concat([head, Buffer.from("[1,")])));
    expect(reply.status).toBe(413);
    expect(reply.body.toString()).toBe("request body larger than 1048576 bytes");
    expect(logged).toEqual(["POST /: unhandled error", "POST /: unhandled error"]);
  });

  it("refuses a maxHeaderSize that is no positive integer", async () => {
    await expect(Server.load("scgi", { handler: hello, maxHeaderSize: -1 })).rejects.toThrow(/maxHeaderSize must be a positive integer/);
  });

  it("answers a bad REQUEST_METHOD with 400", async () => {
    const target = await start(hello);
    const reply = parseCgiResponse(await exchange(target, encodeHead([["REQUEST_METHOD", "G T"], ["REQUEST_URI", "/"]], 0)));
    expect(reply.status).toBe(400);
    expect(reply.body.toString()).toMatch(/invalid REQUEST_METHOD/);
  });

  it("survives connections that close before, or in the middle of, the head", async () => {
    const target = await start(hello);
    expect((await exchange(target, "", { end: true })).length).toBe(0);
    expect((await exchange(target, "70:CONTENT_LENGTH\x000", { end: true })).length).toBe(0);
    expect(logged.join("\n")).toMatch(/closed the connection in the middle of the request head/);
    expect(logged).toHaveLength(1);
    expect((await scgiRequest(target, { method: "GET", target: "/" })).body.toString()).toBe("hello");
  });

  it("closes a connection that sends no complete head within readTimeout", async () => {
    const target = await start(hello, { readTimeout: 50 });
    expect((await exchange(target, "70:CONTENT")).length).toBe(0);
    expect(logged.join("\n")).toMatch(/no complete request head within readTimeout \(50 ms\)/);
  });

  it("aborts a request whose body stops coming for readTimeout, and closes the connection", async () => {
    let error = "";
    const target = await start(
      async (req, res) => {
        try {
          await req.flatten();
        } catch (err) {
          error = (err as Error).message;
        }
        return res.end();
      },
      { readTimeout: 50 },
    );
    const reply = await exchange(target, Buffer.concat([encodeHead([["REQUEST_METHOD", "POST"], ["REQUEST_URI", "/"]], 10), Buffer.from("abc")]));
    expect(reply.length).toBe(0);
    expect(error).toMatch(/no request body for readTimeout \(50 ms\), 7 bytes missing/);
  });

  it("does not count the time the application takes to read the body or to answer", async () => {
    const target = await start(
      async (req, res) => {
        await sleep(150);
        const body = await req.flattenUtf8();
        await sleep(150);
        return res.expandUtf8(body.length.toString());
      },
      { readTimeout: 50 },
    );
    const res = await scgiRequest(target, { method: "POST", target: "/", body: Buffer.alloc(1024 * 1024) });
    expect(res.body.toString()).toBe(String(1024 * 1024));
  });

  it("keeps the head and the body across reads while other connections read into the same buffer", async () => {
    const target = await start(async (req, res) => {
      // The body is read once all of it came: its first bytes came several reads earlier.
      await sleep(req.path === "/slow" ? 150 : 0);
      return res.expandUtf8(`${req.headers.get("x-long")}|${await req.flattenUtf8()}`);
    });
    const body = "0123456789abcdefghij";
    const head = encodeHead([["REQUEST_METHOD", "POST"], ["REQUEST_URI", "/slow"], ["HTTP_X_LONG", "v".repeat(300)]], body.length);
    const bytes = Buffer.concat([head, Buffer.from(body)]);
    const socket = connect((target as { port: number }).port, "127.0.0.1");
    const reply = new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      socket.on("data", (c: Buffer) => chunks.push(c));
      socket.on("close", () => resolve(Buffer.concat(chunks)));
    });
    let from = 0;
    for (const cut of [40, head.length + 5, head.length + 12, bytes.length]) {
      socket.write(bytes.subarray(from, cut));
      from = cut;
      await sleep(20); // read on its own, not with the next piece
      const other = await scgiRequest(target, { method: "POST", target: "/", body: Buffer.from("other") });
      expect(other.body.toString()).toBe("null|other");
    }
    expect(parseCgiResponse(await reply).body.toString()).toBe(`${"v".repeat(300)}|${body}`);
  });

  it("closes the connection after the response, without waiting for the front server", async () => {
    const target = await start(hello);
    // exchange() does not end its side: it returns once the backend closed the connection.
    const reply = parseCgiResponse(await exchange(target, encodeHead([["REQUEST_METHOD", "GET"], ["REQUEST_URI", "/"]], 0)));
    expect(reply.body.toString()).toBe("hello");
  });

  it("closes the connection right after the response, not at the event loop's next turn", async () => {
    // The server in its own process, whose event loop stays busy after the answer until this
    // side saw the close: the front server waits for the close to end the response (SCGI has
    // no other end), and frees its connection only then
    const dir = await mkdtemp(join(tmpdir(), "vsgi-scgi-close-"));
    const seen = join(dir, "closed");
    const program = startProgram(distPath("test/fixtures/runtime-app.js"), ["-p", "0"], { FIXTURE_BACKEND: "scgi", FIXTURE_CLOSED_FILE: seen });
    try {
      const [, port] = await program.waitFor(/Listening on 'scgi:\/\/127\.0\.0\.1:(\d+)\/'/);
      const reply = await exchange({ port: Number(port) }, encodeHead([["REQUEST_METHOD", "GET"], ["REQUEST_URI", "/answer-then-busy"]], 0));
      expect(parseCgiResponse(reply).body.toString()).toBe("answered");
      await writeFile(seen, "");
      await program.waitFor(/still open|closed while/, "stdout");
      expect(program.stdout()).toBe("closed while the loop was busy\n");
    } finally {
      program.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("ends, not closes, a connection whose request body is still coming when the response ends: the rest is read and dropped, nothing reset", async () => {
    // Closed at once, the connection would answer the rest of the body with a reset, which can
    // also make the front server drop the end of a response it has not read yet
    const target = await start(hello);
    const socket = connect({ port: (target as { port: number }).port, host: "127.0.0.1", allowHalfOpen: true });
    await once(socket, "connect");
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    const errors: Error[] = [];
    socket.on("error", (err) => errors.push(err));
    socket.write(Buffer.concat([encodeHead([["REQUEST_METHOD", "POST"], ["REQUEST_URI", "/"]], 200000), Buffer.alloc(1000)]));
    await once(socket, "end");
    expect(parseCgiResponse(Buffer.concat(chunks)).body.toString()).toBe("hello");
    // a closed socket would answer what comes with a reset, which the write after the pause sees
    socket.write(Buffer.alloc(99000));
    await sleep(100);
    socket.end(Buffer.alloc(100000));
    const [hadError] = (await once(socket, "close")) as [boolean];
    expect({ hadError, errors }).toEqual({ hadError: false, errors: [] });
  });

  it("refuses a second request on the same connection: bytes past the body", async () => {
    let calls = 0;
    const target = await start((req, res) => {
      calls++;
      return res.end();
    });
    const one = encodeHead([["REQUEST_METHOD", "GET"], ["REQUEST_URI", "/"]], 0);
    const reply = parseCgiResponse(await exchange(target, Buffer.concat([one, one])));
    expect(reply.status).toBe(400);
    expect(calls).toBe(0);
  });

  it("still answers a front server that shut down its side after the request", async () => {
    const target = await start(async (req, res) => res.expandUtf8(await req.flattenUtf8()));
    const reply = parseCgiResponse(
      await exchange(target, Buffer.concat([encodeHead([["REQUEST_METHOD", "POST"], ["REQUEST_URI", "/"]], 4), Buffer.from("body")]), { end: true }),
    );
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe("body");
  });

  it("writes Status last, never Transfer-Encoding, and no body for HEAD", async () => {
    const target = await start((req, res) => {
      res.status = 201;
      res.headers.set("Location", "/x");
      res.headers.set("Transfer-Encoding", "chunked");
      return res.expandUtf8("made");
    });
    const raw = (await exchange(target, encodeHead([["REQUEST_METHOD", "GET"], ["REQUEST_URI", "/"]], 0))).toString();
    expect(raw).toBe("Location: /x\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: 4\r\nStatus: 201 Created\r\n\r\nmade");
    const head = (await exchange(target, encodeHead([["REQUEST_METHOD", "HEAD"], ["REQUEST_URI", "/"]], 0))).toString();
    expect(head.endsWith("Status: 201 Created\r\n\r\n")).toBe(true);
  });

  it("drops body bytes of a streamed HEAD response", async () => {
    const target = await start(async (req, res) => {
      await res.append("one");
      await res.append("two");
      return res.end();
    });
    const head = (await exchange(target, encodeHead([["REQUEST_METHOD", "HEAD"], ["REQUEST_URI", "/"]], 0))).toString();
    expect(head).toBe("Status: 200 OK\r\n\r\n");
  });

  it("lets the application see a front server that closes in the middle of the body", async () => {
    let seen: { aborted: boolean; error: string } | null = null;
    const done = deferred();
    const target = await start(async (req, res) => {
      try {
        await req.flatten();
      } catch (err) {
        seen = { aborted: req.aborted, error: (err as Error).message };
        done.resolve();
      }
      return res.end();
    });
    await exchange(target, Buffer.concat([encodeHead([["REQUEST_METHOD", "POST"], ["REQUEST_URI", "/"]], 100), Buffer.from("only ten b")]), { end: true });
    await done.promise;
    expect(seen).toEqual({ aborted: true, error: expect.stringMatching(/90 bytes of the request body missing/) });
    expect((await scgiRequest(target, { method: "GET", target: "/" })).status).toBe(200);
  });

  it("fails a write waiting for drain when the front server goes away, and serves the next request", async () => {
    let seen: { aborted: boolean; failed: boolean } | null = null;
    const done = deferred();
    const target = await start(async (req, res) => {
      if (req.path !== "/big") return res.expandUtf8("small");
      let failed = false;
      try {
        // More than the socket takes at once: the last write waits for 'drain'.
        for (let i = 0; i < 64 && !req.aborted; i++) await res.append(Buffer.alloc(1 << 20));
      } catch {
        failed = true;
      }
      seen = { aborted: req.aborted, failed };
      done.resolve();
      return true;
    });
    const socket = connect((target as { port: number }).port, "127.0.0.1");
    socket.write(encodeHead([["REQUEST_METHOD", "GET"], ["REQUEST_URI", "/big"]], 0));
    await once(socket, "data");
    socket.pause();
    socket.destroy();
    await done.promise;
    expect(seen).toEqual({ aborted: true, failed: true });
    expect((await scgiRequest(target, { method: "GET", target: "/" })).status).toBe(200);
  });

  it("refuses a body longer than CONTENT_LENGTH (nginx with scgi_request_buffering off) before the application runs", async () => {
    let calls = 0;
    const target = await start((req, res) => {
      calls++;
      return res.end();
    });
    const reply = parseCgiResponse(await exchange(target, Buffer.concat([encodeHead([["REQUEST_METHOD", "POST"], ["REQUEST_URI", "/"]], 0), Buffer.alloc(1000)])));
    expect(reply.status).toBe(400);
    expect(reply.body.toString()).toMatch(/more request body than its CONTENT_LENGTH \(0 bytes\).*scgi_request_buffering off/);
    expect(calls).toBe(0);
  });

  it("aborts the request when body bytes past CONTENT_LENGTH come later", async () => {
    const called = deferred();
    const target = await start(async (req: Request, res) => {
      called.resolve();
      if (!req.aborted) await once(req.signal, "abort");
      return res.expandUtf8(`aborted: ${(req.signal.reason as Error).message}`);
    });
    const socket = connect((target as { port: number }).port, "127.0.0.1");
    await once(socket, "connect");
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.write(Buffer.concat([encodeHead([["REQUEST_METHOD", "POST"], ["REQUEST_URI", "/"]], 3), Buffer.from("abc")]));
    await called.promise;
    socket.write("more");
    await once(socket, "end");
    socket.destroy();
    expect(parseCgiResponse(Buffer.concat(chunks)).body.toString()).toMatch(/^aborted: the front server sent more request body than its CONTENT_LENGTH \(3 bytes\)/);
  });

  it("closes connections from peers outside the allow list", async () => {
    let target = await start(hello, { allow: ["10.1.2.3"] });
    expect((await exchange(target, encodeHead([["REQUEST_METHOD", "GET"], ["REQUEST_URI", "/"]], 0))).length).toBe(0);
    await server!.stop();
    target = await start(hello, { allow: ["127.0.0.1"] });
    expect((await scgiRequest(target, { method: "GET", target: "/" })).body.toString()).toBe("hello");
  });

  it("holds the front server back while the application does not read the body", async () => {
    const gate = deferred();
    const called = deferred();
    let serverSocket: Socket | null = null;
    const size = 64 * MiB;
    const target = await start(async (req, res) => {
      called.resolve();
      await gate.promise;
      let length = 0;
      for await (const chunk of req.body) length += (chunk as Buffer).length;
      return res.expandUtf8(String(length));
    });
    (server!.listeners()[0] as NetServer).on("connection", (s: Socket) => (serverSocket = s));
    const block = Buffer.alloc(MiB, 0x62);
    async function* body(): AsyncGenerator<Buffer> {
      for (let sent = 0; sent < size; sent += block.length) yield block;
    }
    const pending = scgiRequest(target, { method: "POST", target: "/", headers: [["Content-Length", String(size)]], body: body() });
    await called.promise;
    const read = await settled(() => serverSocket!.bytesRead);
    expect(read).toBeLessThan(16 * MiB);
    gate.resolve();
    expect((await pending).body.toString()).toBe(String(size));
  });

  it("waits for a slow front server instead of buffering the response", async () => {
    let appended = 0;
    const size = 64 * MiB;
    const block = Buffer.alloc(64 * 1024, 0x63);
    const target = await start(async (req, res) => {
      while (appended < size) {
        await res.append(block);
        appended += block.length;
      }
      return res.end();
    });
    const socket = connect((target as { port: number }).port, "127.0.0.1");
    await once(socket, "connect");
    socket.pause();
    socket.write(encodeHead([["REQUEST_METHOD", "GET"], ["REQUEST_URI", "/"]], 0));
    const stalled = await settled(() => appended);
    expect(stalled).toBeLessThan(16 * MiB);
    let received = 0;
    socket.on("data", (c: Buffer) => (received += c.length));
    socket.resume();
    await once(socket, "end");
    socket.destroy();
    expect(appended).toBe(size);
    expect(received).toBe(size + "Status: 200 OK\r\n\r\n".length);
  });

  it("stops gracefully: the request in flight finishes, new connections are refused", async () => {
    const gate = deferred();
    const called = deferred();
    const target = await start(async (req, res) => {
      called.resolve();
      await gate.promise;
      return res.expandUtf8("finished");
    });
    const pending = scgiRequest(target, { method: "GET", target: "/" });
    await called.promise;
    const stopped = server!.stop();
    server = null;
    await expect(scgiRequest(target, { method: "GET", target: "/" })).rejects.toThrow(/ECONNREFUSED/);
    gate.resolve();
    expect((await pending).body.toString()).toBe("finished");
    await stopped;
  });

  it("passes publicOrigin and scriptName to the request", async () => {
    const target = await start((req, res) => res.expandUtf8(`${req.uri.href} ${req.scriptName} ${req.path}`), {
      publicOrigin: "https://example.com",
      scriptName: "/app",
    });
    const res = await scgiRequest(target, { method: "GET", target: "/app/x?y=1" });
    expect(res.body.toString()).toBe("https://example.com/app/x?y=1 /app /x");
  });

  it("refuses a wrong publicOrigin at construction", async () => {
    await expect(Server.load("scgi", { handler: hello, publicOrigin: "example.com" })).rejects.toThrow(/publicOrigin/);
  });
});

describe("scgi backend spawned with its listening socket on fd 0 (lighttpd bin-path)", () => {
  const APP = distPath("examples/echo/app.js");

  /** A listening socket created here and handed to a child: the parent stops accepting at once. */
  async function listening(where: { port: number; host: string } | { path: string }): Promise<{ fd: number; close: () => void; target: ScgiTarget }> {
    const listener = createServer();
    await new Promise<void>((resolve) => ("path" in where ? listener.listen(where.path, resolve) : listener.listen(where.port, where.host, resolve)));
    const address = listener.address();
    let target: ScgiTarget;
    if (typeof address === "string") {
      // Closing a UNIX listener unlinks its path: the socket lives on under another name.
      const path = address + ".child";
      await rename(address, path);
      target = { path };
    } else {
      target = { port: address!.port };
    }
    const fd = (listener as unknown as { _handle: { fd: number } })._handle.fd;
    expect(fd).toBeGreaterThan(2);
    return { fd, close: () => listener.close(), target };
  }

  async function runChild(stdio: (number | "pipe" | "ignore")[], env: NodeJS.ProcessEnv, target: ScgiTarget, uri: string, close: () => void): Promise<void> {
    // LISTEN_PID must name the process itself (sd_listen_fds(3)): a shell that sets it and execs node.
    const command = env.LISTEN_FDS ? ["/bin/sh", ["-c", 'LISTEN_PID=$$ exec "$0" "$@"', process.execPath, APP, "scgi"]] as const : [process.execPath, [APP, "scgi"]] as const;
    const child = spawn(command[0], [...command[1]], { stdio: stdio as ("pipe" | "ignore" | number)[], env: { ...process.env, ...env } });
    // From now on only the child accepts on the socket.
    close();
    let out = "";
    let err = "";
    child.stdout!.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.stderr!.setEncoding("utf8").on("data", (c: string) => (err += c));
    const exited = once(child, "exit");
    try {
      while (!err.includes("\n")) {
        if (child.exitCode !== null) throw new Error(`the child exited: ${err}`);
        await once(child.stderr!, "data");
      }
      // The log line goes to standard error: under lighttpd's bin-path standard output goes nowhere.
      expect(err).toBe(`Listening on '${uri}'\n`);
      expect(out).toBe("");
      const res = await scgiRequest(target, { method: "GET", target: "/hello" });
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe("hello");
      const upload = await scgiRequest(target, { method: "POST", target: "/upload", body: Buffer.alloc(100000, 0x61) });
      expect(JSON.parse(upload.body.toString()).length).toBe(100000);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toEqual([0, null]);
  }

  it("accepts on a TCP socket given as fd 0", async () => {
    const { fd, close, target } = await listening({ port: 0, host: "127.0.0.1" });
    await runChild([fd, "pipe", "pipe"], { LISTEN_FDS: "" }, target, "scgi+fd://0/", close);
  });

  it("accepts on a UNIX socket given as fd 0, as lighttpd's bin-path with a socket path does", async () => {
    const { fd, close, target } = await listening({ path: join(socketDir, "spawned.sock") });
    await runChild([fd, "pipe", "pipe"], { LISTEN_FDS: "" }, target, "scgi+fd://0/", close);
  });

  it("says what to do when fd 0 is no listening socket (started by hand without flags)", () => {
    const run = spawnSync(process.execPath, [APP, "scgi"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LISTEN_FDS: "" }, encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/cannot listen: fd 0 is no listening socket \(EINVAL\): give a port \(-p\) or a UNIX socket path \(-s\)/);
  });

  it("accepts on systemd's LISTEN_FDS socket (fd 3) when there is one", async () => {
    const { fd, close, target } = await listening({ port: 0, host: "127.0.0.1" });
    await runChild(["ignore", "pipe", "pipe", fd], { LISTEN_FDS: "1" }, target, "scgi+fd://3/", close);
  });
});
