// Properties of the access log's formats (vsgi/log-format.ts over vsgi/log-buffer.ts): whatever
// a client sends in a logged field, a Combined Log Format line is printable ASCII ending in its
// one "\n", its fields read back byte for byte through Apache's escapes, and a JSON line parses
// back to the entry; lines written one after another into one buffer (grown as needed) are the
// lines written alone.
import { describe, it, expect } from "@jest/globals";
import fc from "fast-check";
import { formatCombined, formatJson, writeCombined, writeJson, type AccessEntry } from "../../../vsgi/log-format.js";
import { LogBuffer } from "../../../vsgi/log-buffer.js";
import { PROPERTY_TIMEOUT, params, randomText, textFrom } from "../../helpers/fuzz.js";

const PIECES = ['"', "\\", " ", "\n", "\r", "\t", "-", "[", "]", "\x00", "\x7f", "é", "\u2028", "😀", "\ud800", "\udc00", "\\x41"];
const text = fc.oneof(randomText, textFrom(PIECES, 16));
const maybe = fc.option(text, { nil: null });
// A space is printable and not escaped (Apache does not either): the unquoted fields read back
// only without one; a peer's address never has one.
const noSpace = fc.option(text.map((t) => t.replaceAll(" ", "_")), { nil: null });
const entry: fc.Arbitrary<AccessEntry> = fc.record({
  remoteAddress: noSpace,
  user: noSpace,
  time: fc.integer({ min: 0, max: 4102444800000 }),
  method: text,
  target: text,
  // the usual one too: the formats copy it with the text around it, without a look at its characters
  protocol: fc.oneof(fc.constant("HTTP/1.1"), text),
  status: fc.integer({ min: 100, max: 999 }),
  bytes: fc.oneof(fc.nat(), fc.maxSafeNat()),
  referer: maybe,
  userAgent: maybe,
  duration: fc.oneof(fc.nat(), fc.maxSafeNat()),
  worker: fc.nat({ max: 1000 }),
});

/** The bytes a field stands for: a character up to U+00FF as that byte (node's latin-1 headers), any other by its UTF-8 bytes. */
function bytesOf(value: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0xff) out.push(c);
    else {
      const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < value.length && value.charCodeAt(i + 1) >= 0xdc00 && value.charCodeAt(i + 1) <= 0xdfff;
      out.push(...Buffer.from(value.slice(i, pair ? i + 2 : i + 1), "utf8"));
      if (pair) i++;
    }
  }
  return out;
}

const NAMED: Record<string, number> = { '"': 34, "\\": 92, n: 10, r: 13, t: 9, b: 8, v: 11 };

/** Apache's escapes undone: the bytes a logged field stands for. */
function unescape(field: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < field.length; i++) {
    if (field[i] !== "\\") out.push(field.charCodeAt(i));
    else if (field[i + 1] === "x") {
      out.push(Number.parseInt(field.slice(i + 2, i + 4), 16));
      i += 3;
    } else out.push(NAMED[field[++i]!]!);
  }
  return out;
}

const QUOTED = String.raw`((?:[^"\\]|\\.)*)`;
const LINE = new RegExp(String.raw`^(\S+) - (\S+) \[[^\]]+\] "${QUOTED}" (\d+) (\d+|-) "${QUOTED}" "${QUOTED}" (\d+)\n$`);

/** What a field stands for: `-` for an unknown or empty one. */
function shown(value: string | null): number[] {
  return value === null || value.length === 0 ? [0x2d] : bytesOf(value);
}

describe("the Combined Log Format line", () => {
  it("is printable ASCII with one newline at its end, and its fields read back byte for byte", () => {
    fc.assert(
      fc.property(entry, (e) => {
        const line = formatCombined(e);
        expect(line).toMatch(/^[\x20-\x7e]*\n$/);
        const m = LINE.exec(line);
        expect(m).not.toBeNull();
        const [, address, user, request, status, bytes, referer, userAgent, duration] = m!;
        expect(unescape(address!)).toEqual(shown(e.remoteAddress));
        expect(unescape(user!)).toEqual(shown(e.user));
        expect(unescape(request!)).toEqual([...shown(e.method), 0x20, ...shown(e.target), 0x20, ...shown(e.protocol)]);
        expect(Number(status)).toBe(e.status);
        expect(bytes).toBe(e.bytes === 0 ? "-" : String(e.bytes));
        expect(unescape(referer!)).toEqual(shown(e.referer));
        expect(unescape(userAgent!)).toEqual(shown(e.userAgent));
        expect(Number(duration)).toBe(e.duration);
      }),
      params(),
    );
  }, PROPERTY_TIMEOUT);
});

describe("the JSON line", () => {
  it("parses back to the entry, one line", () => {
    fc.assert(
      fc.property(entry, (e) => {
        const line = formatJson(e);
        expect(line.indexOf("\n")).toBe(line.length - 1);
        const parsed = JSON.parse(line) as Record<string, unknown>;
        const { time, ...rest } = e;
        expect(parsed).toEqual({ time: new Date(time).toISOString(), ...rest });
      }),
      params(),
    );
  }, PROPERTY_TIMEOUT);
});

describe("a batch of lines", () => {
  it("is the lines written alone, one after another, however the buffer had to grow", () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 20 }), fc.integer({ min: 1, max: 512 }), (entries, size) => {
        const out = new LogBuffer(size);
        for (const e of entries) {
          writeCombined(out, e);
          writeJson(out, e);
        }
        expect(out.toString()).toBe(entries.map((e) => formatCombined(e) + formatJson(e)).join(""));
        out.clear();
        expect(out.length).toBe(0);
        expect(out.bytes.length).toBe(size);
      }),
      params(),
    );
  }, PROPERTY_TIMEOUT);
});
