import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from "@jest/globals";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { connect as connectTcp } from "node:net";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { conformance } from "./conformance.js";
import { setErrorLogger, SOCKET_LIMITS, type Request, type Response } from "../../vsgi/index.js";
import type FastcgiServer from "../../servers/fastcgi/index.js";
import { FastcgiResponse } from "../../servers/fastcgi/index.js";
import {
  RecordParser,
  ParamsCollector,
  FastcgiProtocolError,
  encodeRecord,
  encodePairs,
  decodePairs,
  streamRecords,
  beginRequestRecord,
  endRequestRecord,
  writeHeader,
  BEGIN_REQUEST,
  PARAMS,
  STDIN,
  STDOUT,
  STDERR,
  END_REQUEST,
  GET_VALUES,
  UNKNOWN_TYPE,
  AUTHORIZER,
  FILTER,
  KEEP_CONN,
  REQUEST_COMPLETE,
  CANT_MPX_CONN,
  OVERLOADED,
  UNKNOWN_ROLE,
  type RecordHandler,
} from "../../servers/fastcgi/records.js";
import { FastcgiClient, fastcgiTransport, nginxParams, parseCgiResponse, startFastcgi } from "../helpers/fastcgi-client.js";
import { distPath, start } from "../helpers/process.js";

conformance(fastcgiTransport("keep-conn"));
conformance(fastcgiTransport("per-request"));
conformance(fastcgiTransport("multiplexed"));

// ---------------------------------------------------------------------------------------------
// The wire format, without sockets

class Collect implements RecordHandler {
  records: { type: number; requestId: number; content: Buffer }[] = [];
  onRecord(type: number, requestId: number, content: Buffer): void {
    this.records.push({ type, requestId, content: Buffer.from(content) });
  }
}

function parseAll(bytes: Buffer, chunk: number): Collect["records"] {
  const sink = new Collect();
  const parser = new RecordParser(sink);
  for (let i = 0; i < bytes.length; i += chunk) parser.push(bytes.subarray(i, i + chunk));
  return sink.records;
}

/** A record with explicit padding bytes (garbage: they must be ignored). */
function padded(type: number, id: number, content: Buffer, padding: number): Buffer {
  const record = Buffer.alloc(8 + content.length + padding, 0xee);
  writeHeader(record, 0, type, id, content.length, padding);
  content.copy(record, 8);
  return record;
}

describe("fastcgi records", () => {
  const stream = Buffer.concat([
    beginRequestRecord(1, 1, KEEP_CONN),
    padded(PARAMS, 1, encodePairs([["REQUEST_METHOD", "GET"]]), 3),
    encodeRecord(PARAMS, 1),
    padded(STDIN, 1, Buffer.alloc(70000 % 65536, 7), 255),
    padded(STDIN, 300, Buffer.from("x"), 7),
    encodeRecord(STDIN, 1),
    encodeRecord(STDIN, 65535, Buffer.alloc(65535, 1), true),
  ]);
  const expected = [
    { type: BEGIN_REQUEST, requestId: 1, length: 8 },
    { type: PARAMS, requestId: 1, length: encodePairs([["REQUEST_METHOD", "GET"]]).length },
    { type: PARAMS, requestId: 1, length: 0 },
    { type: STDIN, requestId: 1, length: 70000 % 65536 },
    { type: STDIN, requestId: 300, length: 1 },
    { type: STDIN, requestId: 1, length: 0 },
    { type: STDIN, requestId: 65535, length: 65535 },
  ];

  it.each([1, 2, 3, 7, 8, 9, 100, 65536, stream.length])("parses records fed %i bytes at a time, skipping padding", (chunk) => {
    const records = parseAll(stream, chunk);
    expect(records.map((r) => ({ type: r.type, requestId: r.requestId, length: r.content.length }))).toEqual(expected);
    expect(records[4]!.content.toString()).toBe("x");
    expect(records[3]!.content.every((b) => b === 7)).toBe(true);
    expect(records[6]!.content.every((b) => b === 1)).toBe(true);
  });

  it("hands out views of the chunk when a record fits in it, copies when it straddles", () => {
    const record = encodeRecord(STDIN, 1, Buffer.from("abcdef"));
    let seen: Buffer | null = null;
    new RecordParser({ onRecord: (_t, _i, c) => (seen = c) }).push(record);
    expect(seen!.buffer).toBe(record.buffer);
    const split = new Collect();
    const parser = new RecordParser(split);
    parser.push(record.subarray(0, 10));
    expect(parser.atBoundary).toBe(false);
    parser.push(record.subarray(10));
    expect(parser.atBoundary).toBe(true);
    expect(split.records[0]!.content.toString()).toBe("abcdef");
  });

  it("rejects a version other than 1, then ignores everything", () => {
    const sink = new Collect();
    const parser = new RecordParser(sink);
    const bad = encodeRecord(STDIN, 1, Buffer.from("a"));
    bad[0] = 2;
    expect(() => parser.push(bad)).toThrow(FastcgiProtocolError);
    parser.push(encodeRecord(STDIN, 1, Buffer.from("b")));
    expect(sink.records).toEqual([]);
  });

  it("encodes lengths in one byte up to 127 and in four bytes above", () => {
    const short = encodePairs([["N", "v".repeat(127)]]);
    expect(short[0]).toBe(1);
    expect(short[1]).toBe(127);
    expect(short.length).toBe(2 + 1 + 127);
    const long = encodePairs([["N", "v".repeat(128)]]);
    expect(long.readUInt32BE(1)).toBe(0x80000000 + 128);
    expect(long.length).toBe(1 + 4 + 1 + 128);
    const pairs: [string, string][] = [
      ["A", ""],
      ["", "empty name"],
      ["B".repeat(127), "x".repeat(128)],
      ["C".repeat(128), "y".repeat(70000)],
      ["PATH_INFO", "/caf\u00e9"],
      ["HTTP_X_LATIN", "\u00e9\u00ff"],
    ];
    expect(decodePairs(encodePairs(pairs))).toEqual(pairs.map(([n, v]) => [n, n === "HTTP_X_LATIN" ? Buffer.from(v, "utf8").toString("latin1") : v]));
    // four-byte lengths are accepted for short strings too
    expect(decodePairs(encodePairs([["SHORT", "1"]], true))).toEqual([["SHORT", "1"]]);
  });

  it("reads paths as UTF-8 and header values as Latin-1, like node:http", () => {
    const bytes = Buffer.concat([Buffer.from([11, 2]), Buffer.from("SCRIPT_NAME"), Buffer.from([0xc3, 0xa9]), Buffer.from([6, 1]), Buffer.from("HTTP_X"), Buffer.from([0xe9])]);
    expect(decodePairs(bytes)).toEqual([
      ["SCRIPT_NAME", "\u00e9"],
      ["HTTP_X", "\u00e9"],
    ]);
  });

  it("decodes name-value pairs that straddle PARAMS records", () => {
    const pairs: [string, string][] = [
      ["REQUEST_METHOD", "POST"],
      ["HTTP_COOKIE", "a=1"],
      ["LONG", "z".repeat(300)],
    ];
    const bytes = encodePairs(pairs);
    for (const size of [1, 2, 3, 5, 8, 130, 301]) {
      const collector = new ParamsCollector(65536);
      for (const record of parseAll(Buffer.concat(streamRecords(PARAMS, 1, bytes, true, size)), 4)) {
        if (record.content.length > 0) expect(collector.add(record.content)).toBe(true);
      }
      expect(decodePairs(collector.take())).toEqual(pairs);
    }
  });

  it("bounds the PARAMS stream", () => {
    const collector = new ParamsCollector(10);
    expect(collector.add(Buffer.alloc(6))).toBe(true);
    expect(collector.add(Buffer.alloc(4))).toBe(true);
    expect(collector.add(Buffer.alloc(1))).toBe(false);
  });

  it.each([
    ["a name length cut short", Buffer.from([0x80, 0, 0])],
    ["a value length missing", Buffer.from([1])],
    ["a value length cut short", Buffer.from([1, 0x80])],
    ["a name longer than the block", Buffer.from([5, 0, 65])],
    ["a value longer than the block", Buffer.from([1, 5, 65, 66])],
    ["a four-byte length near 2^31", Buffer.from([0xff, 0xff, 0xff, 0xff, 0])],
  ])("rejects %s", (_what, bytes) => {
    expect(() => decodePairs(bytes)).toThrow(FastcgiProtocolError);
  });

  it("serializes records, padded to 8 bytes on request, and refuses oversized content", () => {
    const record = encodeRecord(STDOUT, 258, Buffer.from("hello"), true);
    expect([...record.subarray(0, 8)]).toEqual([1, STDOUT, 1, 2, 0, 5, 3, 0]);
    expect(record.length % 8).toBe(0);
    expect(encodeRecord(STDOUT, 1, Buffer.from("hello")).length).toBe(13);
    expect(() => encodeRecord(STDOUT, 1, Buffer.alloc(65536))).toThrow(RangeError);
    const parts = streamRecords(STDOUT, 1, Buffer.alloc(140000));
    expect(parts.map((p) => p.readUInt16BE(4))).toEqual([65535, 65535, 140000 - 131070, 0]);
    expect([...endRequestRecord(7, 0x01020304, OVERLOADED)]).toEqual([1, END_REQUEST, 0, 7, 0, 8, 0, 0, 1, 2, 3, 4, OVERLOADED, 0, 0, 0]);
  });
});

// ---------------------------------------------------------------------------------------------
// Over real sockets

interface Gate {
  promise: Promise<void>;
  open(): void;
}

function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Waits until `value()` stops changing (the peer is stalled), polling; never asserts on time. */
async function settled(value: () => number, atLeast = 1): Promise<number> {
  let last = -1;
  let same = 0;
  for (;;) {
    await sleep(20);
    const now = value();
    if (now === last && now >= atLeast) {
      if (++same >= 10) return now;
    } else {
      same = 0;
      last = now;
    }
  }
}

const MiB = 1024 * 1024;
const gates = new Map<string, Gate>();
const started = new Map<string, Gate>();
const seen = { carelessFailed: false, abortedSeen: false, signalAborted: false, streamed: 0, held: null as Request | null };

function gateFor(map: Map<string, Gate>, name: string): Gate {
  let g = map.get(name);
  if (g === undefined) map.set(name, (g = gate()));
  return g;
}

async function app(req: Request, res: Response): Promise<boolean> {
  const name = req.lookupQuery("name") ?? "";
  switch (req.path) {
    case "/hello":
      return res.expandUtf8("hello");
    case "/wait":
      // writes, waits for its gate, writes again
      await res.append(`${name}-1;`);
      gateFor(started, name).open();
      await gateFor(gates, name).promise;
      await res.append(`${name}-2;`);
      return res.end();
    case "/abortable":
      await new Promise<void>((resolve) => {
        req.signal.addEventListener("abort", () => resolve());
        gateFor(started, name).open();
      });
      seen.abortedSeen = req.aborted;
      seen.signalAborted = req.signal.aborted;
      gateFor(gates, "aborted").open();
      return true;
    case "/throw":
      throw new Error("kaboom");
    case "/careless": {
      // writes without waiting, and goes on writing after the front server went away
      res.body.write(Buffer.alloc(100000, 0x64));
      gateFor(started, name).open();
      await gateFor(gates, name).promise;
      let failed = false;
      for (let i = 0; i < 4; i++) {
        res.body.write(Buffer.alloc(100000, 0x64), (err) => (failed ||= err != null));
        await sleep(1);
      }
      seen.carelessFailed = failed || res.body.destroyed;
      gateFor(gates, name + "-done").open();
      return true;
    }
    case "/log":
      (res as FastcgiResponse).logError("note from the app");
      return res.expandUtf8("logged");
    case "/throw-after-head":
      await res.append("partial");
      gateFor(started, name).open();
      await gateFor(gates, name).promise;
      throw new Error("late failure");
    case "/big":
      return res.expand(Buffer.alloc(200000, 0x62));
    case "/big-head":
      res.headers.set("X-Big", "h".repeat(70000));
      return res.expandUtf8("ok");
    case "/small-stream":
      await res.append("a");
      await res.append("b");
      return res.end();
    case "/stream": {
      const total = Number(req.lookupQuery("size"));
      const block = Buffer.alloc(64 * 1024, 0x63);
      seen.streamed = 0;
      for (let sent = 0; sent < total; sent += block.length) {
        await res.append(block);
        seen.streamed += block.length;
      }
      return res.end();
    }
    case "/hold": {
      seen.held = req;
      gateFor(started, name).open();
      await gateFor(gates, name).promise;
      const hash = createHash("sha256");
      let length = 0;
      for await (const chunk of req.body) {
        hash.update(chunk as Buffer);
        length += (chunk as Buffer).length;
      }
      return res.expandUtf8(JSON.stringify({ length, sha256: hash.digest("hex") }));
    }
    case "/upload": {
      const body = await req.flatten();
      return res.expandUtf8(JSON.stringify({ length: body.length, text: body.toString("latin1").slice(0, 64) }));
    }
    case "/env":
      return res.expandUtf8(JSON.stringify({ env: req.environment, uri: req.uri.href, path: req.path, scriptName: req.scriptName }));
  }
  return false;
}

const logged: string[] = [];

function params(method: string, target: string, headers: [string, string][] = [], length: number | null = null): [string, string][] {
  return nginxParams(method, target, headers, length);
}

async function get(client: FastcgiClient, target: string, extra: { requestId?: number; keepConn?: boolean } = {}) {
  const result = await client.request({ params: params("GET", target), keepConn: extra.keepConn ?? true, ...(extra.requestId !== undefined ? { requestId: extra.requestId } : {}) });
  return { result, response: parseCgiResponse(result.stdout) };
}

describe("fastcgi over sockets", () => {
  let server: FastcgiServer;
  let port: number;
  let stop: () => Promise<void>;
  const clients: FastcgiClient[] = [];

  async function connect(p = port): Promise<FastcgiClient> {
    const c = await FastcgiClient.connect({ port: p });
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    setErrorLogger((message, error) => logged.push(error === undefined ? message : `${message} ${(error as Error)?.message}`));
    ({ server, port, stop } = await startFastcgi(app, { stopTimeout: 2000 }));
  });
  afterAll(async () => {
    await stop();
    setErrorLogger((message, error) => (error === undefined ? console.error(message) : console.error(message, error)));
  });
  beforeEach(() => {
    gates.clear();
    started.clear();
    logged.length = 0;
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
  });

  describe("connections", () => {
    it("serves two requests on one kept connection (FCGI_KEEP_CONN)", async () => {
      const client = await connect();
      const first = await get(client, "/hello");
      const second = await get(client, "/hello?again");
      expect(first.response.body.toString()).toBe("hello");
      expect(second.response.body.toString()).toBe("hello");
      expect(first.result.protocolStatus).toBe(REQUEST_COMPLETE);
      expect(client.isClosed).toBe(false);
      expect(server.connectionCount).toBe(1);
    });

    it("closes the connection after END_REQUEST without FCGI_KEEP_CONN", async () => {
      const client = await connect();
      const { result, response } = await get(client, "/hello", { keepConn: false });
      expect(result.protocolStatus).toBe(REQUEST_COMPLETE);
      expect(response.body.toString()).toBe("hello");
      await client.closed;
      expect(client.isClosed).toBe(true);
    });

    it("answers a front server that shut down its side after its request, then closes", async () => {
      const client = await connect();
      const pending = client.request({ requestId: 1, params: params("GET", "/wait?name=half"), keepConn: true });
      await gateFor(started, "half").promise;
      client.socket.end();
      gateFor(gates, "half").open();
      const result = await pending;
      expect(result.protocolStatus).toBe(REQUEST_COMPLETE);
      expect(parseCgiResponse(result.stdout).body.toString()).toBe("half-1;half-2;");
      await client.closed;
    });

    it("multiplexes two requests on one connection, their responses interleaved", async () => {
      const client = await connect();
      client.keepRecords = true;
      const a = client.request({ requestId: 1, params: params("GET", "/wait?name=a"), keepConn: true });
      await gateFor(started, "a").promise;
      const b = client.request({ requestId: 2, params: params("GET", "/wait?name=b"), keepConn: true });
      await gateFor(started, "b").promise;
      gateFor(gates, "b").open();
      const rb = await b;
      gateFor(gates, "a").open();
      const ra = await a;
      expect(parseCgiResponse(ra.stdout).body.toString()).toBe("a-1;a-2;");
      expect(parseCgiResponse(rb.stdout).body.toString()).toBe("b-1;b-2;");
      const order = client.records.filter((r) => r.type === END_REQUEST || (r.type === STDOUT && r.content.length > 0)).map((r) => `${r.type === END_REQUEST ? "end" : "out"}${r.requestId}`);
      // a starts, b runs to its end, then a finishes
      expect(order.indexOf("out1")).toBeLessThan(order.indexOf("out2"));
      expect(order.indexOf("end2")).toBeLessThan(order.lastIndexOf("out1"));
      expect(order.indexOf("end2")).toBeLessThan(order.indexOf("end1"));
    });

    it("reads interleaved records of two requests (PARAMS and STDIN mixed)", async () => {
      const client = await connect();
      const one = client.expect(1);
      const two = client.expect(2);
      const p1 = streamRecords(PARAMS, 1, encodePairs(params("POST", "/upload", [], 6)), true, 7);
      const p2 = streamRecords(PARAMS, 2, encodePairs(params("POST", "/upload", [], 4)), true, 5);
      const mixed: Buffer[] = [beginRequestRecord(2, 1, KEEP_CONN), beginRequestRecord(1, 1, KEEP_CONN)];
      for (let i = 0; i < Math.max(p1.length, p2.length); i++) {
        if (i < p1.length) mixed.push(p1[i]!);
        if (i < p2.length) mixed.push(p2[i]!);
      }
      mixed.push(
        encodeRecord(STDIN, 1, Buffer.from("one")),
        encodeRecord(STDIN, 2, Buffer.from("tw")),
        encodeRecord(STDIN, 1, Buffer.from("ONE")),
        encodeRecord(STDIN, 2, Buffer.from("o2")),
        encodeRecord(STDIN, 2),
        encodeRecord(STDIN, 1),
      );
      await client.send(Buffer.concat(mixed));
      expect(JSON.parse(parseCgiResponse((await one).stdout).body.toString())).toEqual({ length: 6, text: "oneONE" });
      expect(JSON.parse(parseCgiResponse((await two).stdout).body.toString())).toEqual({ length: 4, text: "two2" });
    });

    it("accepts PARAMS records of a few bytes and STDIN records of one byte", async () => {
      const client = await connect();
      const result = await client.request({ params: params("POST", "/upload", [], 5), body: Buffer.from("abcde"), keepConn: true, paramsRecordSize: 3, stdinRecordSize: 1 });
      expect(JSON.parse(parseCgiResponse(result.stdout).body.toString())).toEqual({ length: 5, text: "abcde" });
    });

    it("keeps PARAMS and STDIN across reads while other connections read into the same buffer", async () => {
      const slow = await connect();
      const other = await connect();
      /** `bytes` in four reads; between two, a whole request on another connection. */
      const sendInPieces = async (bytes: Buffer, cuts: number[]): Promise<void> => {
        let from = 0;
        for (const cut of [...cuts, bytes.length]) {
          await slow.send(bytes.subarray(from, cut));
          from = cut;
          await sleep(20); // read on its own, not with the next piece
          expect((await get(other, "/hello")).response.body.toString()).toBe("hello");
        }
      };
      const sent = params("GET", "/env?split", [["X-Long", "v".repeat(300)], ["X-Other", "w".repeat(200)]]);
      const envAnswer = slow.expect(1);
      const envRecords = Buffer.concat([beginRequestRecord(1, 1, KEEP_CONN), ...streamRecords(PARAMS, 1, encodePairs(sent), true, 100), encodeRecord(STDIN, 1)]);
      await sendInPieces(envRecords, [30, 250, 500]);
      const env = JSON.parse(parseCgiResponse((await envAnswer).stdout).body.toString()).env;
      for (const [name, value] of sent) expect(env[name]).toBe(value);

      const body = Buffer.from("0123456789abcdefghij");
      const uploadAnswer = slow.expect(2);
      const uploadRecords = Buffer.concat([
        beginRequestRecord(2, 1, KEEP_CONN),
        ...streamRecords(PARAMS, 2, encodePairs(params("POST", "/upload", [], body.length)), true),
        encodeRecord(STDIN, 2, body.subarray(0, 7)),
        encodeRecord(STDIN, 2, body.subarray(7)),
        encodeRecord(STDIN, 2),
      ]);
      // The two STDIN records (15 and 21 bytes), each whole in a read of its own.
      const end = uploadRecords.length;
      await sendInPieces(uploadRecords, [end - 44, end - 29, end - 8]);
      expect(JSON.parse(parseCgiResponse((await uploadAnswer).stdout).body.toString())).toEqual({ length: body.length, text: body.toString() });
    });

    it("sends head, body, the end of STDOUT and END_REQUEST of a whole response in one write", async () => {
      const client = await connect();
      client.keepRecords = true;
      await get(client, "/hello");
      // head, body, end of STDOUT and END_REQUEST came in one write, hence in one read
      expect(new Set(client.records.map((r) => r.read)).size).toBe(1);
    });

    it("writes END_REQUEST together with the last STDOUT bytes of a streamed response", async () => {
      const client = await connect();
      client.keepRecords = true;
      const { response } = await get(client, "/small-stream");
      expect(response.body.toString()).toBe("ab");
      const lastData = client.records.filter((r) => r.type === STDOUT && r.content.length > 0).at(-1)!;
      const end = client.records.find((r) => r.type === END_REQUEST)!;
      expect(end.read).toBe(lastData.read);
    });

    it("cuts STDOUT into records of at most 65535 bytes, and heads too", async () => {
      const client = await connect();
      client.keepRecords = true;
      const { response } = await get(client, "/big");
      expect(response.body.length).toBe(200000);
      const head = await get(client, "/big-head");
      expect(head.response.headers.get("x-big")!.length).toBe(70000);
      const sizes = client.records.filter((r) => r.type === STDOUT).map((r) => r.content.length);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(65535);
      expect(sizes.filter((s) => s > 60000).length).toBeGreaterThanOrEqual(4);
    });

    it("builds the request from nginx-style variables", async () => {
      const client = await connect();
      const { response } = await get(client, "/env?x=1");
      const seenEnv = JSON.parse(response.body.toString());
      expect(seenEnv.uri).toBe("http://localhost/env?x=1");
      expect(seenEnv.env.SERVER_SOFTWARE).toBe("nginx/1.22.1");
    });
  });

  describe("management records and roles", () => {
    it("answers GET_VALUES with the three known values, omitting unknown names", async () => {
      const client = await connect();
      const values = await client.getValues(["FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS", "FCGI_NO_SUCH_THING"]);
      expect(values).toEqual([
        ["FCGI_MAX_CONNS", String(SOCKET_LIMITS.maxConnections)],
        ["FCGI_MAX_REQS", "1024"],
        ["FCGI_MPXS_CONNS", "1"],
      ]);
      expect((await get(client, "/hello")).response.body.toString()).toBe("hello");
    });

    it("answers an unknown management record type with UNKNOWN_TYPE and goes on", async () => {
      const client = await connect();
      const answer = client.waitRecord((r) => r.type === UNKNOWN_TYPE);
      await client.send(encodeRecord(42, 0, Buffer.from("whatever")));
      const record = await answer;
      expect(record.requestId).toBe(0);
      expect(record.content.length).toBe(8);
      expect(record.content[0]).toBe(42);
      expect((await get(client, "/hello")).response.body.toString()).toBe("hello");
    });

    it.each([
      ["AUTHORIZER", AUTHORIZER],
      ["FILTER", FILTER],
    ])("answers the %s role with UNKNOWN_ROLE, ignores the rest of that request, and goes on", async (_name, role) => {
      const client = await connect();
      const refused = await client.request({ requestId: 5, role, params: params("GET", "/hello"), body: Buffer.from("data"), keepConn: true });
      expect(refused.protocolStatus).toBe(UNKNOWN_ROLE);
      expect(refused.stdout.length).toBe(0);
      expect((await get(client, "/hello", { requestId: 5 })).response.body.toString()).toBe("hello");
      expect(client.isClosed).toBe(false);
    });

    it("answers ABORT_REQUEST with END_REQUEST, and the handler sees the abort", async () => {
      const client = await connect();
      seen.abortedSeen = false;
      const pending = client.request({ requestId: 3, params: params("GET", "/abortable?name=x"), keepConn: true });
      await gateFor(started, "x").promise;
      await client.abort(3);
      const result = await pending;
      expect(result.protocolStatus).toBe(REQUEST_COMPLETE);
      await gateFor(gates, "aborted").promise;
      expect(seen.abortedSeen).toBe(true);
      expect(seen.signalAborted).toBe(true);
      expect((await get(client, "/hello", { requestId: 3 })).response.body.toString()).toBe("hello");
    });

    it("fails the writes of an aborted response that waits for a slow front server", async () => {
      const client = await connect();
      client.socket.pause(); // do not read: the response fills the socket and waits
      const pending = client.request({ requestId: 4, params: params("GET", "/stream?size=" + 64 * MiB), keepConn: true, discardStdout: true });
      await settled(() => seen.streamed);
      await client.abort(4);
      client.socket.resume();
      const result = await pending;
      expect(result.protocolStatus).toBe(REQUEST_COMPLETE);
      expect(result.appStatus).toBe(1);
      const stalled = seen.streamed;
      expect(stalled).toBeLessThan(64 * MiB);
      expect((await get(client, "/hello")).response.body.toString()).toBe("hello");
      expect(seen.streamed).toBe(stalled);
    });
  });

  describe("errors and STDERR", () => {
    it("never lets a careless application crash the process after an abort", async () => {
      const client = await connect();
      client.socket.pause();
      const pending = client.request({ requestId: 6, params: params("GET", "/careless?name=c"), keepConn: true });
      await gateFor(started, "c").promise;
      await client.abort(6);
      client.socket.resume();
      expect((await pending).protocolStatus).toBe(REQUEST_COMPLETE);
      gateFor(gates, "c").open();
      await gateFor(gates, "c-done").promise;
      expect(seen.carelessFailed).toBe(true);
      expect((await get(client, "/hello")).response.body.toString()).toBe("hello");
    });

    it("sends the application's error log for a request on its STDERR, and a 500", async () => {
      const client = await connect();
      client.keepRecords = true;
      const { result, response } = await get(client, "/throw");
      expect(response.status).toBe(500);
      expect(response.body.toString()).toBe("Internal Server Error");
      expect(result.stderr.toString()).toContain("GET /throw: unhandled error");
      expect(result.stderr.toString()).toContain("kaboom");
      // STDERR is a stream: it ends with an empty record, before END_REQUEST
      const types = client.records.map((r) => `${r.type}:${r.content.length === 0 ? 0 : 1}`);
      expect(types.slice(-3)).toEqual([`${STDOUT}:0`, `${STDERR}:0`, `${END_REQUEST}:1`]);
      expect(logged.some((l) => l.includes("GET /throw: unhandled error"))).toBe(true);
    });

    it("lets the application log to its request's STDERR with res.logError", async () => {
      const client = await connect();
      const { result, response } = await get(client, "/log");
      expect(response.body.toString()).toBe("logged");
      expect(result.stderr.toString()).toBe("note from the app\n");
    });

    it("closes a lone connection when a response fails after its head", async () => {
      const client = await connect();
      const pending = client.request({ params: params("GET", "/throw-after-head?name=late"), keepConn: true });
      await gateFor(started, "late").promise;
      gateFor(gates, "late").open();
      const result = await pending;
      expect(result.protocolStatus).toBeNull(); // no END_REQUEST: the connection closed
      expect(client.isClosed).toBe(true);
      expect(result.stderr.toString()).toContain("late failure");
    });

    it("ends only the failed request when others share the connection", async () => {
      const client = await connect();
      const failing = client.request({ requestId: 1, params: params("GET", "/throw-after-head?name=f"), keepConn: true });
      const other = client.request({ requestId: 2, params: params("GET", "/wait?name=o"), keepConn: true });
      await gateFor(started, "f").promise;
      await gateFor(started, "o").promise;
      gateFor(gates, "f").open();
      const failed = await failing;
      expect(failed.appStatus).toBe(1);
      expect(failed.protocolStatus).toBe(REQUEST_COMPLETE);
      gateFor(gates, "o").open();
      expect(parseCgiResponse((await other).stdout).body.toString()).toBe("o-1;o-2;");
      expect(client.isClosed).toBe(false);
    });
  });

  describe("back-pressure", () => {
    it("never buffers a large response for a front server that does not read", async () => {
      const total = 64 * MiB;
      const client = await connect();
      client.socket.pause();
      let received = 0;
      const pending = client.request({ params: params("GET", `/stream?size=${total}`), keepConn: true, discardStdout: true, onStdout: (c) => (received += c.length) });
      const stalled = await settled(() => seen.streamed, 64 * 1024);
      expect(stalled).toBeLessThan(total);
      // what the backend holds in memory: the socket's own buffer, not the response
      expect(server.bufferedBytes).toBeLessThan(512 * 1024);
      client.socket.resume();
      const result = await pending;
      expect(result.protocolStatus).toBe(REQUEST_COMPLETE);
      expect(seen.streamed).toBe(total);
      expect(received).toBeGreaterThan(total); // the head too
    });

    it("stops reading the socket while the application does not read the body", async () => {
      const total = 64 * MiB;
      const client = await connect();
      let sent = 0;
      async function* body(): AsyncGenerator<Buffer> {
        const block = Buffer.alloc(64 * 1024, 0x61);
        for (; sent < total; sent += block.length) yield block;
      }
      const pending = client.request({ params: params("POST", "/hold?name=h", [["Content-Type", "application/octet-stream"]], total), body: body(), keepConn: true });
      await gateFor(started, "h").promise;
      const stalledAt = await settled(() => sent, 64 * 1024);
      expect(stalledAt).toBeLessThan(total);
      // the body buffered for the application stays near its high-water mark (64 KiB)
      expect(seen.held!.body.readableLength).toBeLessThanOrEqual(256 * 1024);
      gateFor(gates, "h").open();
      const result = await pending;
      const expected = createHash("sha256");
      for (let i = 0; i < total; i += 64 * 1024) expected.update(Buffer.alloc(64 * 1024, 0x61));
      expect(JSON.parse(parseCgiResponse(result.stdout).body.toString())).toEqual({ length: total, sha256: expected.digest("hex") });
    });
  });

  describe("bad input", () => {
    async function closedWithLog(bytes: Buffer, pattern: RegExp): Promise<void> {
      const client = await connect();
      await client.send(bytes);
      await client.closed;
      expect(logged.some((l) => pattern.test(l))).toBe(true);
      // the server still serves others
      const other = await connect();
      expect((await get(other, "/hello")).response.body.toString()).toBe("hello");
    }

    it("closes the connection on a bad version", async () => {
      const bad = encodeRecord(BEGIN_REQUEST, 1, Buffer.alloc(8));
      bad[0] = 0;
      await closedWithLog(bad, /bad FastCGI version 0/);
    });

    it("closes the connection on records for a request id never begun", async () => {
      await closedWithLog(encodeRecord(STDIN, 9, Buffer.from("x")), /STDIN for request id 9, which is not active/);
    });

    it("closes the connection on a BEGIN_REQUEST of the wrong size", async () => {
      await closedWithLog(encodeRecord(BEGIN_REQUEST, 1, Buffer.alloc(5)), /BEGIN_REQUEST of 5 bytes/);
    });

    it("closes the connection on a second BEGIN_REQUEST for an active id", async () => {
      await closedWithLog(Buffer.concat([beginRequestRecord(1), beginRequestRecord(1)]), /already active/);
    });

    it("closes the connection on STDIN before the end of PARAMS", async () => {
      await closedWithLog(Buffer.concat([beginRequestRecord(1), encodeRecord(STDIN, 1, Buffer.from("x"))]), /STDIN before the end of PARAMS/);
    });

    it("closes the connection on a name-value pair cut short", async () => {
      await closedWithLog(Buffer.concat([beginRequestRecord(1), encodeRecord(PARAMS, 1, Buffer.from([5, 1, 65])), encodeRecord(PARAMS, 1)]), /cut short|longer than/);
    });

    it("closes the connection on records only a backend sends", async () => {
      await closedWithLog(Buffer.concat([beginRequestRecord(1), encodeRecord(STDOUT, 1, Buffer.from("x"))]), /unexpected STDOUT/);
    });

    it("answers 431 to oversized parameters and keeps the connection", async () => {
      const small = await startFastcgi(app, { maxParamsSize: 1024 });
      try {
        const client = await connect(small.port);
        const result = await client.request({ params: params("GET", "/hello", [["X-Big", "b".repeat(2000)]]), body: Buffer.from("body"), keepConn: true, paramsRecordSize: 500 });
        expect(parseCgiResponse(result.stdout).status).toBe(431);
        expect(logged.some((l) => /larger than 1024 bytes/.test(l))).toBe(true);
        expect((await get(client, "/hello")).response.body.toString()).toBe("hello");
      } finally {
        await small.stop();
      }
    });

    it("survives a front server closing in the middle of an upload the handler never reads", async () => {
      const client = await connect();
      await client.send([
        beginRequestRecord(1, 1, KEEP_CONN),
        ...streamRecords(PARAMS, 1, encodePairs(params("POST", "/wait?name=u", [], 100000))),
        encodeRecord(STDIN, 1, Buffer.alloc(1000)),
      ]);
      await gateFor(started, "u").promise;
      await client.close();
      gateFor(gates, "u").open();
      const other = await connect();
      expect((await get(other, "/hello")).response.body.toString()).toBe("hello");
    });

    it("answers 400 to a bad REQUEST_METHOD and keeps the connection", async () => {
      const client = await connect();
      const result = await client.request({ params: [["REQUEST_METHOD", "G E T"], ["REQUEST_URI", "/"]], keepConn: true });
      expect(parseCgiResponse(result.stdout).status).toBe(400);
      expect((await get(client, "/hello")).response.body.toString()).toBe("hello");
    });

    it("answers 400 when STDIN ends before CONTENT_LENGTH", async () => {
      const client = await connect();
      const result = await client.request({ params: params("POST", "/upload", [], 10), body: Buffer.from("short"), keepConn: true });
      expect(parseCgiResponse(result.stdout).status).toBe(400);
    });

    it("ignores STDIN past CONTENT_LENGTH", async () => {
      const client = await connect();
      const result = await client.request({ params: params("POST", "/upload", [], 3), body: Buffer.from("abcdef"), keepConn: true });
      expect(JSON.parse(parseCgiResponse(result.stdout).body.toString())).toEqual({ length: 3, text: "abc" });
    });

    it("reads a body without CONTENT_LENGTH to the end of STDIN", async () => {
      const client = await connect();
      const result = await client.request({ params: params("POST", "/upload", [], null), body: Buffer.from("streamed"), keepConn: true });
      expect(JSON.parse(parseCgiResponse(result.stdout).body.toString())).toEqual({ length: 8, text: "streamed" });
    });
  });

  describe("limits and options", () => {
    it("answers CANT_MPX_CONN to a second request when multiplexing is off", async () => {
      const single = await startFastcgi(app, { multiplex: false });
      try {
        const client = await connect(single.port);
        expect(await client.getValues(["FCGI_MPXS_CONNS"])).toEqual([["FCGI_MPXS_CONNS", "0"]]);
        const first = client.request({ requestId: 1, params: params("GET", "/wait?name=m"), keepConn: true });
        await gateFor(started, "m").promise;
        const second = await client.request({ requestId: 2, params: params("GET", "/hello"), keepConn: true });
        expect(second.protocolStatus).toBe(CANT_MPX_CONN);
        gateFor(gates, "m").open();
        expect(parseCgiResponse((await first).stdout).body.toString()).toBe("m-1;m-2;");
      } finally {
        await single.stop();
      }
    });

    it("answers OVERLOADED past maxRequests and reports it in GET_VALUES", async () => {
      const limited = await startFastcgi(app, { maxRequests: 1, maxConnections: 10 });
      try {
        const client = await connect(limited.port);
        expect(await client.getValues(["FCGI_MAX_REQS", "FCGI_MAX_CONNS"])).toEqual([
          ["FCGI_MAX_REQS", "1"],
          ["FCGI_MAX_CONNS", "10"],
        ]);
        const first = client.request({ requestId: 1, params: params("GET", "/wait?name=o1"), keepConn: true });
        await gateFor(started, "o1").promise;
        expect((await client.request({ requestId: 2, params: params("GET", "/hello"), keepConn: true })).protocolStatus).toBe(OVERLOADED);
        gateFor(gates, "o1").open();
        await first;
      } finally {
        await limited.stop();
      }
    });

    it("refuses peers outside the allow list at once", async () => {
      const guarded = await startFastcgi(app, { allow: ["192.0.2.1"] });
      try {
        const client = await connect(guarded.port);
        client.keepRecords = true;
        const result = await client.request({ params: params("GET", "/hello"), keepConn: true });
        expect(result.protocolStatus).toBeNull();
        expect(client.records).toEqual([]);
      } finally {
        await guarded.stop();
      }
      const open = await startFastcgi(app, { allow: ["127.0.0.1"] });
      try {
        expect((await get(await connect(open.port), "/hello")).response.body.toString()).toBe("hello");
      } finally {
        await open.stop();
      }
    });

    it("takes the allow list from FCGI_WEB_SERVER_ADDRS when no option gives one", async () => {
      process.env.FCGI_WEB_SERVER_ADDRS = "192.0.2.7, 192.0.2.8";
      let guarded;
      try {
        guarded = await startFastcgi(app);
      } finally {
        delete process.env.FCGI_WEB_SERVER_ADDRS;
      }
      try {
        const client = await connect(guarded.port);
        await client.closed;
        expect(client.isClosed).toBe(true);
      } finally {
        await guarded.stop();
      }
    });

    it("closes a connection that stays idle past idleTimeout", async () => {
      const quick = await startFastcgi(app, { idleTimeout: 50 });
      try {
        const client = await connect(quick.port);
        expect((await get(client, "/hello")).response.body.toString()).toBe("hello");
        await client.closed;
        expect(client.isClosed).toBe(true);
      } finally {
        await quick.stop();
      }
    });

    it("keeps an idle connection whose application is at work on a request", async () => {
      const quick = await startFastcgi(app, { idleTimeout: 30 });
      try {
        const client = await connect(quick.port);
        const pending = client.request({ params: params("GET", "/wait?name=t"), keepConn: true });
        await gateFor(started, "t").promise;
        await sleep(200); // several idle timeouts
        expect(client.isClosed).toBe(false);
        gateFor(gates, "t").open();
        expect(parseCgiResponse((await pending).stdout).body.toString()).toBe("t-1;t-2;");
      } finally {
        await quick.stop();
      }
    });

    it("rejects bad option values", async () => {
      await expect(startFastcgi(app, { maxParamsSize: 0 })).rejects.toThrow(/maxParamsSize/);
      await expect(startFastcgi(app, { idleTimeout: -1 })).rejects.toThrow(/idleTimeout/);
      await expect(startFastcgi(app, { multiplex: "yes" as unknown as boolean })).rejects.toThrow(/multiplex/);
    });

    it("stops gracefully: idle connections close, a request in flight finishes", async () => {
      const own = await startFastcgi(app, { stopTimeout: 5000 });
      const idle = await connect(own.port);
      await get(idle, "/hello");
      const busy = await connect(own.port);
      const pending = busy.request({ params: params("GET", "/wait?name=s"), keepConn: true });
      await gateFor(started, "s").promise;
      const stopped = own.stop();
      await idle.closed;
      gateFor(gates, "s").open();
      expect(parseCgiResponse((await pending).stdout).body.toString()).toBe("s-1;s-2;");
      await stopped;
      await busy.closed;
    });

    it("closes a kept connection during a stop right after its answer, not at the event loop's next turn", async () => {
      // The server in its own process, whose event loop stays busy after the answer until this
      // side saw the close: nginx would have given the connection to its next request meanwhile
      // ("upstream prematurely closed", a 502 for a POST)
      const dir = mkdtempSync(join(tmpdir(), "vsgi-fastcgi-close-"));
      const seen = join(dir, "closed");
      const program = start(distPath("test/fixtures/runtime-app.js"), ["-p", "0"], { FIXTURE_BACKEND: "fastcgi", FIXTURE_CLOSED_FILE: seen });
      try {
        const [, port] = await program.waitFor(/Listening on 'fastcgi:\/\/127\.0\.0\.1:(\d+)\/'/);
        const client = await FastcgiClient.connect({ port: Number(port) });
        const answer = client.request({ params: nginxParams("GET", "/answer-then-block"), keepConn: true });
        expect(parseCgiResponse((await answer).stdout).body.toString()).toBe("answered");
        await client.closed;
        writeFileSync(seen, "");
        await program.waitFor(/still open|closed while/, "stdout");
        expect(program.stdout()).toBe("closed while the loop was busy\n");
      } finally {
        program.kill("SIGKILL");
        rmSync(dir, { recursive: true, force: true });
      }
    });

    // HAProxy (mpxs-conns) may send a request before it has the last answer: closed at once with
    // that request unread, the connection would be reset, and the kernel would drop what it had
    // not sent yet of the answer
    const multiplexing: [string, (request: (id: number, name: string) => Buffer) => Buffer, string[]][] = [
      ["two requests were in flight at once", (request) => Buffer.concat([request(1, "mx1"), request(2, "mx2")]), ["mx1", "mx2"]],
      ["it asked for FCGI_MPXS_CONNS", (request) => Buffer.concat([encodeRecord(GET_VALUES, 0, encodePairs([["FCGI_MPXS_CONNS", ""]])), request(1, "gv1")]), ["gv1"]],
    ];
    for (const [how, sent, names] of multiplexing) {
      it(`during a stop, ends a connection on which ${how} instead of closing it at once: open until the front server ends its side, what it still sends dropped`, async () => {
        const own = await startFastcgi(app, { stopTimeout: 5000 });
        const socket = connectTcp({ port: own.port, host: "127.0.0.1", allowHalfOpen: true });
        const answers = new Collect();
        const parser = new RecordParser(answers);
        socket.on("data", (chunk: Buffer) => parser.push(chunk));
        const ended = once(socket, "end");
        const closed = once(socket, "close");
        await once(socket, "connect");
        const request = (id: number, name: string): Buffer =>
          Buffer.concat([beginRequestRecord(id, 1, KEEP_CONN), encodeRecord(PARAMS, id, encodePairs(params("GET", `/wait?name=${name}`))), encodeRecord(PARAMS, id), encodeRecord(STDIN, id)]);
        socket.write(sent(request));
        for (const name of names) await gateFor(started, name).promise;
        const stopped = own.stop();
        for (const name of names) gateFor(gates, name).open();
        await ended;
        expect(answers.records.filter((r) => r.type === END_REQUEST).map((r) => r.requestId)).toEqual(names.map((_, i) => i + 1));
        // half-closed: still reading (a closed socket would reset what comes)
        expect(own.server.connectionCount).toBe(1);
        socket.write(request(3, "late"));
        socket.end();
        await closed;
        await stopped;
        expect(answers.records.filter((r) => r.requestId === 3)).toEqual([]);
      });
    }
  });

  describe("real third-party clients and launchers", () => {
    const SPAWN_FCGI = "spawn-fcgi";
    // A missing tool fails the test at once, naming its package: never a skip (CI installs them,
    // .ci/run), never a wait for a socket that nobody will create.
    function missing(err: NodeJS.ErrnoException, tool: string, pkg: string): Error {
      return err.code === "ENOENT" ? new Error(`${tool} is not installed (Debian package ${pkg}, see .ci/run): ${err.message}`) : err;
    }

    /** Resolves when `child` runs, rejects at once when it cannot start. */
    function launched(child: ChildProcess, tool: string, pkg: string): Promise<void> {
      return new Promise((resolve, reject) => {
        child.once("spawn", resolve);
        child.once("error", (err) => reject(missing(err, tool, pkg)));
      });
    }

    /** Runs a libfcgi-bin tool, through `env` when `command` is `env` (127: env did not find it). */
    function run(command: string, args: string[], input?: string): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
      const tool = command === "env" ? (args.find((a) => !a.startsWith("-") && !a.includes("=")) ?? command) : command;
      return new Promise((resolve, reject) => {
        const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        let err = "";
        child.stdout.on("data", (c: Buffer) => out.push(c));
        child.stderr.on("data", (c: Buffer) => (err += c.toString()));
        child.on("error", (e) => reject(missing(e, tool, "libfcgi-bin")));
        child.on("close", (code) => {
          if (command === "env" && code === 127) reject(missing(Object.assign(new Error(err.trim()), { code: "ENOENT" }), tool, "libfcgi-bin"));
          else resolve({ code, stdout: Buffer.concat(out), stderr: err });
        });
        child.stdin.end(input);
      });
    }

    it("answers cgi-fcgi (libfcgi) for a GET", async () => {
      const { code, stdout } = await run("env", ["-i", "REQUEST_METHOD=GET", "SCRIPT_NAME=", "REQUEST_URI=/hello", "QUERY_STRING=", "cgi-fcgi", "-bind", "-connect", `127.0.0.1:${port}`]);
      expect(code).toBe(0);
      const response = parseCgiResponse(stdout);
      expect(response.status).toBe(200);
      expect(response.body.toString()).toBe("hello");
    });

    it("answers cgi-fcgi (libfcgi) for a POST with a body and for a missing route", async () => {
      const post = await run(
        "env",
        ["-i", "REQUEST_METHOD=POST", "CONTENT_LENGTH=11", "SCRIPT_NAME=", "REQUEST_URI=/upload", "QUERY_STRING=", "cgi-fcgi", "-bind", "-connect", `127.0.0.1:${port}`],
        "hello world",
      );
      expect(JSON.parse(parseCgiResponse(post.stdout).body.toString())).toEqual({ length: 11, text: "hello world" });
      const missing = await run("env", ["-i", "REQUEST_METHOD=GET", "SCRIPT_NAME=", "REQUEST_URI=/x", "QUERY_STRING=", "cgi-fcgi", "-bind", "-connect", `127.0.0.1:${port}`]);
      expect(parseCgiResponse(missing.stdout).status).toBe(404);
    });

    it("accepts on fd 0 when spawned by spawn-fcgi", async () => {
      const dir = mkdtempSync(join(tmpdir(), "fcgi-spawn-"));
      const socketPath = join(dir, "app.sock");
      const script = join(dir, "app.mjs");
      const backend = pathToFileURL(distPath("servers/fastcgi/index.js")).href;
      writeFileSync(
        script,
        `import FastcgiServer from ${JSON.stringify(backend)};
const server = new FastcgiServer({ handler: (req, res) => res.expandUtf8("spawned " + server.uris.map(String).join(" ")) });
await server.listen();
`,
      );
      const child = spawn(SPAWN_FCGI, ["-n", "-s", socketPath, "--", process.execPath, script], { stdio: ["ignore", "ignore", "pipe"] });
      // Listened for from the start: a child that failed to start has closed already.
      const closed = new Promise((resolve) => child.once("close", resolve));
      try {
        await launched(child, SPAWN_FCGI, "spawn-fcgi");
        for (let i = 0; i < 500 && !existsSync(socketPath); i++) await sleep(10);
        let client: FastcgiClient | null = null;
        for (let i = 0; i < 200 && client === null; i++) {
          try {
            client = await FastcgiClient.connect({ path: socketPath });
          } catch {
            await sleep(20);
          }
        }
        clients.push(client!);
        const response = (await get(client!, "/anything")).response;
        expect(response.body.toString()).toBe("spawned fastcgi+fd://0/");
      } finally {
        child.kill("SIGTERM");
        await closed;
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
