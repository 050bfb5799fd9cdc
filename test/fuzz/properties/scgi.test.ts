// Properties of the SCGI head reader (servers/scgi/wire.ts), fed whole and split at random
// points: valid heads decode exactly (round trip against encodeHead), mutated heads and random
// bytes end in the head, more-needed or a ScgiProtocolError (400/431), the same however split.
import { describe, it, expect } from "@jest/globals";
import fc from "fast-check";
import { CgiVariables } from "../../../vsgi/cgi-variables.js";
import { ScgiHeadParser, ScgiProtocolError, encodeHead, parseHeaderBlock } from "../../../servers/scgi/wire.js";
import { PROPERTY_TIMEOUT, cuts, mutated, params, randomBytes, split } from "../../helpers/fuzz.js";

type Outcome = { record: Readonly<Record<string, string>>; length: number; body: number } | { error: string; status: number } | { more: true };

/** Feeds the chunks; the head and where the body starts in the input, the error, or more-needed. */
function read(chunks: readonly Buffer[], maxHeaderSize?: number): Outcome {
  const parser = new ScgiHeadParser(maxHeaderSize);
  let offset = 0;
  try {
    for (const chunk of chunks) {
      const start = parser.feed(chunk);
      if (start !== -1) {
        expect(start).toBeGreaterThanOrEqual(0);
        expect(start).toBeLessThanOrEqual(chunk.length);
        expect(parser.done).toBe(true);
        expect(parser.consumed).toBe(offset + start);
        return { record: parser.head!.variables.toRecord(), length: parser.head!.contentLength, body: offset + start };
      }
      offset += chunk.length;
    }
    return { more: true };
  } catch (error) {
    if (!(error instanceof ScgiProtocolError)) throw error;
    expect([400, 431]).toContain(error.status);
    return { error: error.message, status: error.status! };
  }
}

const name = fc.stringMatching(/^[A-Z][A-Z0-9_]{0,20}$/).filter((n) => n !== "CONTENT_LENGTH" && n !== "SCGI");
// Values: any text without NUL (SCGI's separator), lone surrogates aside (not text a front server sends).
const value = fc.string({ unit: "grapheme", maxLength: 40 }).filter((v) => !v.includes("\0"));
const variable = fc.tuple(fc.oneof(name, fc.constantFrom("HTTP_COOKIE", "HTTP_X_A", "REQUEST_URI", "PATH_INFO")), value);
const head = fc.record({ variables: fc.array(variable, { maxLength: 12 }), length: fc.nat(1e9), body: fc.uint8Array({ maxLength: 32 }) });

/** What the reader must give for a head: HTTP_* values byte for byte (Latin-1), the others as sent. */
function expected(variables: readonly [string, string][], length: number): Readonly<Record<string, string>> {
  const list: string[] = ["CONTENT_LENGTH", String(length)];
  for (const [n, v] of variables) list.push(n, n.startsWith("HTTP_") ? Buffer.from(v).toString("latin1") : v);
  list.push("SCGI", "1");
  return new CgiVariables(list).toRecord();
}

const validInput = head.map(({ variables, length, body }) => Buffer.concat([encodeHead(variables, length), body]));

describe("SCGI head reader, properties", () => {
  it(
    "decodes every valid head exactly, whole or split anywhere, and finds where the body starts",
    () => {
      fc.assert(
        fc.property(head, cuts(), ({ variables, length, body }, points) => {
          const encoded = encodeHead(variables, length);
          const input = Buffer.concat([encoded, body]);
          const want = { record: expected(variables, length), length, body: encoded.length };
          expect(read([input])).toEqual(want);
          expect(read(split(input, points))).toEqual(want);
          expect(read(split(input, [...Array(input.length).keys()]))).toEqual(want); // a byte at a time
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "mutated heads: a head, more-needed or a ScgiProtocolError, the same however split",
    () => {
      fc.assert(
        fc.property(mutated(validInput), cuts(), (input, points) => {
          const whole = read([input]);
          expect(read(split(input, points))).toEqual(whole);
          if ("record" in whole) {
            expect(whole.record.SCGI).toBe("1");
            expect(Number(whole.record.CONTENT_LENGTH)).toBe(whole.length);
          }
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "random bytes: more-needed or a ScgiProtocolError, the same however split",
    () => {
      const plausible = fc.tuple(fc.nat(300), randomBytes).map(([n, rest]) => Buffer.concat([Buffer.from(`${n}:`), rest]));
      fc.assert(
        fc.property(fc.oneof(randomBytes, plausible), cuts(), fc.integer({ min: 1, max: 512 }), (input, points, max) => {
          const whole = read([Buffer.from(input)], max);
          expect(read(split(input, points), max)).toEqual(whole);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "never accepts a header block past maxHeaderSize: 431 at the digit that passes it",
    () => {
      fc.assert(
        fc.property(head, fc.integer({ min: 1, max: 400 }), cuts(), ({ variables, length }, max, points) => {
          const input = encodeHead(variables, length);
          const blockSize = input.length - input.indexOf(0x3a) - 2;
          const outcome = read(split(input, points), max);
          if (blockSize > max) expect(outcome).toEqual({ error: `SCGI header block larger than maxHeaderSize (${max} bytes)`, status: 431 });
          else expect(outcome).toHaveProperty("record");
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "parseHeaderBlock on random blocks: a head or a ScgiProtocolError",
    () => {
      fc.assert(
        fc.property(fc.oneof(randomBytes, mutated(head.map(({ variables, length }) => encodeHead(variables, length).subarray(0, -1)).map((b) => b.subarray(b.indexOf(0x3a) + 1)))), (block) => {
          try {
            const parsed = parseHeaderBlock(block);
            expect(Number.isSafeInteger(parsed.contentLength) && parsed.contentLength >= 0).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(ScgiProtocolError);
          }
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );
});
