import { describe, it, expect } from "@jest/globals";
import {
  parseRange,
  mergeRanges,
  formatRange,
  formatContentRange,
  formatUnsatisfiedRange,
  parseContentRange,
  rangesLength,
  UNSATISFIABLE,
  byterangesFraming,
} from "../../../valum/index.js";

describe("parseRange", () => {
  it("reads first-last, open-ended and suffix ranges against the size", () => {
    expect(parseRange("bytes=0-9", 100)).toEqual([{ start: 0, end: 9 }]);
    expect(parseRange("bytes=90-", 100)).toEqual([{ start: 90, end: 99 }]);
    expect(parseRange("bytes=-10", 100)).toEqual([{ start: 90, end: 99 }]);
    expect(parseRange("bytes=-1000", 100)).toEqual([{ start: 0, end: 99 }]);
    expect(parseRange("bytes=50-1000", 100)).toEqual([{ start: 50, end: 99 }]);
    expect(parseRange("BYTES=0-0", 100)).toEqual([{ start: 0, end: 0 }]);
  });

  it("merges overlapping and touching ranges, keeping the order asked", () => {
    expect(parseRange("bytes=50-59,0-9,5-20,21-30", 100)).toEqual([
      { start: 50, end: 59 },
      { start: 0, end: 30 },
    ]);
    expect(parseRange("bytes=40-49,0-9", 100)).toEqual([
      { start: 40, end: 49 },
      { start: 0, end: 9 },
    ]);
    // a merged range takes the place of its first member
    expect(parseRange("bytes=90-99,10-19,50-59,15-55", 100)).toEqual([
      { start: 90, end: 99 },
      { start: 10, end: 59 },
    ]);
    expect(parseRange("bytes=0-1, 1-3 ,-2", 10)).toEqual([
      { start: 0, end: 3 },
      { start: 8, end: 9 },
    ]);
  });

  it("is unsatisfiable when no range overlaps, including on an empty representation", () => {
    expect(parseRange("bytes=100-", 100)).toBe(UNSATISFIABLE);
    expect(parseRange("bytes=-0", 100)).toBe(UNSATISFIABLE);
    expect(parseRange("bytes=0-", 0)).toBe(UNSATISFIABLE);
    expect(parseRange("bytes=-5", 0)).toBe(UNSATISFIABLE);
    // one bad range among good ones is dropped, not fatal
    expect(parseRange("bytes=200-300,0-1", 100)).toEqual([{ start: 0, end: 1 }]);
  });

  it("ignores (null) absent, malformed and other-unit headers", () => {
    for (const header of [null, "", "bytes", "bytes=", "bytes=,", "items=0-1", "bytes=a-b", "bytes=5-1", "bytes=1", "bytes=0x1-2", "bytes=-", "bytes=1-2-3", "bytes=+1-2", "bytes=1.5-2"]) {
      expect(parseRange(header, 100)).toBeNull();
    }
  });

  it("caps the number of ranges after merging, and refuses floods before sorting", () => {
    const many = "bytes=" + Array.from({ length: 17 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(",");
    expect(parseRange(many, 1000)).toBeNull();
    expect(parseRange(many, 1000, { maxRanges: 17 })).toHaveLength(17);
    const overlapping = "bytes=" + Array.from({ length: 200 }, () => "0-5").join(",");
    expect(parseRange(overlapping, 1000)).toBeNull(); // 200 > 16 * 8: not even merged
    const fewOverlapping = "bytes=" + Array.from({ length: 50 }, () => "0-5").join(",");
    expect(parseRange(fewOverlapping, 1000)).toEqual([{ start: 0, end: 5 }]);
  });

  it("saturates huge positions instead of losing precision", () => {
    expect(parseRange("bytes=0-99999999999999999999999", 10)).toEqual([{ start: 0, end: 9 }]);
    expect(parseRange("bytes=99999999999999999999999-", 10)).toBe(UNSATISFIABLE);
  });
});

describe("round trips", () => {
  it("formatRange and parseRange agree", () => {
    const ranges = [
      { start: 0, end: 4 },
      { start: 10, end: 19 },
    ];
    expect(parseRange(formatRange(ranges), 100)).toEqual(ranges);
  });

  it("formatContentRange and parseContentRange agree", () => {
    expect(formatContentRange({ start: 0, end: 9 }, 100)).toBe("bytes 0-9/100");
    expect(parseContentRange(formatContentRange({ start: 5, end: 9 }, 10))).toEqual({ range: { start: 5, end: 9 }, size: 10 });
    expect(formatUnsatisfiedRange(100)).toBe("bytes */100");
    expect(parseContentRange(formatUnsatisfiedRange(100))).toEqual({ range: null, size: 100 });
    expect(parseContentRange("bytes 0-9/*")).toEqual({ range: { start: 0, end: 9 }, size: null });
    for (const bad of ["bytes 9-0/10", "bytes 0-10/10", "bytes */*", "items 0-1/2", "bytes 0-1"]) expect(parseContentRange(bad)).toBeNull();
  });

  it("mergeRanges keeps disjoint ranges in their order and counts their length", () => {
    const merged = mergeRanges([
      { start: 20, end: 29 },
      { start: 0, end: 9 },
      { start: 9, end: 12 },
    ]);
    expect(merged).toEqual([
      { start: 20, end: 29 },
      { start: 0, end: 12 },
    ]);
    expect(rangesLength(merged)).toBe(23);
  });
});

describe("byterangesFraming", () => {
  it("frames each part with its Content-Type and Content-Range, and counts the whole length", () => {
    const content = Buffer.from("0123456789");
    const ranges = [
      { start: 0, end: 1 },
      { start: 5, end: 6 },
    ];
    const framing = byterangesFraming(ranges, content.length, "text/plain", "XyZ");
    expect(framing.contentType).toBe("multipart/byteranges; boundary=XyZ");
    const body = Buffer.concat([framing.heads[0]!, content.subarray(0, 2), framing.heads[1]!, content.subarray(5, 7), framing.tail]);
    expect(body.toString()).toBe(
      "--XyZ\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n01" +
        "\r\n--XyZ\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-6/10\r\n\r\n56" +
        "\r\n--XyZ--\r\n",
    );
    expect(framing.length).toBe(body.length);
    // each part's Content-Range parses back to its range
    const found = [...body.toString().matchAll(/Content-Range: ([^\r]+)/g)].map((m) => parseContentRange(m[1]!)!.range);
    expect(found).toEqual(ranges);
  });
});
