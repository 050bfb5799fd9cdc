// Properties of the Range parser (valum/http/range.ts): a header built from byte-range specs
// gives exactly the bytes a simple model says (merged, in the order asked, capped), formatRange
// round-trips, and any text gives ranges inside the representation, UNSATISFIABLE or null, never
// an exception; Content-Range both ways.
import { describe, it, expect } from "@jest/globals";
import fc from "fast-check";
import { UNSATISFIABLE, formatContentRange, formatRange, mergeRanges, parseContentRange, parseRange, rangesLength, type ByteRange } from "../../../valum/http/range.js";
import { PROPERTY_TIMEOUT, mutatedText, params, randomText, textFrom } from "../../helpers/fuzz.js";

type Spec = { kind: "range"; first: number; last: number | null } | { kind: "suffix"; length: number };
const position = fc.oneof(fc.nat(300), fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER));
const spec: fc.Arbitrary<Spec> = fc.oneof(
  fc.tuple(position, fc.option(fc.nat(300), { nil: null })).map(([first, extra]) => ({ kind: "range" as const, first, last: extra === null ? null : first + extra })),
  position.map((length) => ({ kind: "suffix" as const, length })),
);
const write = (s: Spec): string => (s.kind === "suffix" ? `-${s.length}` : `${s.first}-${s.last ?? ""}`);
const ows = fc.constantFrom("", " ", "\t", " , ");
const header = fc.tuple(fc.array(fc.tuple(spec, ows), { minLength: 1, maxLength: 20 }), fc.constantFrom("bytes", "BYTES", " bytes ")).map(([specs, unit]) => ({
  specs: specs.map(([s]) => s),
  text: `${unit}=` + specs.map(([s, space]) => space + write(s)).join(","),
}));

/** The model: each spec as the range of bytes it covers in a representation of `size` bytes, or null. */
function covered(s: Spec, size: number): ByteRange | null {
  if (s.kind === "suffix") return s.length === 0 || size === 0 ? null : { start: Math.max(0, size - s.length), end: size - 1 };
  if (s.first >= size) return null;
  return { start: s.first, end: Math.min(s.last ?? Infinity, size - 1) };
}

function checkInside(result: ReturnType<typeof parseRange>, size: number): void {
  if (result === null || result === UNSATISFIABLE) return;
  expect(result.length).toBeGreaterThan(0);
  for (const r of result) {
    expect(Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end)).toBe(true);
    expect(0 <= r.start && r.start <= r.end && r.end < size).toBe(true);
  }
  // merged: no two overlap or touch
  const sorted = [...result].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.start).toBeGreaterThan(sorted[i - 1]!.end + 1);
}

describe("Range header, properties", () => {
  it(
    "a header of valid specs gives the merged ranges the model says, UNSATISFIABLE when none overlaps, null past maxRanges",
    () => {
      fc.assert(
        fc.property(header, fc.oneof(fc.nat(500), fc.nat()), fc.integer({ min: 1, max: 20 }), ({ specs, text }, size, maxRanges) => {
          const result = parseRange(text, size, { maxRanges });
          const model = specs.map((s) => covered(s, size)).filter((r): r is ByteRange => r !== null);
          const merged = mergeRanges(model);
          if (model.length === 0) expect(result).toBe(UNSATISFIABLE);
          else if (merged.length > maxRanges || model.length > maxRanges * 8) expect(result).toBeNull();
          else expect(result).toEqual(merged);
          checkInside(result, size);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "formatRange round-trips disjoint ranges inside the representation",
    () => {
      fc.assert(
        fc.property(fc.uniqueArray(fc.nat(1000), { minLength: 2, maxLength: 32 }), (cuts) => {
          // ranges between sorted cut points, every other one: disjoint and never touching
          const points = [...cuts].sort((a, b) => a - b);
          const ranges: ByteRange[] = [];
          for (let i = 0; i + 1 < points.length; i += 2) if (points[i + 1]! - 1 >= points[i]!) ranges.push({ start: points[i]!, end: points[i + 1]! - 1 });
          const separated = ranges.filter((r, i) => i === 0 || r.start > ranges[i - 1]!.end + 1);
          if (separated.length === 0) return;
          expect(parseRange(formatRange(separated), 1001, { maxRanges: 32 })).toEqual(separated);
          expect(rangesLength(separated)).toBe(separated.reduce((n, r) => n + r.end - r.start + 1, 0));
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "mutated and random headers: ranges inside the representation, UNSATISFIABLE or null, never an exception",
    () => {
      const pieces = textFrom(["bytes", "=", "-", ",", " ", "0", "1", "9", "99999999999999999999", "e3", "+1", "0x1", "\t", ";"], 20);
      fc.assert(
        fc.property(fc.oneof(mutatedText(header.map((h) => h.text)), pieces, randomText), fc.nat(1000), (text, size) => {
          checkInside(parseRange(text, size), size);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "Content-Range: formatContentRange round-trips, any text parses or is null",
    () => {
      fc.assert(
        fc.property(fc.nat(1e12), fc.nat(1e6), fc.nat(1e6), fc.oneof(randomText, textFrom(["bytes ", "*", "/", "-", "0", "12", " "])), (start, length, extra, text) => {
          const range = { start, end: start + length };
          expect(parseContentRange(formatContentRange(range, range.end + 1 + extra))).toEqual({ range, size: range.end + 1 + extra });
          const parsed = parseContentRange(text);
          if (parsed !== null && parsed.range !== null) {
            expect(parsed.range.start).toBeLessThanOrEqual(parsed.range.end);
            if (parsed.size !== null) expect(parsed.range.end).toBeLessThan(parsed.size);
          }
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );
});
