import { describe, it, expect } from "@jest/globals";
import { evaluatePreconditions, ifRangeMatches, parseHttpDate, formatHttpDate, type Preconditions } from "../../../valum/index.js";

const T = Date.UTC(2024, 0, 15, 12, 0, 0);
const current = { etag: '"v1"', lastModified: T + 250 }; // sub-second part is dropped
const none: Preconditions = { ifMatch: null, ifNoneMatch: null, ifModifiedSince: null, ifUnmodifiedSince: null };
const at = (ms: number) => formatHttpDate(ms);

describe("HTTP dates", () => {
  it("parse all three forms and round trip the IMF-fixdate", () => {
    expect(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT")).toBe(784111777000);
    expect(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT")).toBe(784111777000);
    expect(parseHttpDate("Sun Nov  6 08:49:37 1994")).toBe(784111777000);
    expect(parseHttpDate(formatHttpDate(T))).toBe(T);
    for (const bad of ["yesterday", "06 Nov 1994", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 PST", ""]) {
      expect(parseHttpDate(bad)).toBeNull();
    }
  });
});

describe("evaluatePreconditions (RFC 9110 section 13.2.2)", () => {
  it("no precondition: go on", () => {
    expect(evaluatePreconditions("GET", none, current)).toBe(200);
  });

  it("If-Match compares strongly; * matches; failure is 412", () => {
    expect(evaluatePreconditions("GET", { ...none, ifMatch: '"v1"' }, current)).toBe(200);
    expect(evaluatePreconditions("PUT", { ...none, ifMatch: '"v0", "v1"' }, current)).toBe(200);
    expect(evaluatePreconditions("GET", { ...none, ifMatch: 'W/"v1"' }, current)).toBe(412);
    expect(evaluatePreconditions("GET", { ...none, ifMatch: "*" }, current)).toBe(200);
    expect(evaluatePreconditions("GET", { ...none, ifMatch: '"v1"' }, { etag: null, lastModified: T })).toBe(412);
    expect(evaluatePreconditions("GET", { ...none, ifMatch: "*" }, { etag: null, lastModified: T })).toBe(200);
  });

  it("If-Unmodified-Since only without If-Match", () => {
    expect(evaluatePreconditions("GET", { ...none, ifUnmodifiedSince: at(T - 1000) }, current)).toBe(412);
    expect(evaluatePreconditions("GET", { ...none, ifUnmodifiedSince: at(T) }, current)).toBe(200);
    expect(evaluatePreconditions("GET", { ...none, ifMatch: '"v1"', ifUnmodifiedSince: at(T - 1000) }, current)).toBe(200);
    expect(evaluatePreconditions("GET", { ...none, ifUnmodifiedSince: "garbage" }, current)).toBe(200);
  });

  it("If-None-Match compares weakly: 304 for GET and HEAD, 412 for others", () => {
    expect(evaluatePreconditions("GET", { ...none, ifNoneMatch: 'W/"v1"' }, current)).toBe(304);
    expect(evaluatePreconditions("HEAD", { ...none, ifNoneMatch: '"x", "v1"' }, current)).toBe(304);
    expect(evaluatePreconditions("DELETE", { ...none, ifNoneMatch: '"v1"' }, current)).toBe(412);
    expect(evaluatePreconditions("GET", { ...none, ifNoneMatch: "*" }, current)).toBe(304);
    expect(evaluatePreconditions("GET", { ...none, ifNoneMatch: '"v2"' }, current)).toBe(200);
  });

  it("If-Modified-Since only without If-None-Match, only for GET and HEAD", () => {
    expect(evaluatePreconditions("GET", { ...none, ifModifiedSince: at(T) }, current)).toBe(304);
    expect(evaluatePreconditions("GET", { ...none, ifModifiedSince: at(T - 1000) }, current)).toBe(200);
    expect(evaluatePreconditions("POST", { ...none, ifModifiedSince: at(T) }, current)).toBe(200);
    // If-None-Match wins even when it does not match
    expect(evaluatePreconditions("GET", { ...none, ifNoneMatch: '"v2"', ifModifiedSince: at(T) }, current)).toBe(200);
    expect(evaluatePreconditions("GET", { ...none, ifModifiedSince: "not a date" }, current)).toBe(200);
  });

  it("If-Match is evaluated before If-None-Match", () => {
    expect(evaluatePreconditions("GET", { ...none, ifMatch: '"v0"', ifNoneMatch: '"v1"' }, current)).toBe(412);
  });
});

describe("ifRangeMatches (RFC 9110 section 13.1.5)", () => {
  const later = T + 60_000;
  it("an entity tag must match strongly", () => {
    expect(ifRangeMatches('"v1"', current, later)).toBe(true);
    expect(ifRangeMatches('W/"v1"', current, later)).toBe(false);
    expect(ifRangeMatches('"v2"', current, later)).toBe(false);
    expect(ifRangeMatches('"v1"', { etag: 'W/"v1"', lastModified: T }, later)).toBe(false);
  });

  it("a date must equal Last-Modified exactly, and be a strong validator", () => {
    expect(ifRangeMatches(at(T), current, later)).toBe(true);
    expect(ifRangeMatches(at(T + 1000), current, later)).toBe(false);
    expect(ifRangeMatches(at(T - 1000), current, later)).toBe(false);
    expect(ifRangeMatches(at(T), current, T + 500)).toBe(false); // modified within the second: weak
    expect(ifRangeMatches("nonsense", current, later)).toBe(false);
  });
});
