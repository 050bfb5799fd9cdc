import { describe, it, expect } from "@jest/globals";
import {
  parseEntityTag,
  parseEntityTagList,
  formatEntityTag,
  strongMatch,
  weakMatch,
  listMatches,
  weakenEntityTag,
  etagFromStat,
} from "../../../valum/index.js";

describe("entity tags", () => {
  it("parses strong and weak tags and formats them back", () => {
    for (const text of ['"abc"', 'W/"abc"', '""', 'W/""', '"a-b_c/d!"']) {
      expect(formatEntityTag(parseEntityTag(text)!)).toBe(text);
    }
    expect(parseEntityTag('W/"x"')).toEqual({ weak: true, opaque: "x" });
  });

  it("refuses malformed tags", () => {
    for (const text of ["abc", '"abc', 'abc"', 'w/"abc"', '"a"b"', '"a b"', "W/abc", '"', ""]) {
      expect(parseEntityTag(text)).toBeNull();
    }
  });

  it("parses lists, the wildcard, commas inside quotes, and skips junk", () => {
    expect(parseEntityTagList("*")).toBe("*");
    expect(parseEntityTagList(' "a" , W/"b",,"c,d"')).toEqual([
      { weak: false, opaque: "a" },
      { weak: true, opaque: "b" },
      { weak: false, opaque: "c,d" },
    ]);
    expect(parseEntityTagList('junk, "a", "unclosed')).toEqual([{ weak: false, opaque: "a" }]);
  });

  it("compares strongly and weakly as RFC 9110 section 8.8.3.2 shows", () => {
    const t = (s: string) => parseEntityTag(s)!;
    // the RFC's table
    expect([strongMatch(t('W/"1"'), t('W/"1"')), weakMatch(t('W/"1"'), t('W/"1"'))]).toEqual([false, true]);
    expect([strongMatch(t('W/"1"'), t('W/"2"')), weakMatch(t('W/"1"'), t('W/"2"'))]).toEqual([false, false]);
    expect([strongMatch(t('W/"1"'), t('"1"')), weakMatch(t('W/"1"'), t('"1"'))]).toEqual([false, true]);
    expect([strongMatch(t('"1"'), t('"1"')), weakMatch(t('"1"'), t('"1"'))]).toEqual([true, true]);
  });

  it("matches a list header against the current tag", () => {
    expect(listMatches('"x", W/"a"', '"a"', false)).toBe(true);
    expect(listMatches('"x", W/"a"', '"a"', true)).toBe(false);
    expect(listMatches("*", '"a"', true)).toBe(true);
    expect(listMatches('"b"', '"a"', false)).toBe(false);
  });

  it("weakens a strong tag once", () => {
    expect(weakenEntityTag('"a"')).toBe('W/"a"');
    expect(weakenEntityTag('W/"a"')).toBe('W/"a"');
    expect(parseEntityTag(weakenEntityTag('"a"'))).toEqual({ weak: true, opaque: "a" });
  });

  it("builds a strong tag from size and modification time that changes with either", () => {
    const a = etagFromStat({ size: 1024, mtimeMs: 1700000000000.5 });
    expect(a).toBe('"18bcfe56800-400"');
    expect(parseEntityTag(a)).toEqual({ weak: false, opaque: "18bcfe56800-400" });
    expect(etagFromStat({ size: 1025, mtimeMs: 1700000000000 })).not.toBe(a);
    expect(etagFromStat({ size: 1024, mtimeMs: 1700000001000 })).not.toBe(a);
    expect(etagFromStat({ size: 1024, mtimeMs: 1700000000000 }, "-br")).toBe('"18bcfe56800-400-br"');
  });
});
