// Properties of the Content-Encoding parser (valum/http/content-coding.ts): codings written by
// serializeContentCoding read back (lower-cased, x-gzip as gzip, identity left out), however the
// list is spaced; any text is a list of lower-case tokens or null (the decode middleware's 400),
// never an exception. The live side (decode on a real socket) is in test/fuzz/headers.test.ts.
import { describe, it, expect } from "@jest/globals";
import fc from "fast-check";
import { parseContentCoding, serializeContentCoding } from "../../../valum/http/content-coding.js";
import { isToken } from "../../../vsgi/tokens.js";
import { PROPERTY_TIMEOUT, mutatedText, params, randomText, textFrom } from "../../helpers/fuzz.js";

const coding = fc.oneof(fc.constantFrom("gzip", "GZIP", "x-gzip", "deflate", "br", "identity", "Identity", "compress", "x-compress", "zstd"), fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,10}$/));
const ALIASES = new Map([["x-gzip", "gzip"], ["x-compress", "compress"]]);
const normal = (c: string): string => ALIASES.get(c.toLowerCase()) ?? c.toLowerCase();

describe("Content-Encoding, properties", () => {
  it(
    "serializeContentCoding round-trips through parseContentCoding, however the list is spaced",
    () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(coding, fc.constantFrom(", ", ",", " ,\t", " , , "))), (list) => {
          const want = list.map(([c]) => normal(c)).filter((c) => c !== "identity");
          expect(parseContentCoding(serializeContentCoding(list.map(([c]) => c)))).toEqual(want);
          expect(parseContentCoding(list.map(([c, sep]) => c + sep).join(""))).toEqual(want);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "any text: lower-case tokens (never identity) or null",
    () => {
      const text = fc.oneof(randomText, textFrom(["gzip", "br", ",", " ", ";", "q=1", '"', '"gzip"', "identity", "x-gzip", "\t", "é"], 10), mutatedText(fc.array(coding).map((l) => l.join(", "))));
      fc.assert(
        fc.property(text, (t) => {
          const codings = parseContentCoding(t);
          if (codings === null) return;
          for (const c of codings) {
            expect(isToken(c)).toBe(true);
            expect(c).toBe(c.toLowerCase());
            expect(c).not.toBe("identity");
          }
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );
});
