// Properties of the FastCGI wire format (servers/fastcgi/records.ts, name-values.ts): records
// and name-value pairs round-trip against the encoders whole and split at random points;
// mutated and random bytes give records or a FastcgiProtocolError, the same however split;
// values decode the one way every backend decodes them (decodeVariable).
import { describe, it, expect } from "@jest/globals";
import fc from "fast-check";
import { decodeVariable } from "../../../vsgi/cgi-environment.js";
import { CgiVariables } from "../../../vsgi/cgi-variables.js";
import {
  FastcgiProtocolError,
  ParamsCollector,
  RecordParser,
  decodePairs,
  decodeVariables,
  encodePairs,
  encodeRecord,
  streamRecords,
  writeHeader,
  beginRequestRecord,
  PARAMS,
  STDIN,
  KEEP_CONN,
} from "../../../servers/fastcgi/records.js";
import { nginxParams } from "../../helpers/fastcgi-client.js";
import { PROPERTY_TIMEOUT, cuts, mutated, params, randomBytes, split } from "../../helpers/fuzz.js";

interface Rec {
  type: number;
  requestId: number;
  content: Buffer;
}

/** Records delivered by the parser for these chunks, and its error's message if it threw. */
function read(chunks: readonly Buffer[]): { records: Rec[]; error: string | null } {
  const records: Rec[] = [];
  const parser = new RecordParser({ onRecord: (type, requestId, content) => records.push({ type, requestId, content: Buffer.from(content) }) });
  try {
    for (const chunk of chunks) parser.push(chunk);
  } catch (error) {
    if (!(error instanceof FastcgiProtocolError)) throw error;
    // stopped: later bytes are ignored, never parsed as records
    parser.push(Buffer.from([1, 1, 0, 1, 0, 0, 0, 0]));
    return { records, error: error.message };
  }
  return { records, error: null };
}

const record = fc.record({
  type: fc.integer({ min: 0, max: 255 }),
  requestId: fc.integer({ min: 0, max: 0xffff }),
  content: fc.oneof({ weight: 20, arbitrary: fc.uint8Array({ maxLength: 200 }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 60000, maxLength: 65535 }) }),
  padding: fc.uint8Array({ maxLength: 255 }),
});

function encode(r: { type: number; requestId: number; content: Uint8Array; padding: Uint8Array }): Buffer {
  const out = Buffer.alloc(8 + r.content.length + r.padding.length);
  writeHeader(out, 0, r.type, r.requestId, r.content.length, r.padding.length);
  out.set(r.content, 8);
  out.set(r.padding, 8 + r.content.length);
  return out;
}

const sameRecords = (got: readonly Rec[], want: readonly { type: number; requestId: number; content: Uint8Array }[]): boolean =>
  got.length === want.length && got.every((r, i) => r.type === want[i]!.type && r.requestId === want[i]!.requestId && r.content.equals(want[i]!.content));

// Names as front servers send them (ASCII); values any text, headers included.
const pairName = fc.oneof(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,30}$/), fc.constantFrom("HTTP_", "HTTP_HOST", "HTTP_COOKIE", "PATH_INFO", "REQUEST_URI"));
const pairValue = fc.oneof(fc.string({ unit: "grapheme", maxLength: 50 }), fc.string({ unit: "grapheme-ascii", maxLength: 300 }));
const pairs = fc.array(fc.tuple(pairName, pairValue), { maxLength: 16 });

/** What a pair's value must decode to: its bytes read as decodeVariable reads them. */
function decoded(name: string, value: string | Uint8Array): string {
  return decodeVariable(name, Buffer.from(typeof value === "string" ? Buffer.from(value) : value));
}

const validStream = fc
  .tuple(pairs, fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 1, max: 600 }), fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 0xffff }))
  .map(([list, body, paramsMax, stdinMax, id]) =>
    Buffer.concat([beginRequestRecord(id, 1, KEEP_CONN), ...streamRecords(PARAMS, id, encodePairs(list), true, paramsMax), ...streamRecords(STDIN, id, body, true, stdinMax, true)]),
  );

describe("FastCGI records, properties", () => {
  it(
    "delivers every record of a valid stream exactly, whole or split anywhere, padding skipped",
    () => {
      fc.assert(
        fc.property(fc.array(record, { maxLength: 8 }), cuts(16), (records, points) => {
          const stream = Buffer.concat(records.map(encode));
          const whole = read([stream]);
          expect(whole.error).toBeNull();
          expect(sameRecords(whole.records, records)).toBe(true);
          const pieces = read(split(stream, points));
          expect(pieces.error).toBeNull();
          expect(sameRecords(pieces.records, records)).toBe(true);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "encodeRecord and streamRecords round-trip through the parser",
    () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 11 }), fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 1, max: 65535 }), fc.boolean(), cuts(), (type, id, data, max, pad, points) => {
          const stream = Buffer.concat(streamRecords(type, id, data, true, max, pad));
          const { records, error } = read(split(stream, points));
          expect(error).toBeNull();
          expect(records.at(-1)!.content.length).toBe(0);
          expect(Buffer.concat(records.map((r) => r.content)).equals(data)).toBe(true);
          expect(records.every((r) => r.type === type && r.requestId === id && r.content.length <= max)).toBe(true);
          expect(read([encodeRecord(type, id, data.subarray(0, 65535), pad)]).records[0]!.content.equals(data.subarray(0, 65535))).toBe(true);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "mutated and random streams: records or a FastcgiProtocolError, the same however split",
    () => {
      fc.assert(
        fc.property(fc.oneof(mutated(validStream), randomBytes, randomBytes.map((b) => Buffer.concat([Buffer.from([1]), b]))), cuts(16), (input, points) => {
          const whole = read([Buffer.from(input)]);
          const pieces = read(split(input, points));
          expect(pieces.error).toBe(whole.error);
          expect(sameRecords(pieces.records, whole.records)).toBe(true);
          for (const r of whole.records) expect(r.content.length).toBeLessThanOrEqual(65535);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );
});

describe("FastCGI name-value pairs, properties", () => {
  it(
    "decodePairs(encodePairs(pairs)) gives the pairs, values decoded as decodeVariable does, short and long lengths",
    () => {
      fc.assert(
        fc.property(pairs, fc.boolean(), (list, long) => {
          const want = list.map(([n, v]) => [n, decoded(n, v)]);
          const block = encodePairs(list, long);
          expect(decodePairs(block)).toEqual(want);
          expect(decodeVariables(block).toRecord()).toEqual(new CgiVariables(want.flat()).toRecord());
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "a PARAMS stream cut into records of any size collects back into the same block",
    () => {
      fc.assert(
        fc.property(pairs, cuts(16), (list, points) => {
          const block = encodePairs(list);
          const collector = new ParamsCollector(block.length);
          for (const piece of split(block, points)) {
            expect(collector.add(piece)).toBe(true);
            if (points.length % 2 === 0) collector.keep();
          }
          expect(collector.length).toBe(block.length);
          expect(collector.take().equals(block)).toBe(true);
          const bounded = new ParamsCollector(block.length - 1);
          expect(split(block, points).every((piece) => bounded.add(piece))).toBe(block.length === 0);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "random and mutated blocks: pairs decoded as decodeVariable does, or a FastcgiProtocolError",
    () => {
      const nearly = mutated(pairs.map((list) => encodePairs(list)));
      const highLengths = randomBytes.map((b) => (b.length > 0 ? Buffer.concat([Buffer.from([0x80 | (b[0]! & 0x7f)]), b]) : Buffer.from(b)));
      fc.assert(
        fc.property(fc.oneof(nearly, randomBytes, highLengths), (input) => {
          const block = Buffer.from(input);
          let list: [string, string][];
          try {
            list = decodePairs(block);
          } catch (error) {
            expect(error).toBeInstanceOf(FastcgiProtocolError);
            expect(() => decodeVariables(block)).toThrow(FastcgiProtocolError);
            return;
          }
          // Re-encoding the raw bytes gives the block back: every byte was accounted for.
          let offset = 0;
          for (const [name, value] of list) {
            const nameLength = block[offset]! < 0x80 ? block[offset++]! : block.readUInt32BE((offset += 4) - 4) & 0x7fffffff;
            const valueLength = block[offset]! < 0x80 ? block[offset++]! : block.readUInt32BE((offset += 4) - 4) & 0x7fffffff;
            expect(name).toBe(block.toString("latin1", offset, offset + nameLength));
            expect(value).toBe(decodeVariable(name, block.subarray(offset + nameLength, offset + nameLength + valueLength)));
            offset += nameLength + valueLength;
          }
          expect(offset).toBe(block.length);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it("a realistic nginx PARAMS block decodes to its variables", () => {
    const list = nginxParams("POST", "/caf%C3%A9?q=1", [["Cookie", "a=1"], ["Cookie", "b=2"]], 3);
    expect(decodeVariables(encodePairs(list)).get("HTTP_COOKIE")).toBe("a=1; b=2");
  });
});
