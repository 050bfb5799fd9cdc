// Secrets are compared in constant time: Basic passwords, Digest responses and nonces, the AJP
// secret and signed cookies go through crypto.timingSafeEqual on equal-length digests, whatever
// the length of what the client sent. No timing is measured (that would be flaky): the test
// wraps node's timingSafeEqual before the modules load and watches what it is given.
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const crypto = require("node:crypto") as typeof import("node:crypto");
const calls: [number, number][] = [];
const original = crypto.timingSafeEqual;

type Modules = {
  authorization: typeof import("../../valum/http/authorization.js");
  basic: typeof import("../../valum/middlewares/basic-authentication.js");
  ajp: typeof import("../../servers/ajp/connection.js");
  cookies: typeof import("../../vsgi/cookies.js");
};
let m: Modules;

beforeAll(async () => {
  crypto.timingSafeEqual = ((a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
    calls.push([a.byteLength, b.byteLength]);
    return original(a, b);
  }) as typeof crypto.timingSafeEqual;
  require("node:module").syncBuiltinESMExports();
  m = {
    authorization: await import("../../valum/http/authorization.js"),
    basic: await import("../../valum/middlewares/basic-authentication.js"),
    ajp: await import("../../servers/ajp/connection.js"),
    cookies: await import("../../vsgi/cookies.js"),
  };
});

// node's own module is shared by the test files of a jest worker: put it back
afterAll(() => {
  crypto.timingSafeEqual = original;
  require("node:module").syncBuiltinESMExports();
});

/** Wrong guesses of every length from 0 to 80, a prefix of the right one, and non-ASCII ones. */
function guesses(right: string): string[] {
  return [...Array.from({ length: 81 }, (_, n) => "x".repeat(n)), right.slice(0, -1), right + "x", right.toUpperCase(), "é".repeat(right.length), right.slice(1)];
}

/** Runs `compare` and returns the lengths timingSafeEqual was given. */
function watched(compare: () => boolean): { result: boolean; calls: [number, number][] } {
  calls.length = 0;
  const result = compare();
  return { result, calls: calls.slice() };
}

describe("constantTimeEqual (Basic passwords, Digest responses)", () => {
  it("hashes both sides to 32 bytes and compares them with timingSafeEqual, for a guess of any length", () => {
    const right = "correct horse battery staple";
    for (const guess of guesses(right)) {
      const seen = watched(() => m.authorization.constantTimeEqual(guess, right));
      expect([guess, seen]).toEqual([guess, { result: false, calls: [[32, 32]] }]);
    }
    expect(watched(() => m.authorization.constantTimeEqual(right, right))).toEqual({ result: true, calls: [[32, 32]] });
  });

  it("a Basic authorization's challengeWithPassword goes through it", () => {
    const auth = new m.basic.BasicAuthorization("alice", "the password sent", "realm");
    for (const stored of guesses("the password sent")) {
      expect(watched(() => auth.challengeWithPassword(stored))).toEqual({ result: false, calls: [[32, 32]] });
    }
    expect(watched(() => auth.challengeWithPassword("the password sent"))).toEqual({ result: true, calls: [[32, 32]] });
  });
});

describe("the AJP secret", () => {
  it("compares SHA-256 digests with timingSafeEqual, for a secret of any length or none", () => {
    const expected = crypto.createHash("sha256").update("s3cret-XYZ", "latin1").digest();
    for (const given of [...guesses("s3cret-XYZ"), null]) {
      expect([given, watched(() => m.ajp.secretMatches(given, expected))]).toEqual([given, { result: false, calls: [[32, 32]] }]);
    }
    expect(watched(() => m.ajp.secretMatches("s3cret-XYZ", expected))).toEqual({ result: true, calls: [[32, 32]] });
  });
});

describe("signed cookies", () => {
  it("compare the whole signed text with timingSafeEqual once its length is right (a public 43-character HMAC)", () => {
    const raw = decodeURIComponent(m.cookies.serializeCookie("s", "value", { signed: "a secret" }).slice(2));
    const length = raw.length - 2;
    const forged = raw.slice(0, -1) + (raw.endsWith("A") ? "B" : "A");
    expect(watched(() => m.cookies.unsignCookie(forged, "a secret") !== null)).toEqual({ result: false, calls: [[length, length]] });
    expect(watched(() => m.cookies.unsignCookie(raw, "a secret") !== null)).toEqual({ result: true, calls: [[length, length]] });
  });
});

describe("Digest, through the http backend", () => {
  it("checks the nonce's MAC and the response with timingSafeEqual on equal lengths, right or wrong", async () => {
    const { Router, authenticate, DigestAuthentication, digestResponse, digestSecret } = await import("../../valum/index.js");
    const { serve, send } = await import("../helpers/http.js");
    const app = new Router();
    const check = (auth: { challengeWithPassword(p: string): boolean }): boolean => auth.challengeWithPassword("open sesame");
    app.get("/digest", authenticate(new DigestAuthentication("example", { secret: "a digest secret of 32 characters" }), check, (req, res) => res.expandUtf8("in")));
    const served = await serve(app);
    try {
      const challenge = await send(served.port, "GET", "/digest");
      expect(challenge.status).toBe(401);
      const header = ([] as string[]).concat(challenge.headers["www-authenticate"] ?? []).find((h) => h.includes("SHA-256"))!;
      const param = (name: string): string => new RegExp(`${name}="([^"]*)"`).exec(header)![1]!;
      const nonce = param("nonce");
      let nc = 0;
      const attempt = async (password: string): Promise<{ status: number; calls: [number, number][] }> => {
        const count = (++nc).toString(16).padStart(8, "0");
        const input = { algorithm: "SHA-256" as const, method: "GET", uri: "/digest", nonce, nc: count, cnonce: "abcdef", qop: "auth" as const };
        const response = digestResponse(digestSecret("SHA-256", "ana", "example", password), input);
        const authorization = `Digest username="ana", realm="example", uri="/digest", algorithm=SHA-256, nonce="${nonce}", nc=${count}, cnonce="abcdef", qop=auth, response="${response}", opaque="${param("opaque")}"`;
        calls.length = 0;
        const res = await send(served.port, "GET", "/digest", { Authorization: authorization });
        return { status: res.status, calls: calls.slice() };
      };
      for (const password of ["", "o", "open sesam", "open sesame!", "x".repeat(200)]) {
        expect([password, await attempt(password)]).toEqual([password, { status: 401, calls: [[16, 16], [32, 32]] }]);
      }
      expect(await attempt("open sesame")).toEqual({ status: 200, calls: [[16, 16], [32, 32]] });
    } finally {
      await served.close();
    }
  });
});
