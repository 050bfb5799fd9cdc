import { describe, it, expect } from "@jest/globals";
import { formatMediaType, isMultipartBoundary, MediaTypeError, parseMediaType } from "../../../valum/http/media-type.js";
import { random as seeded, int } from "../../helpers/random.js";

describe("parseMediaType", () => {
  it("reads the essence lower-cased and the parameters, quoted or not", () => {
    const t = parseMediaType('Multipart/Form-Data; Boundary="a b\\"c"; charset=UTF-8');
    expect(t.type).toBe("multipart");
    expect(t.subtype).toBe("form-data");
    expect(t.essence).toBe("multipart/form-data");
    expect([...t.parameters]).toEqual([
      ["boundary", 'a b"c'],
      ["charset", "UTF-8"],
    ]);
  });

  it("takes OWS around semicolons and empty parameters", () => {
    expect([...parseMediaType(" text/plain ;; charset=utf-8 ; ").parameters]).toEqual([["charset", "utf-8"]]);
    expect(parseMediaType("text/plain").parameters.size).toBe(0);
  });

  it.each([
    ["", /type/],
    ["text", /"\/"/],
    ["text/", /subtype/],
    ["text /plain", /"\/"/],
    ["text/plain charset=x", /";"/],
    ["text/plain; charset", /"="/],
    ["text/plain; charset=", /value of the parameter charset/],
    ["text/plain; charset = x", /"="/],
    ['text/plain; a="open', /the value of a at 14 is not a well-formed quoted-string/],
    ['text/plain; a="\u0001"', /the value of a at 14 is not a well-formed quoted-string/],
    ["text/plain; a=1; A=2", /repeated/],
    ["text/plain; a=é", /value of the parameter a/],
  ])("throws a MediaTypeError for %j", (value, message) => {
    expect(() => parseMediaType(value)).toThrow(MediaTypeError);
    expect(() => parseMediaType(value)).toThrow(message);
  });

  it("round-trips through formatMediaType", () => {
    const cases = ["multipart/form-data; boundary=abc", 'multipart/form-data; boundary="a b"', 'text/plain; x="q\\"\\\\"; y=z'];
    for (const text of cases) {
      const parsed = parseMediaType(text);
      expect(formatMediaType(parsed)).toBe(text);
      expect(parseMediaType(formatMediaType(parsed))).toEqual(parsed);
    }
  });

  it("gives back random media types, and throws nothing but MediaTypeError on mutated ones", () => {
    const rand = seeded(20261204);
    const alphabet = 'abcXYZ09-+.!#"\\ ;=/\t(),:é';
    for (let n = 0; n < 2000; n++) {
      const parameters = new Map<string, string>();
      for (let p = int(rand, 4); p > 0; p--) {
        let value = "";
        for (let k = int(rand, 8); k > 0; k--) value += alphabet[int(rand, alphabet.length)];
        parameters.set(`p${p}`, value);
      }
      const original = { type: "text", subtype: "x-" + n, parameters };
      const text = formatMediaType(original);
      const parsed = parseMediaType(text);
      expect(parsed.essence).toBe(`text/x-${n}`);
      expect(parsed.parameters).toEqual(parameters);
      const chars = [...text];
      for (let m = int(rand, 4); m >= 0; m--) chars.splice(int(rand, chars.length + 1), int(rand, 2), alphabet[int(rand, alphabet.length)]!);
      try {
        parseMediaType(chars.join(""));
      } catch (error) {
        expect(error).toBeInstanceOf(MediaTypeError);
      }
    }
  });

  it("refuses to format what a header cannot carry", () => {
    expect(() => formatMediaType({ type: "te xt", subtype: "plain", parameters: new Map() })).toThrow(MediaTypeError);
    expect(() => formatMediaType({ type: "text", subtype: "plain", parameters: new Map([["a", "\u0000"]]) })).toThrow(MediaTypeError);
  });
});

describe("isMultipartBoundary", () => {
  it("follows RFC 2046: 1 to 70 bchars, no trailing space", () => {
    expect(isMultipartBoundary("----WebKitFormBoundary7MA4YWxkTrZu0gW")).toBe(true);
    expect(isMultipartBoundary("a b'()+_,-./:=?")).toBe(true);
    expect(isMultipartBoundary("x".repeat(70))).toBe(true);
    expect(isMultipartBoundary("x".repeat(71))).toBe(false);
    expect(isMultipartBoundary("")).toBe(false);
    expect(isMultipartBoundary("ab ")).toBe(false);
    expect(isMultipartBoundary('a"b')).toBe(false);
    expect(isMultipartBoundary("a\r\nb")).toBe(false);
  });
});
