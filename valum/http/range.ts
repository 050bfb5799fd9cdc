/**
 * Byte ranges (RFC 9110 section 14): parsing `Range` against a representation's size, merging
 * overlapping ranges, capping their number, and `Content-Range` both ways. Pure functions.
 */

/** One satisfiable byte range, both ends inclusive, as in `bytes=0-99`. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** Options of `parseRange`. */
export interface RangeOptions {
  /**
   * How many ranges (after merging) a request may ask for; more and the header is ignored (a
   * whole `200`), as nginx does, so that a thousand tiny ranges cannot multiply the work.
   * @default 16
   */
  maxRanges?: number;
}

/** The defaults of `parseRange`. */
export const RANGE_DEFAULTS = Object.freeze({ maxRanges: 16 });

/** What `parseRange` returns when no range of a valid header overlaps the representation (416). */
export const UNSATISFIABLE = "unsatisfiable";

// 15 digits stay exact in a double; a longer position is bigger than any file anyway.
const MAX_DIGITS = 15;

/** A decimal position; `NaN` when not 1*DIGIT; a huge one saturates (past any file's end). */
function parsePosition(text: string): number {
  if (text.length === 0) return NaN;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return NaN;
  }
  return text.length > MAX_DIGITS ? Number.MAX_SAFE_INTEGER : Number(text);
}

/**
 * Parses a `Range` header for a representation of `size` bytes. Returns the ranges to send,
 * merged where they overlap or touch, in the order asked; `UNSATISFIABLE` when the header is valid but
 * no range overlaps (answer 416); `null` when the header is to be ignored (absent, another
 * unit, malformed, or more ranges than `maxRanges`): answer the whole representation.
 *
 * @example parseRange("bytes=0-1,1-3,-2", 10); // [{ start: 0, end: 3 }, { start: 8, end: 9 }]
 * @example parseRange("bytes=8-9,0-1", 10);     // [{ start: 8, end: 9 }, { start: 0, end: 1 }]
 */
export function parseRange(header: string | null, size: number, options?: RangeOptions): ByteRange[] | typeof UNSATISFIABLE | null {
  if (header === null) return null;
  const eq = header.indexOf("=");
  if (eq === -1 || header.slice(0, eq).trim().toLowerCase() !== "bytes") return null;
  const maxRanges = options?.maxRanges ?? RANGE_DEFAULTS.maxRanges;
  const specs = header.slice(eq + 1).split(",");
  const ranges: { start: number; end: number }[] = [];
  let any = false;
  for (const raw of specs) {
    const spec = raw.trim();
    if (spec.length === 0) continue; // the list rule allows empty elements
    any = true;
    const dash = spec.indexOf("-");
    if (dash === -1) return null;
    const first = spec.slice(0, dash);
    const last = spec.slice(dash + 1);
    if (first.length === 0) {
      const suffix = parsePosition(last);
      if (Number.isNaN(suffix)) return null;
      if (suffix === 0 || size === 0) continue; // unsatisfiable, the others may be fine
      ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
    } else {
      const start = parsePosition(first);
      const end = last.length === 0 ? Infinity : parsePosition(last);
      if (Number.isNaN(start) || Number.isNaN(end) || end < start) return null;
      if (start >= size) continue;
      ranges.push({ start, end: Math.min(end, size - 1) });
    }
    // a flood of ranges is refused before merging it
    if (ranges.length > maxRanges * 8) return null;
  }
  if (!any) return null;
  if (ranges.length === 0) return UNSATISFIABLE;
  const merged = mergeRanges(ranges);
  return merged.length > maxRanges ? null : merged;
}

/**
 * Merges ranges that overlap or touch (RFC 9110 section 14.2 lets a server coalesce them, and
 * overlapping ranges are a known amplification trick). The result keeps the order in which
 * the client asked (a merged range takes the place of its first member), as the RFC asks of
 * multipart answers.
 *
 * @example mergeRanges([{ start: 5, end: 9 }, { start: 0, end: 5 }, { start: 20, end: 29 }]); // [{ start: 0, end: 9 }, { start: 20, end: 29 }]
 * @example mergeRanges([{ start: 50, end: 59 }, { start: 0, end: 9 }]); // unchanged: disjoint
 */
export function mergeRanges(ranges: readonly ByteRange[]): ByteRange[] {
  if (ranges.length <= 1) return ranges.map((r) => ({ start: r.start, end: r.end }));
  const order = ranges.map((range, index) => ({ start: range.start, end: range.end, index }));
  order.sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: { start: number; end: number; index: number }[] = [{ ...order[0]! }];
  for (let i = 1; i < order.length; i++) {
    const range = order[i]!;
    const last = merged[merged.length - 1]!;
    if (range.start <= last.end + 1) {
      if (range.end > last.end) last.end = range.end;
      if (range.index < last.index) last.index = range.index;
    } else {
      merged.push({ ...range });
    }
  }
  merged.sort((a, b) => a.index - b.index);
  return merged.map((r) => ({ start: r.start, end: r.end }));
}

/**
 * Serialises a range back into a `Range` header value.
 *
 * @example formatRange([{ start: 0, end: 9 }]); // "bytes=0-9"
 */
export function formatRange(ranges: readonly ByteRange[]): string {
  return "bytes=" + ranges.map((r) => `${r.start}-${r.end}`).join(",");
}

/**
 * The `Content-Range` of a part: `bytes start-end/size`.
 *
 * @example formatContentRange({ start: 0, end: 9 }, 100); // "bytes 0-9/100"
 */
export function formatContentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

/**
 * The `Content-Range` of a 416: `bytes *\/size`.
 *
 * @example formatUnsatisfiedRange(100); // "bytes *\/100"
 */
export function formatUnsatisfiedRange(size: number): string {
  return `bytes */${size}`;
}

/**
 * Parses a `Content-Range` header (`bytes 0-9/100`, `bytes 0-9/*`, `bytes *\/100`); `null` when
 * malformed. `range` is `null` for the unsatisfied form, `size` is `null` when unknown (`*`).
 *
 * @example parseContentRange("bytes 0-9/100"); // { range: { start: 0, end: 9 }, size: 100 }
 */
export function parseContentRange(header: string): { range: ByteRange | null; size: number | null } | null {
  const match = /^bytes (?:(\d{1,15})-(\d{1,15})|\*)\/(\d{1,15}|\*)$/i.exec(header.trim());
  if (match === null) return null;
  const size = match[3] === "*" ? null : Number(match[3]);
  if (match[1] === undefined) return size === null ? null : { range: null, size };
  const range = { start: Number(match[1]), end: Number(match[2]) };
  if (range.end < range.start || (size !== null && range.end >= size)) return null;
  return { range, size };
}

/** The total number of bytes `ranges` cover. @example rangesLength([{ start: 0, end: 9 }]); // 10 */
export function rangesLength(ranges: readonly ByteRange[]): number {
  let total = 0;
  for (const r of ranges) total += r.end - r.start + 1;
  return total;
}

/** The framing of a `multipart/byteranges` body: what goes before each part, the end, the total length. */
export interface ByterangesFraming {
  /** The `Content-Type` of the whole answer, with its boundary. */
  readonly contentType: string;
  /** Before each part: the delimiter and the part's `Content-Type` and `Content-Range`. */
  readonly heads: Buffer[];
  /** The closing delimiter. */
  readonly tail: Buffer;
  /** The whole body's length: heads, the ranges' bytes, the tail (its Content-Length). */
  readonly length: number;
}

/**
 * Frames several ranges as `multipart/byteranges` (RFC 9110 section 14.6): each part carries
 * the representation's `Content-Type` and its `Content-Range`. `boundary` must not occur in the
 * content: pass enough random characters.
 *
 * @example
 * const f = byterangesFraming([{ start: 0, end: 1 }, { start: 5, end: 6 }], 10, "text/plain", "b0undary");
 * // f.heads[0] = "--b0undary\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n"
 */
export function byterangesFraming(ranges: readonly ByteRange[], size: number, type: string, boundary: string): ByterangesFraming {
  const heads = ranges.map((range, i) =>
    Buffer.from(`${i === 0 ? "" : "\r\n"}--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: ${formatContentRange(range, size)}\r\n\r\n`, "latin1"),
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, "latin1");
  let length = tail.length + rangesLength(ranges);
  for (const head of heads) length += head.length;
  return { contentType: `multipart/byteranges; boundary=${boundary}`, heads, tail, length };
}
