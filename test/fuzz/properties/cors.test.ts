// Properties of what cors reads from a request (valum/middlewares/cors.ts): Origin,
// Access-Control-Request-Method and Access-Control-Request-Headers. A list of header names is
// read back lower-cased (parseRequestHeaders), anything else allows none; through the
// middleware, an origin is allowed exactly when listed (never reflected otherwise), a preflight
// is answered 204, Vary names Origin, and no request header can put a control character or a
// non-token into the answer.
import { describe, it, expect } from "@jest/globals";
import fc from "fast-check";
import { Router, cors } from "../../../valum/index.js";
import { parseRequestHeaders } from "../../../valum/middlewares/cors.js";
import { isToken } from "../../../vsgi/tokens.js";
import { memoryExchange } from "../../valum/util.js";
import { PROPERTY_TIMEOUT, mutatedText, params, randomText, textFrom } from "../../helpers/fuzz.js";

const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
const ALLOWED = ["https://a.example", "http://b.example:8080"];
const origin = fc.oneof(fc.constantFrom(...ALLOWED, "null", "https://a.example.evil", "https://A.example", "https://a.example/", " https://a.example"), fc.webUrl().map((u) => new URL(u).origin), randomText);
const headerText = fc.oneof(randomText, textFrom(["X-Token", "Content-Type", ",", " ", "\t", '"', "a b", "é", ";", "*"], 10), fc.array(token, { maxLength: 6 }).map((l) => l.join(", ")));

describe("cors request headers, properties", () => {
  it(
    "Access-Control-Request-Headers: a list of names reads back lower-cased; anything else allows none",
    () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(token, fc.constantFrom(",", ", ", " ,\t", ",,"))), fc.oneof(headerText, mutatedText(headerText)), (names, text) => {
          const value = names.map(([n, sep]) => n + sep).join("");
          expect(parseRequestHeaders(value)).toBe(names.map(([n]) => n.toLowerCase()).join(", "));
          const read = parseRequestHeaders(text);
          if (read !== null && read !== "") for (const n of read.split(", ")) expect(isToken(n) && n === n.toLowerCase()).toBe(true);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "through the middleware: an origin is allowed exactly when listed, preflights are 204, Vary names Origin",
    async () => {
      const app = new Router();
      app.use(cors({ origin: ALLOWED, credentials: true }));
      app.get("/", (_req, res) => res.expandUtf8("ok"));
      const method = fc.oneof(fc.constantFrom("PUT", "DELETE", "GET"), token, randomText);
      await fc.assert(
        fc.asyncProperty(origin, fc.option(method, { nil: null }), fc.option(headerText, { nil: null }), fc.boolean(), async (o, acrm, acrh, preflight) => {
          const clean = (t: string): string => t.replace(/[\r\n\0]/g, "");
          const headers: [string, string][] = [["Origin", clean(o)]];
          if (acrm !== null) headers.push(["Access-Control-Request-Method", clean(acrm)]);
          if (acrh !== null) headers.push(["Access-Control-Request-Headers", clean(acrh)]);
          const { req, res } = memoryExchange(preflight ? "OPTIONS" : "GET", "/", headers);
          await app.handle(req, res);
          const head = res.head!;
          const isPreflight = preflight && acrm !== null;
          expect(head.status).toBe(isPreflight ? 204 : 200);
          const allowed = head.headers.get("access-control-allow-origin");
          expect(allowed).toBe(ALLOWED.includes(clean(o)) ? clean(o) : null);
          expect(head.headers.get("vary")!.toLowerCase()).toContain("origin");
          const allowHeaders = head.headers.get("access-control-allow-headers");
          if (allowHeaders !== null) for (const n of allowHeaders.split(", ")) expect(isToken(n)).toBe(true);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );
});
