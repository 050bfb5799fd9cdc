import { describe, it, expect } from "@jest/globals";
import Negotiator from "negotiator";
import {
  parseExpectations,
  rankExpectations,
  chooseExpectation,
  negotiationKind,
  ExpectationError,
  ENCODING_PREFERENCE,
  type NegotiationKind,
} from "../../../valum/index.js";

function rank(kind: NegotiationKind, header: string | null, offers: string): string[] {
  return rankExpectations(kind, header, parseExpectations(kind, offers)).map((e) => e.value);
}

describe("parseExpectations", () => {
  it("reads values with optional q-values, keeping other parameters", () => {
    expect(parseExpectations("accept", "application/json, text/html; q=0.9").map((e) => [e.value, e.q])).toEqual([
      ["application/json", 1000],
      ["text/html", 900],
    ]);
    const [html] = parseExpectations("accept", 'Text/HTML ; Charset="utf-8" ;q=0.5');
    expect(html!.value).toBe("Text/HTML; charset=utf-8");
    expect(html!.q).toBe(500);
    expect(parseExpectations("accept-language", "en-GB, fr;q=0").map((e) => [e.value, e.q])).toEqual([
      ["en-GB", 1000],
      ["fr", 0],
    ]);
    expect(parseExpectations("accept-encoding", "br;q=1.000, gzip;q=0.001,, deflate").map((e) => e.q)).toEqual([1000, 1, 1000]);
    expect(parseExpectations("token", "a;q=1, B").map((e) => e.value)).toEqual(["a", "B"]);
    expect(() => parseExpectations("token", 'a, "b"')).toThrow('"\\"b\\"" is not a token');
  });

  it("refuses what a server cannot mean", () => {
    const bad: [NegotiationKind, string][] = [
      ["accept", ""],
      ["accept", " , "],
      ["accept", "text"],
      ["accept", "*/*"],
      ["accept", "text/*"],
      ["accept", "text/html; q=1.1"],
      ["accept", "text/html; q=0.1234"],
      ["accept", "text/html; q=.5"],
      ["accept", "text/html; q="],
      ["accept", "text/html, text/HTML"],
      ["accept", "text/html; a=\"\r\n\""],
      ["accept-language", "fr, é"],
      ["accept-language", "*"],
      ["accept-language", "en_GB"],
      ["accept-language", "toolongtag"],
      ["accept-charset", "utf-8; foo=bar"],
      ["accept-encoding", "g zip"],
      ["token", "a b"],
    ];
    for (const [kind, text] of bad) expect(() => parseExpectations(kind, text)).toThrow(ExpectationError);
  });

  it("names the kind of each header", () => {
    expect(negotiationKind("ACCEPT")).toBe("accept");
    expect(negotiationKind("Accept-Encoding")).toBe("accept-encoding");
    expect(negotiationKind("Accept-Ranges")).toBe("token");
  });
});

describe("rankExpectations", () => {
  it("multiplies the client's q-value by the server's", () => {
    expect(rank("accept", "text/html, application/json; q=0.8", "application/json, text/html; q=0.9")).toEqual(["text/html", "application/json"]);
    expect(rank("accept", "text/html; q=0.5, application/json; q=0.5", "application/json; q=0.5, text/html")).toEqual(["text/html", "application/json"]);
    expect(rank("accept", null, "a/b; q=0.2, c/d; q=0.7")).toEqual(["c/d", "a/b"]);
    // thousandths multiply exactly: 0.3 × 0.1 ties 0.1 × 0.3
    expect(rank("accept", "a/b; q=0.3, c/d; q=0.1", "a/b; q=0.1, c/d; q=0.3")).toEqual(["a/b", "c/d"]);
  });

  it("media type rules: specificity, parameters, wildcards, suffixes", () => {
    expect(rank("accept", "text/*; q=0.5, text/html; level=1", "text/html; level=1, text/html; level=2")).toEqual(["text/html; level=1", "text/html; level=2"]);
    expect(rank("accept", "text/html; level=1", "text/html")).toEqual([]);
    expect(rank("accept", "*/*; q=0.1, image/*", "text/html, image/png")).toEqual(["image/png", "text/html"]);
    expect(rank("accept", "application/json", "application/ld+json, application/foo+xml")).toEqual(["application/ld+json"]);
    expect(rank("accept", "application/xml", "application/atom+xml")).toEqual(["application/atom+xml"]);
    expect(rank("accept", "application/*+cbor", "application/x+cbor, application/cbor")).toEqual(["application/x+cbor"]);
    expect(rank("accept", "application/cbor", "application/x+cbor")).toEqual([]); // generic reading only for json and xml
    expect(rank("accept", "text/json", "application/ld+json")).toEqual([]);
    expect(rank("accept", "text/html; charset=latin1", "text/html; charset=ISO-8859-1, text/html; charset=utf-8")).toEqual(["text/html; charset=ISO-8859-1"]);
  });

  it("languages: a range covers its subtags, a tag accepts its prefixes", () => {
    expect(rank("accept-language", "fr-CA", "en, fr")).toEqual(["fr"]);
    expect(rank("accept-language", "fr", "en, fr-CA, fr-FR")).toEqual(["fr-CA", "fr-FR"]);
    expect(rank("accept-language", "zh-Hant-TW", "zh-Hant, zh")).toEqual(["zh-Hant", "zh"]);
    expect(rank("accept-language", "fr-CA, fr; q=0.8", "fr, fr-CA")).toEqual(["fr-CA", "fr"]);
    expect(rank("accept-language", "en-US", "en-GB")).toEqual([]);
    expect(rank("accept-language", "frx", "fr")).toEqual([]);
  });

  it("codings: br, gzip, deflate on ties; identity implied but never ahead of a named coding", () => {
    expect(ENCODING_PREFERENCE.slice(0, 3)).toEqual(["br", "gzip", "deflate"]);
    expect(rank("accept-encoding", "deflate, gzip, br", "deflate, gzip, br, identity")).toEqual(["br", "gzip", "deflate", "identity"]);
    expect(rank("accept-encoding", "gzip;q=0.4", "gzip, identity")).toEqual(["gzip", "identity"]);
    expect(rank("accept-encoding", "gzip, identity;q=0", "gzip, identity")).toEqual(["gzip"]);
    expect(rank("accept-encoding", "gzip, *;q=0", "br, identity")).toEqual([]);
    expect(rank("accept-encoding", "*;q=0.5, identity", "br, identity")).toEqual(["identity", "br"]);
    expect(rank("accept-encoding", "", "br, identity")).toEqual(["identity"]);
    expect(rank("accept-encoding", null, "br, identity")).toEqual(["identity"]);
  });

  it("charsets by IANA name and alias; tokens by case-insensitive equality", () => {
    expect(rank("accept-charset", "Latin1", "UTF-8, ISO-8859-1")).toEqual(["ISO-8859-1"]);
    expect(rank("accept-charset", "us, *;q=0.1", "UTF-8, US-ASCII")).toEqual(["US-ASCII", "UTF-8"]);
    expect(rank("token", "BYTES", "none, bytes")).toEqual(["bytes"]);
  });

  it("disregards a header that names nothing of its kind, and elements it cannot read", () => {
    expect(rank("accept", ";;,;", "a/b, c/d")).toEqual(["a/b", "c/d"]);
    expect(rank("accept", "c/d; q=x, a/b; q=0.5", "a/b, c/d")).toEqual(["a/b"]);
    expect(rank("accept", "c/d; q=2", "a/b, c/d")).toEqual(["a/b", "c/d"]);
    expect(chooseExpectation("accept-language", "\u0000", parseExpectations("accept-language", "en"))?.value).toBe("en");
  });

  it("reads hostile headers without an error (a linear scanner, no backtracking)", () => {
    const offers = parseExpectations("accept", "text/html, application/json");
    for (const header of ["a/" + "b;".repeat(20000), '"'.repeat(40000), ";=".repeat(20000), "*/*;" + 'a="\\'.repeat(10000)]) {
      expect(rankExpectations("accept", header, offers).length).toBeLessThanOrEqual(2);
    }
    expect(rank("accept", "text/html;q=0." + "0".repeat(40000) + ", */*;q=0.5", "text/html, application/json")).toEqual(["application/json"]);
  });
});

// With every server q-value 1 the ranking must be negotiator's: the same rules, read the same way.
describe("agrees with negotiator when the server weighs nothing", () => {
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed >>> 8) % n; // the low bits of this generator repeat with short periods
  };
  const pick = <T>(list: readonly T[]) => list[random(list.length)]!;
  const qs = ["", ";q=0", ";q=0.5", ";q=1", ";q=0.25", ";q=0.001", ";q=0.5"];
  function header(values: readonly string[]): string {
    const count = 1 + random(5);
    const parts: string[] = [];
    for (let i = 0; i < count; i++) parts.push(pick(values) + pick(qs));
    return parts.join(", ");
  }
  function shuffled(values: readonly string[]): string[] {
    const out = values.filter(() => random(3) !== 0);
    return out.length === 0 ? [values[0]!] : out;
  }

  it("media types", () => {
    const types = ["text/html", "text/plain", "application/json", "image/png"];
    const ranges = [...types, "text/*", "image/*", "*/*", "text/html;level=1"];
    for (let i = 0; i < 500; i++) {
      const h = header(ranges);
      const offers = shuffled(types);
      expect([h, rank("accept", h, offers.join(", "))]).toEqual([h, new Negotiator({ headers: { accept: h } }).mediaTypes(offers)]);
    }
  });

  it("languages", () => {
    const tags = ["en", "en-GB", "fr", "fr-CA", "de"];
    for (let i = 0; i < 500; i++) {
      const h = header([...tags, "*", "en-US"]);
      const offers = shuffled(tags);
      expect([h, rank("accept-language", h, offers.join(", "))]).toEqual([h, new Negotiator({ headers: { "accept-language": h } }).languages(offers)]);
    }
  });

  it("charsets", () => {
    const names = ["utf-8", "iso-8859-1", "koi8-r", "shift_jis"];
    for (let i = 0; i < 500; i++) {
      const h = header([...names, "*"]);
      const offers = shuffled(names);
      expect([h, rank("accept-charset", h, offers.join(", "))]).toEqual([h, new Negotiator({ headers: { "accept-charset": h } }).charsets(offers)]);
    }
  });

  it("codings, with br, gzip, deflate, identity as the preferred order", () => {
    for (let i = 0; i < 500; i++) {
      const h = header(["br", "gzip", "deflate", "identity", "*"]);
      const offers = ENCODING_PREFERENCE.filter(() => random(4) !== 0);
      if (offers.length === 0) continue;
      const theirs = (new Negotiator({ headers: { "accept-encoding": h } }).encodings as (a: string[], o: { preferred: string[] }) => string[])(offers, {
        preferred: offers,
      });
      expect([h, rank("accept-encoding", h, offers.join(", "))]).toEqual([h, theirs]);
    }
  });
});
