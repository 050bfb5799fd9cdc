/**
 * Reading Accept-style lists, for the weighted negotiation of accept.ts: the server's own list
 * of values with q-values (Valum's `expectations`), read once at registration and checked
 * strictly, and a client's header, read leniently (what it cannot read is left out, as RFC 9110
 * section 12.5.1 allows). Both with the parser negotiator uses (`content-type`, a linear
 * scanner; the only regular expression is tokens.ts's single character class, which cannot
 * backtrack).
 */
import { parse as parseMediaTypeList } from "content-type";
import { charsetKey } from "./charset.js";
import { isToken } from "./tokens.js";

/** The request headers `preferredValues` understands (lower case). */
export type AcceptHeaderName = "accept" | "accept-charset" | "accept-encoding" | "accept-language";

/** What a header's values are compared as: the four Accept headers, or plain tokens (`"token"`). */
export type NegotiationKind = AcceptHeaderName | "token";

/** The kind of negotiation a request header gets: its own rules for the four Accept headers. */
export function negotiationKind(headerName: string): NegotiationKind {
  const low = headerName.toLowerCase();
  return low === "accept" || low === "accept-charset" || low === "accept-encoding" || low === "accept-language" ? low : "token";
}

/** One value a server offers, with its q-value, as `parseExpectations` reads it. */
export interface Expectation {
  /** The value as written, without its `q` parameter: what the forward gets. */
  readonly value: string;
  /** The server's q-value in thousandths (1000 for q=1). */
  readonly q: number;
  /** @internal What it is compared by: lower case (a media type's `type/subtype`, a charset's IANA name). */
  readonly key: string;
  /** @internal A media type's parameters other than q, names in lower case. */
  readonly params: readonly (readonly [string, string])[];
}

/** @internal One element of a client's list. */
export interface ClientEntry {
  readonly key: string;
  readonly params: readonly (readonly [string, string])[];
  readonly q: number;
  readonly index: number;
}

/** Thrown by `parseExpectations` for a malformed list: the message says which element and why. */
export class ExpectationError extends Error {
  override name = "ExpectationError";
}

function isLanguageTag(text: string): boolean {
  // 1*8ALPHA *("-" 1*8alphanum), the language-range of RFC 4647 without "*"
  const parts = text.split("-");
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p]!;
    if (part.length === 0 || part.length > 8) return false;
    for (let i = 0; i < part.length; i++) {
      const c = part.charCodeAt(i) | 0x20;
      const alpha = c >= 0x61 && c <= 0x7a;
      if (!alpha && (p === 0 || !(c >= 0x30 && c <= 0x39))) return false;
    }
  }
  return true;
}

/**
 * A q-value in thousandths; -1 when malformed. `strict` is RFC 9110's `qvalue` (what a server
 * writes); otherwise clients' common liberties are read too (`.5`, more than three decimals).
 */
function parseQ(text: string, strict: boolean): number {
  const n = text.length;
  let i = 0;
  let whole = 0;
  if (i < n && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) {
    whole = text.charCodeAt(i) - 0x30;
    i++;
  } else if (strict) return -1;
  let thousandths = 0;
  if (i < n) {
    if (text.charCodeAt(i) !== 0x2e) return -1;
    i++;
    let digits = 0;
    for (; i < n; i++, digits++) {
      const c = text.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return -1;
      if (digits < 3) thousandths = thousandths * 10 + (c - 0x30);
      else if (strict) return -1;
    }
    for (; digits < 3; digits++) thousandths *= 10;
  } else if (n === 0) return -1;
  const q = whole * 1000 + thousandths;
  return whole > 1 || q > 1000 ? -1 : q;
}

/** The parameters before `q` (those after it are accept-ext) and the q-value text. */
function splitParameters(parameters: Record<string, string>): { params: [string, string][]; q: string | null } {
  const params: [string, string][] = [];
  for (const name in parameters) {
    if (name === "q") return { params, q: parameters[name]! };
    params.push([name, parameters[name]!]);
  }
  return { params, q: null };
}

/** The comparison key of a value for a kind; `null` when the value is not one of that kind. */
function keyOf(kind: NegotiationKind, value: string, wildcard: boolean): string | null {
  const low = value.toLowerCase();
  if (low === "*") return wildcard ? (kind === "accept" ? "*/*" : "*") : null;
  switch (kind) {
    case "accept": {
      const slash = low.indexOf("/");
      if (slash <= 0 || !isToken(low.slice(0, slash)) || !isToken(low.slice(slash + 1))) return null;
      if (!wildcard && low.includes("*")) return null;
      return low;
    }
    case "accept-language":
      return isLanguageTag(low) ? low : null;
    case "accept-charset":
      return isToken(low) ? charsetKey(low) : null;
    case "accept-encoding":
      if (!isToken(low)) return null;
      return low === "x-gzip" && wildcard ? "gzip" : low;
    default:
      return isToken(low) ? low : null;
  }
}

/** Walks a comma-separated list with content-type's parser (as negotiator does). */
function* elements(header: string): Generator<{ type: string; parameters: Record<string, string>; start: number; end: number }> {
  let index = 0;
  while (index < header.length) {
    let start = index;
    while (header.charCodeAt(start) === 0x20 || header.charCodeAt(start) === 0x09) start++;
    const parsed = parseMediaTypeList(header, { comma: true, start });
    yield { type: header.slice(start, start + parsed.type.length), parameters: parsed.parameters, start, end: parsed.index };
    index = parsed.index + 1;
  }
}

/**
 * Reads a server's list of values with optional q-values, once, at registration: Valum's
 * `expectations` (`"application/json, text/html; q=0.9"`). Each value must be of the kind
 * (a concrete media type, a language tag, a token), q-values RFC 9110 `qvalue`s, no value
 * listed twice; otherwise an `ExpectationError` says which.
 *
 * @example parseExpectations("accept", "application/json, text/html; q=0.9").map((e) => [e.value, e.q]);
 * // [["application/json", 1000], ["text/html", 900]]
 */
export function parseExpectations(kind: NegotiationKind, expectations: string): Expectation[] {
  if (typeof expectations !== "string") throw new ExpectationError("the expectations must be a string");
  const out: Expectation[] = [];
  const seen = new Set<string>();
  for (const element of elements(expectations)) {
    const written = expectations.slice(element.start, element.end).trim();
    for (let i = 0; i < written.length; i++) {
      const c = written.charCodeAt(i);
      // what goes into a response header as is: visible ASCII, spaces and tabs
      if ((c < 0x20 && c !== 0x09) || c >= 0x7f) throw new ExpectationError(`${JSON.stringify(written)}: only visible ASCII characters`);
    }
    if (element.type.length === 0) {
      if (written.length === 0) continue; // an empty list element (RFC 9110 5.6.1)
      throw new ExpectationError(`${JSON.stringify(written)} names no value`);
    }
    const key = keyOf(kind, element.type, false);
    if (key === null) throw new ExpectationError(`${JSON.stringify(element.type)} is not ${WHAT[kind]}`);
    const { params, q: qText } = splitParameters(element.parameters);
    if (kind !== "accept" && params.length > 0) throw new ExpectationError(`${JSON.stringify(written)}: only q may follow ${WHAT[kind]}`);
    for (const [name] of params) if (!isToken(name)) throw new ExpectationError(`${JSON.stringify(written)}: bad parameter name`);
    const q = qText === null ? 1000 : parseQ(qText, true);
    if (q < 0) throw new ExpectationError(`${JSON.stringify(written)}: q must be a number from 0 to 1 with at most three decimals`);
    const value = element.type + params.map(([name, v]) => `; ${name}=${isToken(v) ? v : JSON.stringify(v)}`).join("");
    const identity = key + params.map(([name, v]) => `;${name}=${v.toLowerCase()}`).join("");
    if (seen.has(identity)) throw new ExpectationError(`${JSON.stringify(value)} is listed twice`);
    seen.add(identity);
    out.push({ value, q, key, params: params.map(([name, v]) => [name, v] as const) });
  }
  if (out.length === 0) throw new ExpectationError("the list names no value");
  return out;
}

const WHAT: Readonly<Record<NegotiationKind, string>> = {
  accept: "a media type (type/subtype, no wildcard)",
  "accept-charset": "a charset name",
  "accept-encoding": "a content coding name",
  "accept-language": "a language tag",
  token: "a token",
};

/**
 * Reads a client's Accept-style header; elements that are not of the kind, or whose q-value is
 * malformed, are left out (RFC 9110 12.5.1 lets a server disregard what it cannot read).
 */
export function parseClientList(kind: NegotiationKind, header: string): ClientEntry[] {
  const entries: ClientEntry[] = [];
  let index = 0;
  for (const element of elements(header)) {
    if (element.type.length === 0) continue;
    const key = keyOf(kind, element.type, true);
    if (key === null) continue;
    const { params, q: qText } = splitParameters(element.parameters);
    const q = qText === null ? 1000 : parseQ(qText.trim(), false);
    if (q < 0) continue;
    entries.push({ key, params: kind === "accept" ? params.map(([name, v]) => [name, v.toLowerCase()] as const) : [], q, index: index++ });
  }
  return entries;
}
