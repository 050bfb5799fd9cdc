// Properties of the Cookie reader (vsgi/cookies.ts): what serializeCookie writes (the project's
// encoder) reads back exactly, the last cookie of a name winning, whether the front server
// joined the headers with `; `, `, ` or sent them apart; any text gives a map, never an
// exception, the same however it is split into headers at a separator; signed cookies verify
// only with their secret.
import { describe, it, expect } from "@jest/globals";
import fc from "fast-check";
import { parseCookies, serializeCookie, unsignCookie } from "../../../vsgi/cookies.js";
import { PROPERTY_TIMEOUT, mutatedText, params, randomText, textFrom } from "../../helpers/fuzz.js";

const name = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
const value = fc.oneof(fc.string({ unit: "grapheme", maxLength: 20 }), fc.stringMatching(/^[!#-+\--:<-[\]-~]{0,20}$/));
const jar = fc.array(fc.tuple(name, value), { minLength: 1, maxLength: 10 });

/** The `name=value` part of a Set-Cookie line: what a browser sends back. */
const pair = ([n, v]: [string, string]): string => serializeCookie(n, v).split(";")[0]!;

describe("Cookie header, properties", () => {
  it(
    "what serializeCookie writes reads back, the last of a name winning, however the headers were joined",
    () => {
      fc.assert(
        fc.property(jar, fc.constantFrom("; ", ";", ", ", " ; "), fc.boolean(), (cookies, separator, apart) => {
          const want = new Map<string, string>();
          for (const [n, v] of cookies) want.set(n, v);
          const pairs = cookies.map(pair);
          const got = parseCookies(apart ? pairs : [pairs.join(separator)]);
          expect(got).toEqual(want);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "any text: a map of trimmed names, never an exception, the same split into headers at a separator",
    () => {
      const text = fc.oneof(randomText, textFrom(["=", ";", ",", " ", '"', "%", "%2", "%E9", "%C3%A9", "a", "b=1", "\t", "==", ";;;"], 20), mutatedText(jar.map((c) => c.map(pair).join("; "))));
      fc.assert(
        fc.property(text, fc.nat(), (header, at) => {
          const got = parseCookies([header]);
          for (const key of got.keys()) {
            expect(key.length).toBeGreaterThan(0);
            expect(key).toBe(key.trim());
          }
          const separators = [...header].flatMap((c, i) => (c === ";" || c === "," ? [i] : []));
          if (separators.length > 0) {
            const cut = separators[at % separators.length]!;
            expect(parseCookies([header.slice(0, cut), header.slice(cut + 1)])).toEqual(got);
          }
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "a signed cookie verifies with its secret (or a rotated list holding it) and with no other; any text is a value or null",
    () => {
      fc.assert(
        fc.property(name, value, fc.string({ minLength: 1, maxLength: 16 }), fc.string({ minLength: 1, maxLength: 16 }), randomText, (n, v, secret, other, raw) => {
          const sent = parseCookies([serializeCookie(n, v, { signed: secret }).split(";")[0]!]).get(n)!;
          expect(unsignCookie(sent, secret)).toBe(v);
          expect(unsignCookie(sent, [other, secret])).toBe(v);
          if (other !== secret) expect(unsignCookie(sent, other)).toBeNull();
          const out = unsignCookie(raw, secret);
          expect(out === null || typeof out === "string").toBe(true);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );
});
