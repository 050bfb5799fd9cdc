import { describe, it, expect } from "@jest/globals";
import { mergeVary, parseVary, parseContentCoding, serializeContentCoding, parseContentLength } from "../../../valum/index.js";
import { quoteString, splitList, unquoteString } from "../../../valum/http/tokens.js";
import { random } from "../../helpers/random.js";

describe("tokens", () => {
  it("splits lists outside quoted-strings, dropping empty elements", () => {
    expect(splitList('a, b="x,y", , c,')).toEqual(["a", 'b="x,y"', "c"]);
    expect(splitList('a="\\",", b')).toEqual(['a="\\","', "b"]);
    expect(splitList('a="open')).toBeNull();
  });

  it("quotes and unquotes as inverses", () => {
    for (const text of ["", "plain", 'a "b" \\ c', "tab\there", "é"]) expect(unquoteString(quoteString(text))).toBe(text);
    expect(() => quoteString("a\r\nb")).toThrow(RangeError);
    expect(unquoteString('"a"b"')).toBeNull();
    expect(unquoteString('"a\\"')).toBeNull();
    expect(unquoteString("a")).toBeNull();
  });
});

describe("Vary", () => {
  it("adds names once, whatever their case, after the ones there", () => {
    expect(mergeVary(null, ["Origin"])).toBe("Origin");
    expect(mergeVary("Accept-Encoding", ["Origin"])).toBe("Accept-Encoding, Origin");
    expect(mergeVary("accept-encoding, origin", ["Origin", "Accept-Encoding"])).toBe("accept-encoding, origin");
    expect(mergeVary("", ["Origin", "origin"])).toBe("Origin");
  });

  it("lets * absorb everything", () => {
    expect(mergeVary("Accept, *", ["Origin"])).toBe("*");
    expect(mergeVary("Accept", ["*"])).toBe("*");
    expect(parseVary("a, *, b")).toEqual(["*"]);
  });

  it("refuses a name that is no token", () => {
    expect(() => mergeVary(null, ["bad name"])).toThrow(RangeError);
  });

  it("round-trips: parsing a merged value gives the names, each once", () => {
    const rnd = random(3);
    const names = ["Origin", "origin", "Accept", "Accept-Encoding", "X-A"];
    for (let n = 0; n < 500; n++) {
      const pick = Array.from({ length: Math.floor(rnd() * 5) }, () => names[Math.floor(rnd() * names.length)]!);
      const merged = mergeVary(null, pick);
      const parsed = parseVary(merged);
      expect(new Set(parsed.map((x) => x.toLowerCase())).size).toBe(parsed.length);
      expect(mergeVary(merged, pick)).toBe(merged);
    }
  });
});

describe("Content-Encoding", () => {
  it("lists the codings in the order applied, lower case, aliases and identity resolved", () => {
    expect(parseContentCoding("gzip")).toEqual(["gzip"]);
    expect(parseContentCoding("deflate, GZIP")).toEqual(["deflate", "gzip"]);
    expect(parseContentCoding("x-gzip")).toEqual(["gzip"]);
    expect(parseContentCoding("identity, , br")).toEqual(["br"]);
    expect(parseContentCoding("identity")).toEqual([]);
  });

  it("refuses elements that are no token", () => {
    for (const value of ["gzip;q=1", "gzip br", '"gzip"', "gzip, a/b"]) expect(parseContentCoding(value)).toBeNull();
  });

  it("round-trips", () => {
    for (const codings of [["gzip"], ["deflate", "gzip"], ["br", "gzip", "deflate"], []]) {
      expect(parseContentCoding(serializeContentCoding(codings))).toEqual(codings);
    }
    expect(() => serializeContentCoding(["a b"])).toThrow(RangeError);
  });

  it("never throws on random input", () => {
    const rnd = random(11);
    const alphabet = ["gzip", ",", " ", "x-", "identity", ";", '"', "br", "\t", "é"];
    for (let n = 0; n < 2000; n++) {
      let text = "";
      for (let i = Math.floor(rnd() * 8); i > 0; i--) text += alphabet[Math.floor(rnd() * alphabet.length)];
      const parsed = parseContentCoding(text);
      if (parsed !== null) expect(parseContentCoding(serializeContentCoding(parsed))).toEqual(parsed);
    }
  });
});

describe("Content-Length", () => {
  it("reads a length, or a list of one repeated length", () => {
    expect(parseContentLength("0")).toBe(0);
    expect(parseContentLength(" 42 ")).toBe(42);
    expect(parseContentLength("42, 42")).toBe(42);
  });

  it("refuses anything else", () => {
    for (const value of ["", "-1", "1.5", "0x10", "42, 43", "1e3", "9999999999999999", "4 2"]) expect(parseContentLength(value)).toBeNull();
  });
});
