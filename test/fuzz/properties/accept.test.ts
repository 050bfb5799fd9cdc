// Properties of the Accept-* parsers (valum/http/accept.ts, accept-list.ts): a server's
// expectations written with q-values read back exactly (or an ExpectationError, never another
// exception); any client header ranks a subset of the offers, each once, never throwing; a
// header giving each offer a distinct q-value ranks them by it; negotiator's preferredValues
// likewise.
import { describe, it, expect } from "@jest/globals";
import fc from "fast-check";
import { ExpectationError, chooseExpectation, chooseValue, parseExpectations, preferredValues, rankExpectations, type AcceptHeaderName, type NegotiationKind } from "../../../valum/http/accept.js";
import { PROPERTY_TIMEOUT, mutatedText, params, randomText, textFrom } from "../../helpers/fuzz.js";

const token = fc.stringMatching(/^[!#$%&'+\-.^_`|~0-9A-Za-z]{1,10}$/);
const VALUES: Record<NegotiationKind, fc.Arbitrary<string>> = {
  accept: fc.tuple(token, token).map(([t, s]) => `${t}/${s}`),
  "accept-language": fc.stringMatching(/^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8}){0,2}$/),
  "accept-charset": token,
  "accept-encoding": fc.oneof(fc.constantFrom("br", "gzip", "deflate", "identity", "zstd"), token),
  token,
};
const kind = fc.constantFrom<NegotiationKind>("accept", "accept-language", "accept-charset", "accept-encoding", "token");
const q = fc.integer({ min: 0, max: 1000 });
const qText = (thousandths: number): string => (thousandths === 1000 ? "1" : "0." + String(thousandths).padStart(3, "0").replace(/0+$/, "") || "0");

/** Offers of a kind with their q-values, as a server writes them. */
const offers = kind.chain((k) => fc.tuple(fc.constant(k), fc.uniqueArray(fc.tuple(VALUES[k], q), { minLength: 1, maxLength: 8, selector: ([v]) => v.toLowerCase() })));

const PIECES = ["*/*", "text/*", "text/html", "application/json", "*", ";", "q=", "q=0", "q=1", "q=0.5", "q=1.0001", "q=.5", ",", " ", "\t", '"', '"a,b"', "\\", "=", "fr", "fr-CA", "en", "gzip", "br", "identity", "utf-8", "x-gzip", "; charset=utf-8", "level=1", "é"];
const clientHeader = fc.oneof(textFrom(PIECES, 16), randomText);

function parsedOffers(k: NegotiationKind, list: readonly [string, number][]): ReturnType<typeof parseExpectations> | null {
  try {
    return parseExpectations(k, list.map(([v, n]) => `${v};q=${qText(n)}`).join(", "));
  } catch (error) {
    // two tokens that name one charset (utf8, UTF-8) are "listed twice"; nothing else may refuse
    expect(error).toBeInstanceOf(ExpectationError);
    expect(k === "accept-charset" || k === "accept-encoding").toBe(true);
    return null;
  }
}

describe("Accept-* headers, properties", () => {
  it(
    "expectations written with q-values read back exactly",
    () => {
      fc.assert(
        fc.property(offers, ([k, list]) => {
          const parsed = parsedOffers(k, list);
          if (parsed === null) return;
          expect(parsed.map((e) => [e.value, e.q])).toEqual(list.map(([v, n]) => [v, n]));
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "any expectations text: a list or an ExpectationError",
    () => {
      fc.assert(
        fc.property(kind, fc.oneof(clientHeader, mutatedText(offers.map(([, list]) => list.map(([v, n]) => `${v};q=${qText(n)}`).join(", ")))), (k, text) => {
          try {
            const parsed = parseExpectations(k, text);
            expect(parsed.length).toBeGreaterThan(0);
            for (const e of parsed) expect(e.q >= 0 && e.q <= 1000).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(ExpectationError);
          }
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "any client header ranks a subset of the offers, each once, and chooses the first",
    () => {
      fc.assert(
        fc.property(offers, fc.option(fc.oneof(clientHeader, mutatedText(offers.map(([, list]) => list.map(([v, n]) => `${v};q=${qText(n)}`).join(", ")))), { nil: null }), ([k, list], header) => {
          const parsed = parsedOffers(k, list);
          if (parsed === null) return;
          const ranked = rankExpectations(k, header, parsed);
          expect(new Set(ranked).size).toBe(ranked.length);
          for (const e of ranked) {
            expect(parsed).toContain(e);
            expect(e.q).toBeGreaterThan(0);
          }
          expect(chooseExpectation(k, header, parsed)).toBe(ranked[0] ?? null);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "a client header giving each offer its own q-value ranks the offers by it",
    () => {
      const distinct = offers.chain(([k, list]) => fc.tuple(fc.constant(k), fc.constant(list), fc.uniqueArray(fc.integer({ min: 1, max: 1000 }), { minLength: list.length, maxLength: list.length })));
      fc.assert(
        fc.property(distinct, ([k, list, qs]) => {
          if (k === "accept-language" || k === "accept-encoding") return; // prefixes and identity's implied q-value: see the unit tests
          const parsed = parsedOffers(k, list.map(([v]) => [v, 1000]));
          if (parsed === null) return;
          const header = list.map(([v], i) => `${v};q=${qText(qs[i]!)}`).join(", ");
          const ranked = rankExpectations(k, header, parsed).map((e) => e.value);
          const want = list.map(([v], i) => [v, qs[i]!] as const).sort((a, b) => b[1] - a[1]).map(([v]) => v);
          expect(ranked).toEqual(want);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "negotiator's preferredValues and chooseValue: a subset of what is available, never an exception",
    () => {
      const name = fc.constantFrom<AcceptHeaderName>("accept", "accept-charset", "accept-encoding", "accept-language");
      const available = fc.array(fc.oneof(token, VALUES.accept, fc.constantFrom("gzip", "identity", "br", "fr", "utf-8")), { maxLength: 6 });
      fc.assert(
        fc.property(name, fc.option(clientHeader, { nil: null }), available, (n, header, values) => {
          const preferred = preferredValues(n, header, values);
          for (const v of preferred) expect(values).toContain(v);
          expect(chooseValue(n, header, values)).toBe(preferred[0] ?? null);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );
});
