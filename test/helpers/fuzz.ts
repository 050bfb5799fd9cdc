// The property-based fuzz suite's settings and shared arbitraries (test/fuzz/properties/, see
// docs/fuzzing.md). One place reads the environment:
// - FUZZ_RUNS: cases per property (default: a short pass for `npm test`; `npm run fuzz` sets
//   100000);
// - FUZZ_SEED and FUZZ_PATH: replay a failure, as fast-check printed them (`{ seed: ..., path: ... }`).
import fc from "fast-check";

/** Cases per property in `npm test`: a few hundred, the whole fuzz set within seconds. */
export const SHORT_RUNS = 200;

const runs = Number(process.env.FUZZ_RUNS ?? SHORT_RUNS);
if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`FUZZ_RUNS must be a positive integer, got ${process.env.FUZZ_RUNS}`);
const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
if (seed !== undefined && !Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got ${process.env.FUZZ_SEED}`);

/** True in the long pass (`npm run fuzz`). */
export const LONG = runs > SHORT_RUNS;

/** Jest's timeout for one property: generous in the long pass, where a property runs for minutes. */
export const PROPERTY_TIMEOUT = LONG ? 24 * 3600 * 1000 : 60000;

/**
 * fast-check's parameters for every property: the run count, the replay seed and path when
 * given, and (long pass) a count of the cases each property ran, for docs/fuzzing.md.
 *
 * @example fc.assert(fc.property(arb, check), params());
 */
export function params<T>(scale = 1): fc.Parameters<T> {
  const out: fc.Parameters<T> = { numRuns: Math.max(1, Math.round(runs * scale)) };
  if (seed !== undefined) {
    out.seed = seed;
    if (process.env.FUZZ_PATH !== undefined) out.path = process.env.FUZZ_PATH;
  }
  return out;
}

/** Up to `max` cut points, positions to split an input at (taken modulo its length). */
export function cuts(max = 8): fc.Arbitrary<number[]> {
  return fc.array(fc.nat(), { maxLength: max });
}

/**
 * `input` cut at `points` (modulo its length, sorted): the chunks a socket could deliver.
 *
 * @example split(Buffer.from("abcd"), [1, 3]); // [<61>, <62 63>, <64>]
 */
export function split(input: Uint8Array, points: readonly number[]): Buffer[] {
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.length);
  if (bytes.length === 0) return [];
  const at = [...new Set(points.map((p) => p % bytes.length))].filter((p) => p > 0).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const p of at) {
    out.push(bytes.subarray(start, p));
    start = p;
  }
  out.push(bytes.subarray(start));
  return out;
}

/** One edit of a byte string: what the mutation arbitrary applies. */
type Edit =
  | { kind: "set"; at: number; byte: number }
  | { kind: "flip"; at: number; bit: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; count: number }
  | { kind: "duplicate"; at: number; count: number }
  | { kind: "truncate"; at: number }
  | { kind: "special"; at: number; byte: number };

/** Bytes that mean something to some parser here: separators, NUL, high bit, lengths. */
const SPECIAL = [0x00, 0x01, 0x0a, 0x0d, 0x20, 0x22, 0x25, 0x2c, 0x2f, 0x30, 0x39, 0x3a, 0x3b, 0x3d, 0x5c, 0x7f, 0x80, 0xa0, 0xff];

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: fc.nat(255) }),
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("special" as const), at: fc.nat(), byte: fc.constantFrom(...SPECIAL) }),
);

function apply(input: Buffer, e: Edit): Buffer {
  const at = input.length === 0 ? 0 : e.at % (input.length + 1);
  switch (e.kind) {
    case "set":
    case "special":
    case "flip": {
      if (at >= input.length) return input;
      const b = Buffer.from(input);
      b[at] = e.kind === "flip" ? b[at]! ^ (1 << e.bit) : e.byte;
      return b;
    }
    case "insert":
      return Buffer.concat([input.subarray(0, at), e.bytes, input.subarray(at)]);
    case "delete":
      return Buffer.concat([input.subarray(0, at), input.subarray(at + e.count)]);
    case "duplicate":
      return Buffer.concat([input.subarray(0, at + e.count), input.subarray(at)]);
    case "truncate":
      return input.subarray(0, at);
  }
}

/**
 * A valid input from `valid`, then one to four random edits (set, flip, insert, delete,
 * duplicate, truncate, a meaningful byte): inputs that are nearly right, where parsers break.
 *
 * @example check(mutated(validHeads), (input) => ...);
 */
export function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Buffer> {
  return fc.tuple(valid, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([input, edits]) => edits.reduce(apply, Buffer.from(input)));
}

/** `mutated` for text: the same edits on the Latin-1 bytes of the string. */
export function mutatedText(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return mutated(valid.map((s) => Buffer.from(s, "latin1"))).map((b) => b.toString("latin1"));
}

/** Random bytes, short and long. */
export const randomBytes: fc.Arbitrary<Uint8Array> = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 2048 }));

/** Random text: any code points, any UTF-16 units (lone surrogates included), printable ASCII. */
export const randomText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 50 }),
  fc.string({ unit: "grapheme-ascii", maxLength: 200 }),
  fc.string({ maxLength: 200 }),
);

/**
 * Calls `fn`; returns its result, or the error when it is an instance of `type` (the parser's
 * documented error); any other exception fails the property.
 *
 * @example const out = outcome(ScgiProtocolError, () => parser.feed(chunk));
 */
export function outcome<T, E extends Error>(type: abstract new (...args: never[]) => E, fn: () => T): { value: T } | { error: E } {
  try {
    return { value: fn() };
  } catch (error) {
    if (error instanceof type) return { error };
    throw error;
  }
}

/** Text made of the given pieces (separators, keywords) and random characters: near-valid header values. */
export function textFrom(pieces: readonly string[], maxLength = 12): fc.Arbitrary<string> {
  return fc
    .array(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...pieces) }, { weight: 1, arbitrary: fc.string({ unit: "binary-ascii", maxLength: 3 }) }), { maxLength })
    .map((parts) => parts.join(""));
}
