import { describe, it, expect } from "@jest/globals";
import { checkCacheDirectives, parseCacheControl, serializeCacheControl, type CacheDirectives } from "../../../valum/index.js";
import { random } from "../../helpers/random.js";

describe("serializeCacheControl", () => {
  it("writes the directives in a fixed order with their arguments", () => {
    expect(serializeCacheControl({ immutable: true, maxAge: 31536000, public: true })).toBe("public, max-age=31536000, immutable");
    expect(serializeCacheControl({ noCache: ["Set-Cookie", "X-A"], private: true })).toBe('private, no-cache="Set-Cookie, X-A"');
    expect(serializeCacheControl({ sMaxage: 60, staleWhileRevalidate: 30, staleIfError: 600, mustRevalidate: true })).toBe(
      "s-maxage=60, must-revalidate, stale-while-revalidate=30, stale-if-error=600",
    );
    expect(serializeCacheControl({ noStore: true, noTransform: false })).toBe("no-store");
    expect(serializeCacheControl({ extensions: [["community", "UCI"], ["x-note", "two words"], ["flag"]] })).toBe(
      'community=UCI, x-note="two words", flag',
    );
  });

  it("sends seconds past 2^31 as 2^31 (RFC 9111 1.2.2)", () => {
    expect(serializeCacheControl({ maxAge: 2 ** 40 })).toBe("max-age=2147483648");
  });

  it("names the directive at fault", () => {
    const cases: [unknown, string][] = [
      [{ maxAge: -1 }, "maxAge"],
      [{ maxAge: 1.5 }, "maxAge"],
      [{ maxAge: "60" }, "maxAge"],
      [{ public: "yes" }, "public"],
      [{ noCache: [] }, "noCache"],
      [{ noCache: ["bad name"] }, "noCache"],
      [{ public: true, private: true }, "public"],
      [{ "max-age": 60 }, "max-age"],
      [{ extensions: [["max-age", "1"]] }, "extensions"],
      [{ extensions: [["ok", "line\nbreak"]] }, "extensions"],
    ];
    for (const [directives, field] of cases) {
      expect(checkCacheDirectives(directives as CacheDirectives)?.field).toBe(field);
      expect(() => serializeCacheControl(directives as CacheDirectives)).toThrow(RangeError);
    }
    expect(checkCacheDirectives({ "max-age": 60 } as CacheDirectives)?.wanted).toContain("write maxAge");
  });
});

describe("parseCacheControl", () => {
  it("reads names case-insensitively, token and quoted arguments", () => {
    expect(parseCacheControl('Max-Age=60, PRIVATE="Set-Cookie", no-cache=X-A, max-stale, foo="a\\"b"')).toEqual({
      maxAge: 60,
      private: ["Set-Cookie"],
      noCache: ["X-A"],
      maxStale: true,
      extensions: [["foo", 'a"b']],
    });
    expect(parseCacheControl("max-stale=10, min-fresh=5, only-if-cached")).toEqual({ maxStale: 10, minFresh: 5, onlyIfCached: true });
  });

  it("keeps the first of a repeated directive (RFC 9111 4.2.1) and skips empty elements", () => {
    expect(parseCacheControl("max-age=5, , max-age=600,")).toEqual({ maxAge: 5 });
  });

  it("refuses what is malformed", () => {
    for (const value of ['max-age="', "max-age=abc", "max-age", "public=1", "bad name", 'no-cache=""', "a=b c", "x=\"\x01\""]) {
      expect(parseCacheControl(value)).toBeNull();
    }
  });

  it("round-trips what it serialises", () => {
    const samples: CacheDirectives[] = [
      { public: true, maxAge: 3600, immutable: true },
      { private: ["Set-Cookie"], noCache: true, noStore: true, mustUnderstand: true, proxyRevalidate: true },
      { sMaxage: 0, staleWhileRevalidate: 1, staleIfError: 2, noTransform: true, mustRevalidate: true },
      { maxStale: 30, minFresh: 1, onlyIfCached: true },
      { extensions: [["community", "UCI"], ["note", "a, b \"c\""], ["flag"]] },
    ];
    for (const sample of samples) expect(parseCacheControl(serializeCacheControl(sample))).toEqual(sample);
  });

  it("never throws on random input, and what it reads serialises back to the same directives", () => {
    const rnd = random(7);
    const alphabet = ['max-age', 'private', 'no-cache', 'public', '=', '"', ',', ' ', '\\', '1', 'x', ';', 'immutable', 's-maxage', '\t'];
    for (let n = 0; n < 3000; n++) {
      let text = "";
      const len = Math.floor(rnd() * 12);
      for (let i = 0; i < len; i++) text += alphabet[Math.floor(rnd() * alphabet.length)];
      const parsed = parseCacheControl(text);
      if (parsed === null || checkCacheDirectives(parsed) !== null) continue;
      expect(parseCacheControl(serializeCacheControl(parsed))).toEqual(parsed);
    }
  });
});
