// Random and mutated SCGI input, against the pure head parser and against a live backend: never
// a crash, a hang or a leak; only ScgiProtocolErrors; the same outcome however the bytes are
// split; the others still served. Seeded, bounded iterations.
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { connect } from "node:net";
import { Server, logError, setErrorLogger, type Request, type Response } from "../../vsgi/index.js";
import { ScgiHeadParser, ScgiProtocolError, encodeHead } from "../../servers/scgi/wire.js";
import { scgiRequest, type ScgiTarget } from "../helpers/scgi-client.js";
import { parseCgiResponse } from "../helpers/cgi-client.js";
import { random, int, bytes } from "../helpers/random.js";

/** An outcome that can be compared across splits: the head, or the error's message. */
type Outcome = { head: Record<string, string>; length: number; body: number } | { error: string; status: number } | { more: true };

/** Feeds `input` in chunks cut by `rand` (whole when null) and reports what the parser made of it. */
function parse(input: Buffer, rand: (() => number) | null, maxHeaderSize?: number): Outcome {
  const parser = new ScgiHeadParser(maxHeaderSize);
  try {
    for (let i = 0; i < input.length; ) {
      const n = rand === null ? input.length : 1 + int(rand, 64);
      const chunk = input.subarray(i, i + n);
      const start = parser.feed(chunk);
      if (start !== -1) {
        expect(start).toBeGreaterThanOrEqual(0);
        expect(start).toBeLessThanOrEqual(chunk.length);
        return { head: { ...parser.head!.variables.toRecord() }, length: parser.head!.contentLength, body: i + start };
      }
      i += n;
    }
    return { more: true };
  } catch (error) {
    if (!(error instanceof ScgiProtocolError)) throw error;
    expect([400, 431]).toContain(error.status);
    return { error: error.message, status: error.status! };
  }
}

const VARIABLES: [string, string][] = [
  ["REQUEST_METHOD", "POST"],
  ["REQUEST_URI", "/upload?x=1"],
  ["QUERY_STRING", "x=1"],
  ["SERVER_NAME", "example.com"],
  ["SERVER_PORT", "80"],
  ["HTTP_HOST", "example.com"],
  ["HTTP_COOKIE", "a=1"],
  ["HTTP_COOKIE", "b=2"],
  ["CONTENT_TYPE", "text/plain"],
];

function valid(rand: () => number): Buffer {
  const count = 1 + int(rand, VARIABLES.length);
  const chosen = VARIABLES.slice(0, count);
  return Buffer.concat([encodeHead(chosen, 4), Buffer.from("body")]);
}

/** One random edit: flip, insert, delete, duplicate, truncate, or replace a separator. */
function mutate(input: Buffer, rand: () => number): Buffer {
  const at = int(rand, input.length);
  switch (int(rand, 7)) {
    case 0: {
      const b = Buffer.from(input);
      b[at] = int(rand, 256);
      return b;
    }
    case 1:
      return Buffer.concat([input.subarray(0, at), bytes(rand, 1 + int(rand, 8)), input.subarray(at)]);
    case 2:
      return Buffer.concat([input.subarray(0, at), input.subarray(at + 1 + int(rand, 8))]);
    case 3:
      return Buffer.concat([input.subarray(0, at), input.subarray(at, at + 16), input.subarray(at)]);
    case 4:
      return input.subarray(0, at);
    case 5: {
      const b = Buffer.from(input);
      const separators = [0x00, 0x3a, 0x2c, 0x30, 0x39];
      b[at] = separators[int(rand, separators.length)]!;
      return b;
    }
    default: {
      // A different length prefix.
      const colon = input.indexOf(0x3a);
      return Buffer.concat([Buffer.from(String(int(rand, 1000))), input.subarray(colon === -1 ? 0 : colon)]);
    }
  }
}

describe("fuzzing the SCGI head parser", () => {
  it("random bytes: only protocol errors or more-needed, the same outcome whole or split", () => {
    const rand = random(1);
    for (let i = 0; i < 3000; i++) {
      const input = bytes(rand, int(rand, 200));
      // Bias towards a plausible start: digits then a colon.
      if (i % 3 === 0 && input.length > 4) input.write(`${int(rand, 150)}:`, 0, "latin1");
      const whole = parse(input, null, 256);
      expect(parse(input, rand, 256)).toEqual(whole);
    }
  });

  it("mutated valid heads: the same outcome however the bytes are split", () => {
    const rand = random(2);
    for (let i = 0; i < 3000; i++) {
      let input = valid(rand);
      for (let edits = 1 + int(rand, 3); edits > 0; edits--) input = mutate(input, rand);
      const whole = parse(input, null);
      expect(parse(input, rand)).toEqual(whole);
      if ("head" in whole) {
        expect(whole.head.SCGI).toBe("1");
        expect(Number(whole.head.CONTENT_LENGTH)).toBe(whole.length);
      }
    }
  });

  it("never accepts a header block past maxHeaderSize, whatever the length says", () => {
    const rand = random(3);
    for (let i = 0; i < 500; i++) {
      const max = 16 + int(rand, 200);
      const pad = "x".repeat(int(rand, 300));
      const input = encodeHead([["HTTP_X", pad]], 0);
      const outcome = parse(input, rand, max);
      const blockSize = input.length - input.indexOf(0x3a) - 2;
      if (blockSize > max) expect(outcome).toEqual({ error: `SCGI header block larger than maxHeaderSize (${max} bytes)`, status: 431 });
      else expect(outcome).toHaveProperty("head");
    }
  });
});

describe("fuzzing a live scgi backend", () => {
  let server: Server;
  let target: ScgiTarget;
  let served = 0;
  const originalLogger = logError;

  beforeAll(async () => {
    setErrorLogger(() => undefined);
    server = await Server.load("scgi", {
      maxHeaderSize: 4096,
      readTimeout: 200,
      handler: async (req: Request, res: Response) => {
        served++;
        let length = 0;
        try {
          for await (const chunk of req.body) length += (chunk as Buffer).length;
        } catch {
          // an aborted body
        }
        return res.expandUtf8(`${req.method} ${req.path} ${length}`);
      },
    });
    await server.listen({ port: 0 });
    target = { port: Number(server.uris[0]!.port) };
  });
  afterAll(async () => {
    await server.stop();
    setErrorLogger(originalLogger);
  });

  /** Sends bytes in random pieces, half-closing or not; resolves with the reply once the backend closes. */
  function send(input: Buffer, rand: () => number, end: boolean): Promise<Buffer> {
    return new Promise((resolve) => {
      const socket = connect((target as { port: number }).port, "127.0.0.1");
      const chunks: Buffer[] = [];
      socket.on("data", (c: Buffer) => chunks.push(c));
      socket.on("error", () => undefined);
      socket.on("close", () => resolve(Buffer.concat(chunks)));
      socket.on("connect", () => {
        let i = 0;
        while (i < input.length) {
          const n = 1 + int(rand, 512);
          socket.write(input.subarray(i, i + n));
          i += n;
        }
        if (end) socket.end();
      });
    });
  }

  it("answers or closes every mutated request, and keeps serving", async () => {
    const rand = random(4);
    const replies = await Promise.all(
      Array.from({ length: 300 }, () => {
        let input = valid(rand);
        for (let edits = 1 + int(rand, 3); edits > 0; edits--) input = mutate(input, rand);
        return send(input, rand, rand() < 0.5);
      }),
    );
    for (const reply of replies) {
      if (reply.length === 0) continue; // closed: an incomplete head (timeout or half-close)
      const { status } = parseCgiResponse(reply);
      expect([200, 400, 431]).toContain(status);
    }
    expect(served).toBeGreaterThan(0);
    const res = await scgiRequest(target, { method: "GET", target: "/still" });
    expect(res.body.toString()).toBe("GET /still 0");
  });

  it("survives random bytes on many connections at once", async () => {
    const rand = random(5);
    await Promise.all(Array.from({ length: 200 }, () => send(bytes(rand, int(rand, 2000)), rand, rand() < 0.7)));
    const res = await scgiRequest(target, { method: "POST", target: "/after", body: Buffer.from("12345") });
    expect(res.body.toString()).toBe("POST /after 5");
  });
});
