/**
 * Proactive negotiation (RFC 9110 section 12.5): choosing among the values a server has by an
 * `Accept`, `Accept-Charset`, `Accept-Encoding` or `Accept-Language` header, with q-values,
 * through the `negotiator` package. Pure functions; the static files middleware and the
 * negotiation middlewares share them.
 */
import Negotiator from "negotiator";
import { charsetKey } from "./charset.js";
import { parseClientList, type AcceptHeaderName, type ClientEntry, type Expectation, type NegotiationKind } from "./accept-list.js";

export { ExpectationError, negotiationKind, parseExpectations, type AcceptHeaderName, type Expectation, type NegotiationKind } from "./accept-list.js";

/**
 * The order in which a server should offer content codings when the client weighs them the
 * same: the smallest first.
 */
export const ENCODING_PREFERENCE: readonly string[] = Object.freeze(["br", "gzip", "deflate", "identity"]);

/**
 * The values of `available` the client accepts, best first. `header` is the header's value
 * (`null` when absent). For `accept-encoding`, RFC 9110 section 12.5.3: `identity` is
 * acceptable unless excluded by `identity;q=0` or `*;q=0`, a coding is acceptable when named or
 * covered by `*` with q > 0, an absent header accepts only `identity` in practice, and ties go
 * to the earlier value of `available` (pass them in `ENCODING_PREFERENCE` order). For the other
 * headers ties go to the more specific match, then the client's order, then `available`'s.
 *
 * @example preferredValues("accept-encoding", "gzip, br;q=1, *;q=0", ["br", "gzip", "identity"]); // ["br", "gzip"]
 */
export function preferredValues(name: AcceptHeaderName, header: string | null, available: readonly string[]): string[] {
  const negotiator = new Negotiator({ headers: header === null ? {} : { [name]: header } });
  const offered = available as string[];
  switch (name) {
    case "accept":
      return negotiator.mediaTypes(offered);
    case "accept-charset":
      return negotiator.charsets(offered);
    case "accept-language":
      return negotiator.languages(offered);
    case "accept-encoding":
      // negotiator's third argument (the server's order for ties) is missing from its types
      return (negotiator.encodings as (available: string[], options: { preferred: string[] }) => string[])(offered, { preferred: offered });
  }
}

/**
 * The best value of `available` for the client, or `null` when it accepts none of them.
 *
 * @example chooseValue("accept-encoding", "gzip;q=0.5, br", ["br", "gzip", "identity"]); // "br"
 */
export function chooseValue(name: AcceptHeaderName, header: string | null, available: readonly string[]): string | null {
  return preferredValues(name, header, available)[0] ?? null;
}

// ---------------------------------------------------------------------------------------------
// Weighted negotiation: the server's own q-values multiply the client's (RFC 9110 section
// 12.1: a server may weigh its representations). negotiator ranks by the client's q-values
// alone and does not tell them, so the ranking below reads the client's list itself
// (accept-list.ts) and keeps negotiator's matching rules: the most specific entry of the
// client's list gives a value its q-value, and q outranks specificity.

/** How specifically a client entry names a value; -1 when it does not cover it. */
function specificity(kind: NegotiationKind, entry: ClientEntry, offer: Expectation): number {
  const c = entry.key;
  const s = offer.key;
  switch (kind) {
    case "accept": {
      if (c === "*/*") return paramsMatch(entry, offer);
      const cs = c.indexOf("/");
      const ss = s.indexOf("/");
      if (c.slice(0, cs) !== s.slice(0, ss)) {
        if (c.slice(0, cs) !== "*") return -1;
      }
      let bits = c.charCodeAt(0) === 0x2a ? 0 : 8;
      const csub = c.slice(cs + 1);
      const ssub = s.slice(ss + 1);
      if (csub === ssub) bits += 4;
      else if (csub === "*") bits += 0;
      else {
        // structured syntax suffixes (RFC 6839): application/*+json covers application/ld+json,
        // and a client of application/json can read any application/...+json
        const plus = ssub.lastIndexOf("+");
        if (plus === -1) return -1;
        const suffix = ssub.slice(plus + 1);
        if (!(csub === "*+" + suffix || csub === suffix) || (suffix !== "json" && suffix !== "xml" && csub === suffix)) return -1;
        bits += 2;
      }
      const p = paramsMatch(entry, offer);
      return p === -1 ? -1 : bits + p;
    }
    case "accept-language":
      if (c === "*") return 0;
      if (c === s) return 3;
      if (c.startsWith(s) && c.charCodeAt(s.length) === 0x2d) return 2; // fr-CA accepts fr
      if (s.startsWith(c) && s.charCodeAt(c.length) === 0x2d) return 1; // fr accepts fr-CA
      return -1;
    default:
      if (c === "*") return 0;
      return c === s ? 1 : -1;
  }
}

/** 1 when the client's media type parameters all hold for the offer, 0 when it has none, -1 otherwise. */
function paramsMatch(entry: ClientEntry, offer: Expectation): number {
  if (entry.params.length === 0) return 0;
  for (const [name, value] of entry.params) {
    if (value === "*") continue;
    let found = false;
    for (const [n, v] of offer.params) {
      if (n === name) {
        found = (name === "charset" ? charsetKey(v) === charsetKey(value) : v.toLowerCase() === value);
        break;
      }
    }
    if (!found) return -1;
  }
  return 1;
}

/** An acceptable offer and what ranks it. */
interface Ranked {
  readonly offer: Expectation;
  readonly score: number;
  readonly specificity: number;
  readonly clientIndex: number;
  readonly serverIndex: number;
  readonly preference: number;
}

/** What every offer matches when the client sent no header. */
const ANYTHING: ClientEntry = { key: "*", params: [], q: 1000, index: 0 };

/**
 * The offers a client accepts, best first: by the product of the client's q-value and the
 * server's (the most specific entry of the client's list giving an offer its q-value), then
 * by specificity, then in the client's order; content codings instead go br, gzip, deflate,
 * identity before specificity and regardless of the client's order. Then in the server's
 * order. A q-value of 0 on either side excludes.
 *
 * No header at all accepts everything, except for Accept-Encoding, which then accepts only
 * `identity` (as negotiator and the servers it serves do). A header that names nothing of its
 * kind is disregarded (RFC 9110 12.5.1), except an empty Accept-Encoding, which asks for no
 * coding (RFC 9110 12.5.3). `identity` stays acceptable unless refused by `identity;q=0` or by
 * `*;q=0` without an entry of its own; its implied q-value is the lowest the client gives, so
 * that it never outranks a coding the client names.
 *
 * @example
 * const offers = parseExpectations("accept", "application/json, text/html; q=0.9");
 * rankExpectations("accept", "text/html, application/json; q=0.8", offers).map((e) => e.value);
 * // ["text/html", "application/json"]: 1 × 0.9 against 0.8 × 1
 */
export function rankExpectations(kind: NegotiationKind, header: string | null, offers: readonly Expectation[]): Expectation[] {
  let entries: ClientEntry[] | null = header === null ? null : parseClientList(kind, header);
  if (kind === "accept-encoding") {
    if (entries === null) entries = [];
    let covered = false;
    let lowest = 1000;
    for (const entry of entries) {
      if (entry.key === "identity" || entry.key === "*") covered = true;
      if (entry.q > 0 && entry.q < lowest) lowest = entry.q;
    }
    if (!covered) entries.push({ key: "identity", params: [], q: lowest, index: entries.length });
  } else if (entries !== null && entries.length === 0) {
    entries = null;
  }
  const ranked: Ranked[] = [];
  for (let i = 0; i < offers.length; i++) {
    const offer = offers[i]!;
    if (offer.q === 0) continue;
    let best: ClientEntry | null = null;
    let bestSpecificity = -1;
    if (entries === null) {
      best = ANYTHING;
      bestSpecificity = 0;
    } else {
      for (const entry of entries) {
        const s = specificity(kind, entry, offer);
        // as negotiator: the most specific entry, then the highest q, then the later one
        if (s > bestSpecificity || (s === bestSpecificity && s !== -1 && entry.q >= best!.q)) {
          best = entry;
          bestSpecificity = s;
        }
      }
    }
    if (best === null || best.q === 0) continue;
    const preference = kind === "accept-encoding" ? encodingRank(offer.key) : 0;
    ranked.push({ offer, score: best.q * offer.q, specificity: bestSpecificity, clientIndex: best.index, serverIndex: i, preference });
  }
  ranked.sort(compareRanked);
  return ranked.map((r) => r.offer);
}

function encodingRank(coding: string): number {
  const i = ENCODING_PREFERENCE.indexOf(coding);
  return i === -1 ? ENCODING_PREFERENCE.length : i;
}

function compareRanked(a: Ranked, b: Ranked): number {
  // preference is 0 but for codings, whose server order goes before specificity (as negotiator's `preferred`)
  return b.score - a.score || a.preference - b.preference || b.specificity - a.specificity || a.clientIndex - b.clientIndex || a.serverIndex - b.serverIndex;
}

/**
 * The best offer for the client (see `rankExpectations`), or `null` when it accepts none.
 *
 * @example chooseExpectation("accept-language", "fr-CA, en;q=0.5", parseExpectations("accept-language", "en, fr"))?.value; // "fr"
 */
export function chooseExpectation(kind: NegotiationKind, header: string | null, offers: readonly Expectation[]): Expectation | null {
  return rankExpectations(kind, header, offers)[0] ?? null;
}
