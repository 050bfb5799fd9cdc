import { describe, it, expect } from "@jest/globals";
import {
  TRANSCODABLE_CHARSETS,
  canonicalCharset,
  charsetKey,
  contentTypeCharset,
  withCharset,
  isTextType,
  encodeText,
  charsetPreamble,
} from "../../../valum/index.js";

describe("charset names", () => {
  it("reads IANA aliases in any case", () => {
    expect(canonicalCharset("latin1")).toBe("ISO-8859-1");
    expect(canonicalCharset(" ISO_8859-1:1987 ")).toBe("ISO-8859-1");
    expect(canonicalCharset("ascii")).toBe("US-ASCII");
    expect(canonicalCharset("utf8")).toBe("UTF-8");
    expect(canonicalCharset("UTF-16be")).toBe("UTF-16BE");
    expect(canonicalCharset("windows-1252")).toBeNull();
    expect(canonicalCharset("shift_jis")).toBeNull();
    for (const name of TRANSCODABLE_CHARSETS) expect(canonicalCharset(name)).toBe(name);
  });

  it("compares unknown charsets by lower-case name", () => {
    expect(charsetKey("Latin1")).toBe(charsetKey("iso-8859-1"));
    expect(charsetKey("KOI8-R")).toBe("koi8-r");
  });
});

describe("the charset parameter", () => {
  it("reads it, quoted or not", () => {
    expect(contentTypeCharset("text/html; charset=utf-8")).toBe("utf-8");
    expect(contentTypeCharset('text/html;CHARSET="ISO-8859-1"')).toBe("ISO-8859-1");
    expect(contentTypeCharset("text/html")).toBeNull();
  });

  it("sets or replaces it, the other parameters kept as written; round trips", () => {
    expect(withCharset("text/html", "UTF-8")).toBe("text/html; charset=UTF-8");
    expect(withCharset("text/html; charset=UTF-8", "ISO-8859-1")).toBe("text/html; charset=ISO-8859-1");
    expect(withCharset('text/html;level=1; Charset="x;y"; a="b;c"', "US-ASCII")).toBe('text/html; level=1; charset=US-ASCII; a="b;c"');
    expect(withCharset("text/html; =broken", "US-ASCII")).toBe("text/html; =broken");
    expect(contentTypeCharset("text/html; charset")).toBeNull();
    expect(isTextType("text")).toBe(false);
    for (const type of ["text/plain", 'text/csv; header=present; q="a;b"', "application/xml; charset=utf-8"]) {
      for (const charset of TRANSCODABLE_CHARSETS) expect(contentTypeCharset(withCharset(type, charset))).toBe(charset);
    }
  });

  it("applies to text types and to types written with a charset", () => {
    expect(isTextType("text/csv")).toBe(true);
    expect(isTextType("application/xml; charset=utf-8")).toBe(true);
    expect(isTextType("application/json")).toBe(false);
    expect(isTextType("image/png")).toBe(false);
  });
});

describe("encodeText", () => {
  const text = "aé€😀";
  it("encodes into each transcodable charset, ? for what it cannot represent", () => {
    expect(encodeText(text, "UTF-8")).toEqual(Buffer.from(text, "utf8"));
    expect(encodeText(text, "ISO-8859-1")).toEqual(Buffer.from([0x61, 0xe9, 0x3f, 0x3f]));
    expect(encodeText(text, "US-ASCII")).toEqual(Buffer.from("a???", "latin1"));
    expect(encodeText(text, "UTF-16LE").toString("utf16le")).toBe(text);
    expect(Buffer.from(encodeText(text, "UTF-16BE")).swap16().toString("utf16le")).toBe(text);
    expect(new TextDecoder("utf-16be").decode(encodeText(text, "UTF-16BE"))).toBe(text);
    expect(new TextDecoder("utf-16").decode(Buffer.concat([charsetPreamble("UTF-16"), encodeText(text, "UTF-16")]))).toBe(text);
    expect(charsetPreamble("UTF-8").length).toBe(0);
    expect(() => encodeText(text, "KOI8-R")).toThrow(RangeError);
  });

  it("round trips what each charset can hold", () => {
    const latin = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");
    expect(encodeText(latin, "ISO-8859-1").toString("latin1")).toBe(latin);
    expect(encodeText(latin.slice(0, 128), "US-ASCII").toString("latin1")).toBe(latin.slice(0, 128));
  });
});
