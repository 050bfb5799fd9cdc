// Random and mutated FastCGI input, against the pure record parser and against a live backend:
// never a crash, a hang or a leak; the others still served. Seeded, bounded iterations.
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { setErrorLogger, type Request, type Response } from "../../vsgi/index.js";
import type FastcgiServer from "../../servers/fastcgi/index.js";
import {
  RecordParser,
  FastcgiProtocolError,
  decodePairs,
  encodePairs,
  encodeRecord,
  writeHeader,
  beginRequestRecord,
  streamRecords,
  PARAMS,
  STDIN,
  KEEP_CONN,
  REQUEST_COMPLETE,
} from "../../servers/fastcgi/records.js";
import { FastcgiClient, nginxParams, parseCgiResponse, startFastcgi } from "../helpers/fastcgi-client.js";
import { random, int, bytes } from "../helpers/random.js";

interface Rec {
  type: number;
  requestId: number;
  content: Buffer;
}

function parse(stream: Buffer, rand: (() => number) | null): { records: Rec[]; error: unknown } {
  const records: Rec[] = [];
  const parser = new RecordParser({ onRecord: (type, requestId, content) => records.push({ type, requestId, content: Buffer.from(content) }) });
  try {
    for (let i = 0; i < stream.length; ) {
      const n = rand === null ? stream.length : 1 + int(rand, 300);
      parser.push(stream.subarray(i, i + n));
      i += n;
    }
  } catch (error) {
    return { records, error };
  }
  return { records, error: null };
}

const seeds = [1, 2, 3, 42, 1234];

describe("fastcgi fuzz: the record parser", () => {
  it.each(seeds)("parses random valid streams the same whatever the chunking (seed %i)", (seed) => {
    const rand = random(seed);
    for (let round = 0; round < 200; round++) {
      const expected: Rec[] = [];
      const parts: Buffer[] = [];
      for (let k = int(rand, 12); k >= 0; k--) {
        const size = rand() < 0.02 ? int(rand, 65536) : int(rand, 200);
        const padding = int(rand, 256);
        const record = Buffer.alloc(8 + size + padding, 0xaa);
        const type = 1 + int(rand, 12);
        const requestId = int(rand, 65536);
        const content = bytes(rand, size);
        writeHeader(record, 0, type, requestId, size, padding);
        content.copy(record, 8);
        parts.push(record);
        expected.push({ type, requestId, content });
      }
      const stream = Buffer.concat(parts);
      const whole = parse(stream, null);
      const chunked = parse(stream, rand);
      expect(whole.error).toBeNull();
      expect(chunked.error).toBeNull();
      // Buffer.equals, not toEqual: a byte-by-byte comparison by Jest takes minutes at 64 KiB
      const same = (records: Rec[]): boolean =>
        records.length === expected.length &&
        records.every((r, i) => r.type === expected[i]!.type && r.requestId === expected[i]!.requestId && r.content.equals(expected[i]!.content));
      expect(same(chunked.records)).toBe(true);
      expect(same(whole.records)).toBe(true);
    }
  });

  it.each(seeds)("only ever throws FastcgiProtocolError on random and mutated bytes (seed %i)", (seed) => {
    const rand = random(seed);
    const valid = Buffer.concat([beginRequestRecord(1, 1, KEEP_CONN), ...streamRecords(PARAMS, 1, encodePairs(nginxParams("GET", "/x")), true, 50), encodeRecord(STDIN, 1)]);
    for (let round = 0; round < 500; round++) {
      let stream: Buffer;
      if (round % 2 === 0) {
        stream = bytes(rand, int(rand, 2000));
        if (rand() < 0.5 && stream.length > 0) stream[0] = 1;
      } else {
        stream = Buffer.from(valid);
        for (let k = 1 + int(rand, 6); k > 0; k--) stream[int(rand, stream.length)] = int(rand, 256);
        if (rand() < 0.3) stream = stream.subarray(0, int(rand, stream.length));
      }
      const { records, error } = parse(stream, rand);
      if (error !== null) expect(error).toBeInstanceOf(FastcgiProtocolError);
      for (const r of records) expect(r.content.length).toBeLessThanOrEqual(65535);
    }
  });

  it.each(seeds)("decodes name-value pairs or refuses them cleanly (seed %i)", (seed) => {
    const rand = random(seed);
    for (let round = 0; round < 1000; round++) {
      const input = bytes(rand, int(rand, 300));
      if (rand() < 0.3 && input.length > 0) input[0] = 0x80 | int(rand, 128);
      try {
        for (const [name, value] of decodePairs(input)) {
          expect(typeof name).toBe("string");
          expect(typeof value).toBe("string");
        }
      } catch (error) {
        expect(error).toBeInstanceOf(FastcgiProtocolError);
      }
      // and a round trip for generated ASCII pairs
      const pairs: [string, string][] = [];
      for (let k = int(rand, 5); k > 0; k--) {
        pairs.push([bytes(rand, int(rand, 200)).toString("hex").slice(0, int(rand, 300)).toUpperCase(), "v".repeat(int(rand, 300))]);
      }
      expect(decodePairs(encodePairs(pairs, rand() < 0.5))).toEqual(pairs);
    }
  });
});

// ---------------------------------------------------------------------------------------------

const seen = { requests: 0 };

async function app(req: Request, res: Response): Promise<boolean> {
  seen.requests++;
  switch (req.path) {
    case "/hello":
      return res.expandUtf8("hello");
    case "/upload": {
      let length = 0;
      for await (const chunk of req.body) length += (chunk as Buffer).length;
      return res.expandUtf8(`length ${length}`);
    }
    case "/stream":
      for (let i = 0; i < 10; i++) await res.append(Buffer.alloc(1024, 0x61));
      return res.end();
    case "/throw":
      throw new Error("fuzz");
  }
  return false;
}

function requestBytes(rand: () => number, id: number, target: string, body: Buffer | null, keepConn: boolean): Buffer {
  const method = body === null ? "GET" : "POST";
  return Buffer.concat([
    beginRequestRecord(id, 1, keepConn ? KEEP_CONN : 0),
    ...streamRecords(PARAMS, id, encodePairs(nginxParams(method, target, [["Cookie", "a=1"], ["Cookie", "b=2"]], body?.length ?? null)), true, 1 + int(rand, 400)),
    ...streamRecords(STDIN, id, body ?? Buffer.alloc(0), true, 1 + int(rand, 5000)),
  ]);
}

const targets = ["/hello", "/upload", "/stream", "/throw", "/missing"];

describe("fastcgi fuzz: a live backend", () => {
  let server: FastcgiServer;
  let port: number;
  let stop: () => Promise<void>;
  const logged: string[] = [];

  beforeAll(async () => {
    setErrorLogger((message) => logged.push(message));
    ({ server, port, stop } = await startFastcgi(app, { stopTimeout: 1000, maxParamsSize: 8192 }));
  });
  afterAll(async () => {
    await stop();
    setErrorLogger((message, error) => (error === undefined ? console.error(message) : console.error(message, error)));
  });

  async function stillServes(): Promise<void> {
    const client = await FastcgiClient.connect({ port });
    const result = await client.request({ params: nginxParams("GET", "/hello"), keepConn: false });
    expect(result.protocolStatus).toBe(REQUEST_COMPLETE);
    expect(parseCgiResponse(result.stdout).body.toString()).toBe("hello");
    await client.closed;
  }

  /** Sends `stream` in random pieces, ends its side, reads everything until the backend closes. */
  async function throwAt(stream: Buffer, rand: () => number): Promise<void> {
    const client = await FastcgiClient.connect({ port });
    for (let i = 0; i < stream.length && !client.isClosed; ) {
      const n = 1 + int(rand, 2000);
      await client.send(stream.subarray(i, i + n));
      i += n;
    }
    client.socket.end();
    await client.closed;
  }

  it.each(seeds)("survives mutated request streams (seed %i)", async (seed) => {
    const rand = random(seed);
    for (let round = 0; round < 200; round++) {
      const parts: Buffer[] = [];
      for (let k = 1 + int(rand, 3); k > 0; k--) {
        const target = targets[int(rand, targets.length)]!;
        const body = target === "/upload" ? Buffer.alloc(int(rand, 20000), 0x62) : null;
        parts.push(requestBytes(rand, 1 + int(rand, 4), target, body, rand() < 0.7));
      }
      let stream = Buffer.concat(parts);
      const mutation = int(rand, 5);
      if (mutation === 0) {
        for (let k = 1 + int(rand, 8); k > 0; k--) stream[int(rand, stream.length)] = int(rand, 256);
      } else if (mutation === 1) {
        stream = stream.subarray(0, int(rand, stream.length));
      } else if (mutation === 2) {
        const at = int(rand, stream.length);
        stream = Buffer.concat([stream.subarray(0, at), bytes(rand, int(rand, 64)), stream.subarray(at)]);
      } else if (mutation === 3) {
        const from = int(rand, stream.length);
        stream = Buffer.concat([stream, stream.subarray(from, from + int(rand, 500))]);
      } else {
        // a header field of a random record rewritten: lengths, types, ids
        const at = int(rand, Math.max(1, stream.length - 8));
        stream[at + 1 + int(rand, 6)] = int(rand, 256);
      }
      await throwAt(stream, rand);
      if (round % 10 === 9) await stillServes();
    }
    await stillServes();
  });

  it.each(seeds)("answers every request of randomly interleaved multiplexed streams (seed %i)", async (seed) => {
    const rand = random(seed);
    const client = await FastcgiClient.connect({ port });
    for (let round = 0; round < 50; round++) {
      const count = 1 + int(rand, 6);
      const queues: Buffer[][] = [];
      const results: Promise<{ requestId: number; stdout: Buffer }>[] = [];
      const wanted: string[] = [];
      for (let id = 1; id <= count; id++) {
        const upload = rand() < 0.5;
        const size = int(rand, 100000);
        const records = [
          beginRequestRecord(id, 1, KEEP_CONN),
          ...streamRecords(PARAMS, id, encodePairs(nginxParams(upload ? "POST" : "GET", upload ? "/upload" : "/stream", [], upload ? size : null)), true, 1 + int(rand, 300)),
          ...streamRecords(STDIN, id, upload ? Buffer.alloc(size, 0x63) : Buffer.alloc(0), true, 1 + int(rand, 20000)),
        ];
        queues.push(records);
        results.push(client.expect(id));
        wanted.push(upload ? `length ${size}` : "a".repeat(10240));
      }
      const mixed: Buffer[] = [];
      while (queues.some((q) => q.length > 0)) {
        const live = queues.filter((q) => q.length > 0);
        mixed.push(live[int(rand, live.length)]!.shift()!);
      }
      await client.send(Buffer.concat(mixed));
      const answers = await Promise.all(results);
      expect(answers.map((a) => parseCgiResponse(a.stdout).body.toString())).toEqual(wanted);
    }
    await client.close();
  });

  it("leaves no connection behind", async () => {
    for (let i = 0; i < 100 && server.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(server.connectionCount).toBe(0);
    expect(server.bufferedBytes).toBe(0);
  });
});
