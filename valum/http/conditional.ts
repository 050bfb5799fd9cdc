/**
 * Conditional requests (RFC 9110 section 13): evaluating the preconditions in the order of
 * section 13.2.2, `If-Range`, and HTTP dates. Pure functions over header values.
 */
import { listMatches, parseEntityTag, strongMatch } from "./etag.js";

/** The precondition headers of a request (`null` when absent). */
export interface Preconditions {
  ifMatch: string | null;
  ifNoneMatch: string | null;
  ifModifiedSince: string | null;
  ifUnmodifiedSince: string | null;
}

/** The validators of the selected representation. */
export interface Validators {
  /** Its ETag in header form (`"x"` or `W/"x"`), `null` when it has none. */
  etag: string | null;
  /** Its modification time in milliseconds (compared at one-second precision), `null` when unknown. */
  lastModified: number | null;
}

/** What the preconditions say: go on (`200`), `304 Not Modified`, or `412 Precondition Failed`. */
export type PreconditionResult = 200 | 304 | 412;

const MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec";
const IMF_FIXDATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/;
const RFC850 = /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d\d)-(\w{3})-(\d\d) (\d\d):(\d\d):(\d\d) GMT$/;
const ASCTIME = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\w{3}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\d{4})$/;

function utc(year: number, month: string, day: number, h: string, m: string, s: string): number | null {
  const index = MONTHS.indexOf(month);
  if (index === -1 || index % 3 !== 0) return null;
  const time = Date.UTC(year, index / 3, day, Number(h), Number(m), Number(s));
  return Number.isNaN(time) ? null : time;
}

/**
 * Parses an HTTP-date (RFC 9110 section 5.6.7: IMF-fixdate, and the obsolete RFC 850 and
 * asctime forms, all GMT) into milliseconds; `null` when invalid (the header is then ignored).
 *
 * @example parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"); // 784111777000
 */
export function parseHttpDate(text: string): number | null {
  const t = text.trim();
  let m = IMF_FIXDATE.exec(t);
  if (m !== null) return utc(Number(m[3]), m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!);
  m = RFC850.exec(t);
  if (m !== null) {
    // two-digit years: within 50 years of now (RFC 9110 section 5.6.7)
    const yy = Number(m[3]);
    const now = new Date().getUTCFullYear();
    let year = Math.floor(now / 100) * 100 + yy;
    if (year > now + 50) year -= 100;
    return utc(year, m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!);
  }
  m = ASCTIME.exec(t);
  if (m !== null) return utc(Number(m[6]), m[1]!, Number(m[2]!.trim()), m[3]!, m[4]!, m[5]!);
  return null;
}

/**
 * Formats milliseconds as an IMF-fixdate, as `Last-Modified` carries it.
 *
 * @example formatHttpDate(784111777000); // "Sun, 06 Nov 1994 08:49:37 GMT"
 */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/**
 * Evaluates the preconditions of a request on an existing representation, in RFC 9110's order
 * (section 13.2.2): If-Match (strong comparison), else If-Unmodified-Since; then If-None-Match
 * (weak comparison: 304 for GET and HEAD, 412 otherwise), else If-Modified-Since (GET and HEAD
 * only). Invalid dates are ignored, as the RFC says.
 *
 * @example
 * evaluatePreconditions("GET", { ifMatch: null, ifNoneMatch: '"a"', ifModifiedSince: null, ifUnmodifiedSince: null },
 *   { etag: '"a"', lastModified: null }); // 304
 */
export function evaluatePreconditions(method: string, request: Preconditions, current: Validators): PreconditionResult {
  const getOrHead = method === "GET" || method === "HEAD";
  if (request.ifMatch !== null) {
    // `*` matches any current representation, with an ETag or not
    const matched = current.etag !== null ? listMatches(request.ifMatch, current.etag, true) : request.ifMatch.trim() === "*";
    if (!matched) return 412;
  } else if (request.ifUnmodifiedSince !== null && current.lastModified !== null) {
    const date = parseHttpDate(request.ifUnmodifiedSince);
    if (date !== null && seconds(current.lastModified) > seconds(date)) return 412;
  }
  if (request.ifNoneMatch !== null) {
    if (current.etag !== null ? listMatches(request.ifNoneMatch, current.etag, false) : request.ifNoneMatch.trim() === "*") {
      return getOrHead ? 304 : 412;
    }
  } else if (getOrHead && request.ifModifiedSince !== null && current.lastModified !== null) {
    const date = parseHttpDate(request.ifModifiedSince);
    if (date !== null && seconds(current.lastModified) <= seconds(date)) return 304;
  }
  return 200;
}

/**
 * Whether a `Range` applies given its `If-Range` (RFC 9110 section 13.1.5): an entity tag must
 * match the current one strongly; a date must equal `Last-Modified` exactly and be a strong
 * validator (at least one second older than `now`). Anything else: send the whole
 * representation.
 *
 * @example ifRangeMatches('"a"', { etag: '"a"', lastModified: null }, Date.now()); // true
 */
export function ifRangeMatches(ifRange: string, current: Validators, now: number): boolean {
  const t = ifRange.trim();
  if (t.startsWith('"') || t.startsWith("W/")) {
    const tag = parseEntityTag(t);
    const mine = current.etag === null ? null : parseEntityTag(current.etag);
    return tag !== null && mine !== null && strongMatch(tag, mine);
  }
  if (current.lastModified === null) return false;
  const date = parseHttpDate(t);
  return date !== null && seconds(date) === seconds(current.lastModified) && seconds(current.lastModified) < seconds(now);
}
