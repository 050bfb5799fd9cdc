// Properties of the Authorization parsers (valum/http/authorization.ts, digest.ts) and of the
// Basic and Digest middlewares that read them: serializeAuthParams round-trips through
// parseCredentials and parseChallenges; Basic credentials and RFC 8187 ext-values round-trip
// against their encoders; any text is parsed or refused with an AuthSyntaxError; through the
// middlewares, the right credentials pass (200), any other Authorization is a 400 or a 401.
import { describe, it, expect } from "@jest/globals";
import fc from "fast-check";
import {
  AuthSyntaxError,
  decodeBasicCredentials,
  decodeHeaderUtf8,
  encodeBasicCredentials,
  parseChallenges,
  parseCredentials,
  quote,
  serializeAuthParams,
  type AuthParams,
} from "../../../valum/http/authorization.js";
import { decodeExtValue, digestAlgorithm, digestResponse, digestSecret, encodeExtValue } from "../../../valum/http/digest.js";
import { Router, authenticate, BasicAuthentication, DigestAuthentication, type Authorization } from "../../../valum/index.js";
import { memoryExchange, type MemoryResponse } from "../../valum/util.js";
import { PROPERTY_TIMEOUT, mutatedText, params, randomText, textFrom } from "../../helpers/fuzz.js";

const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
const token68 = fc.stringMatching(/^[A-Za-z0-9\-._~+/]{1,30}=*$/);
// quoted-string content: HTAB, SP, VCHAR, obs-text
const qdtext = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: 20 });
const authParams: fc.Arbitrary<AuthParams> = fc.oneof(
  fc.record({ scheme: token, token68: token68.map((t): string | null => t), params: fc.constant(new Map<string, string>()) }),
  fc.record({
    scheme: token,
    token68: fc.constant(null),
    params: fc.uniqueArray(fc.tuple(token, qdtext), { minLength: 1, maxLength: 6, selector: ([n]) => n.toLowerCase() }).map((l) => new Map(l)),
  }),
);
const PIECES = ["Basic", "Digest", " ", ",", "=", '"', "\\", "realm", "nonce", '"a,b"', "==", "\t", "a", "username*", "UTF-8''", "%", "é"];
const anyText = fc.oneof(randomText, textFrom(PIECES, 16), mutatedText(authParams.map((a) => serializeAuthParams(a))));

/** Names compared case-insensitively: what a parse gives, names lower-cased. */
const lowered = (a: AuthParams): [string, string | null, [string, string][]] => [a.scheme, a.token68, [...a.params].map(([n, v]) => [n.toLowerCase(), v])];

describe("Authorization and WWW-Authenticate, properties", () => {
  it(
    "serializeAuthParams round-trips through parseCredentials, and a list of them through parseChallenges",
    () => {
      fc.assert(
        fc.property(fc.array(authParams, { minLength: 1, maxLength: 4 }), (list) => {
          expect(lowered(parseCredentials(serializeAuthParams(list[0]!)))).toEqual(lowered(list[0]!));
          // a token68 challenge is only unambiguous at the end of the list
          const challenges = list.filter((a, i) => a.token68 === null || i === list.length - 1);
          expect(parseChallenges(challenges.map((a) => serializeAuthParams(a)).join(", ")).map(lowered)).toEqual(challenges.map(lowered));
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "any text: credentials or challenges, or an AuthSyntaxError",
    () => {
      fc.assert(
        fc.property(anyText, (text) => {
          for (const parse of [parseCredentials, parseChallenges]) {
            try {
              parse(text);
            } catch (error) {
              expect(error).toBeInstanceOf(AuthSyntaxError);
            }
          }
          try {
            expect(parseCredentials(quote(text).slice(1, -1) + "")).toBeDefined();
          } catch (error) {
            expect(error).toBeInstanceOf(AuthSyntaxError);
          }
          expect(typeof decodeHeaderUtf8(text)).toBe("string");
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "Basic credentials and ext-values round-trip against their encoders; any token68 or ext-value decodes or is an AuthSyntaxError",
    () => {
      const user = fc.string({ unit: "grapheme", maxLength: 16 }).filter((u) => !u.includes(":") && !/[\x00-\x1f\x7f]/.test(u));
      const password = fc.string({ unit: "grapheme", maxLength: 16 }).filter((p) => !/[\x00-\x1f\x7f]/.test(p));
      fc.assert(
        fc.property(user, password, fc.oneof(anyText, token68), (u, p, text) => {
          expect(decodeBasicCredentials(encodeBasicCredentials(u, p), "UTF-8")).toEqual({ username: u, password: p });
          expect(decodeBasicCredentials(encodeBasicCredentials(u, p), null)).toEqual({ username: u, password: p });
          expect(decodeExtValue(encodeExtValue(u + p))).toBe(u + p);
          for (const decode of [() => decodeBasicCredentials(text, null), () => decodeBasicCredentials(text, "UTF-8"), () => decodeExtValue(text), () => decodeExtValue("UTF-8''" + text)]) {
            try {
              decode();
            } catch (error) {
              expect(error).toBeInstanceOf(AuthSyntaxError);
            }
          }
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );
});

const USERS = new Map([["ana", "open: sesame"]]);
function check(auth: Authorization): boolean {
  const password = USERS.get(auth.username);
  return password !== undefined && auth.challengeWithPassword(password);
}

async function run(app: Router, target: string, authorization: string | null): Promise<MemoryResponse> {
  const { req, res } = memoryExchange("GET", target, authorization === null ? [] : [["Authorization", authorization]]);
  await app.handle(req, res);
  return res;
}

describe("Basic and Digest middlewares on random Authorization headers, properties", () => {
  const basic = new Router();
  basic.get("/<path:p>", authenticate(new BasicAuthentication("api"), check, (_req, res) => res.expandUtf8("in")));
  const digest = new Router();
  const scheme = new DigestAuthentication("api", { algorithms: ["SHA-256", "MD5"] });
  digest.get("/<path:p>", authenticate(scheme, check, (_req, res) => res.expandUtf8("in")));

  it(
    "Basic: the right credentials are a 200; any other Authorization a 400 or a 401",
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(anyText.map((t) => "Basic " + t), anyText, mutatedText(fc.constant("Basic " + encodeBasicCredentials("ana", "open: sesame")))), async (header) => {
          expect((await run(basic, "/x", "Basic " + encodeBasicCredentials("ana", "open: sesame"))).head!.status).toBe(200);
          const sent = header.replace(/[\r\n\0]/g, "");
          const status = (await run(basic, "/x", sent)).head?.status;
          expect([200, 400, 401]).toContain(status);
          if (status === 200) expect(decodeBasicCredentials(parseCredentials(sent).token68!, null)).toEqual({ username: "ana", password: "open: sesame" });
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "Digest: the answer to a challenge is a 200 once; mutated answers and any text a 400 or a 401",
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom("/x", "/a/b?c=1", "/%C3%A9"), fc.boolean(), fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 3 }), anyText, async (target, md5, edits, text) => {
          const first = await run(digest, target, null);
          expect(first.head!.status).toBe(401);
          const challenges = parseChallenges(first.head!.headers.getAll("www-authenticate").join(", "));
          const ch = challenges[md5 ? 1 : 0]!.params;
          const algorithm = digestAlgorithm(ch.get("algorithm")!)!;
          const input = { algorithm, method: "GET", uri: target, nonce: ch.get("nonce")!, nc: "00000001", cnonce: "c0ffee", qop: "auth" as const };
          const answer = new Map([
            ["username", "ana"], ["realm", "api"], ["nonce", input.nonce], ["uri", target], ["algorithm", algorithm], ["qop", "auth"], ["nc", input.nc], ["cnonce", input.cnonce],
            ["response", digestResponse(digestSecret(algorithm, "ana", "api", "open: sesame"), input)], ["opaque", ch.get("opaque")!],
          ]);
          const header = serializeAuthParams({ scheme: "Digest", token68: null, params: answer }, new Set(["algorithm", "qop", "nc"]));
          // a mutated answer first (it may not be the right one, or replay its nc), then the right one, then its replay
          let mutated = header;
          for (const [at, byte] of edits) {
            const i = at % mutated.length;
            mutated = mutated.slice(0, i) + String.fromCharCode(0x20 + (byte % 0x5f)) + mutated.slice(i + 1);
          }
          const odd = await run(digest, target, mutated);
          expect([200, 400, 401]).toContain(odd.head!.status);
          if (odd.head!.status !== 200) {
            expect((await run(digest, target, header)).head!.status).toBe(200);
          }
          expect((await run(digest, target, header)).head!.status).toBe(401); // nc replayed
          expect([400, 401]).toContain((await run(digest, target, "Digest " + text.replace(/[\r\n\0]/g, ""))).head!.status);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );
});
