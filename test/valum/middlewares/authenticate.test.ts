import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, it, expect, beforeEach, afterEach } from "@jest/globals";
import {
  Router,
  authenticate,
  BasicAuthentication,
  DigestAuthentication,
  DigestAuthorization,
  digestAlgorithm,
  digestResponse,
  digestSecret,
  digestUserhash,
  encodeBasicCredentials,
  encodeExtValue,
  parseChallenges,
  serializeAuthParams,
  type AuthParams,
  type Authorization,
  type DigestAlgorithm,
} from "../../../valum/index.js";
import { VsgiError, setErrorLogger, type Request, type Response } from "../../../vsgi/index.js";
import { withServer, type Client } from "../util.js";

const run = promisify(execFile);

let logged: { message: string; error: unknown }[] = [];
beforeEach(() => {
  logged = [];
  setErrorLogger((message, error) => logged.push({ message, error }));
});
afterEach(() => setErrorLogger((message, error) => console.error(message, error)));

const USERS = new Map([
  ["ana", "open: sesame"],
  ["Jäsøn Doe", "pässwörd"],
]);

/** The check every test uses unless it says otherwise; counts its calls. */
let checks = 0;
function check(auth: Authorization): boolean {
  checks++;
  const password = USERS.get(auth.username);
  return password !== undefined && auth.challengeWithPassword(password);
}

/** A forward answering with what it received. */
function echo(req: Request, res: Response, next: unknown, ctx: { authorization: Authorization }, auth: Authorization): Promise<boolean> {
  return res.expandUtf8(JSON.stringify({
    username: auth.username,
    scheme: auth.scheme,
    algorithm: auth instanceof DigestAuthorization ? auth.algorithm : null,
    same: ctx.authorization === auth,
  }));
}

/** A route that answers with what the forward received. */
function app(scheme: BasicAuthentication | DigestAuthentication, verify: (auth: Authorization) => boolean | Promise<boolean> = check): Router {
  checks = 0;
  const router = new Router();
  router.get("/<path:path>", authenticate<Authorization>(scheme, verify, echo));
  return router;
}

/** curl on the real server: status and body. */
async function curl(c: Client, path: string, ...args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run("curl", ["-s", "-g", "-o", "-", "-w", "\n%{http_code}", ...args, c.url + path]);
  const cut = stdout.lastIndexOf("\n");
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

/** The challenges of a 401, parsed from the `WWW-Authenticate` lines node joined. */
function challengesOf(res: { headers: Record<string, string | string[] | undefined> }): AuthParams[] {
  const value = res.headers["www-authenticate"];
  return value === undefined ? [] : parseChallenges(Array.isArray(value) ? value.join(", ") : value);
}

interface Answer {
  username?: string;
  password?: string;
  method?: string;
  uri: string;
  nc?: string;
  cnonce?: string;
  /** Directives to replace (a string) or remove (`undefined`). */
  override?: Record<string, string | undefined>;
}

/** The `Authorization` a Digest client sends for `challenge` (what curl computes, by hand). */
function answer(challenge: AuthParams, a: Answer): string {
  const p = challenge.params;
  const algorithm = digestAlgorithm(p.get("algorithm") ?? "MD5")!;
  const username = a.username ?? "ana";
  const nc = a.nc ?? "00000001";
  const cnonce = a.cnonce ?? "0a4f113b";
  const nonce = p.get("nonce")!;
  const input = { algorithm, method: a.method ?? "GET", uri: a.uri, nonce, nc, cnonce, qop: "auth" as const };
  const response = digestResponse(digestSecret(algorithm, username, p.get("realm")!, a.password ?? USERS.get(username)!), input);
  const params = new Map<string, string>([
    ["username", username],
    ["realm", p.get("realm")!],
    ["nonce", nonce],
    ["uri", a.uri],
    ["algorithm", algorithm],
    ["qop", "auth"],
    ["nc", nc],
    ["cnonce", cnonce],
    ["response", response],
    ["opaque", p.get("opaque")!],
  ]);
  for (const [name, value] of Object.entries(a.override ?? {})) {
    if (value === undefined) params.delete(name);
    else params.set(name, value);
  }
  return serializeAuthParams({ scheme: "Digest", token68: null, params }, new Set(["algorithm", "qop", "nc", "userhash"]));
}

/** The first challenge of a request without credentials. */
async function challenge(c: Client, path: string): Promise<AuthParams> {
  const first = await c.send("GET", path);
  expect(first.status).toBe(401);
  return challengesOf(first)[0]!;
}

function basic(username: string, password: string): Record<string, string> {
  return { Authorization: "Basic " + encodeBasicCredentials(username, password) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("authenticate with BasicAuthentication", () => {
  it("answers 401 with the Basic challenge when there are no credentials, without calling check", async () => {
    await withServer(app(new BasicAuthentication("board")), async (c) => {
      const res = await c.send("GET", "/x");
      expect(res.status).toBe(401);
      expect(res.headers["www-authenticate"]).toBe('Basic realm="board", charset="UTF-8"');
      expect(checks).toBe(0);
    });
  });

  it("lets the right user through: the forward's value is ctx.authorization", async () => {
    await withServer(app(new BasicAuthentication("board")), async (c) => {
      const res = await c.send("GET", "/x", basic("ana", "open: sesame"));
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toEqual({ username: "ana", scheme: "Basic", algorithm: null, same: true });
    });
  });

  it("answers 401 with the challenge for a wrong password or an unknown user", async () => {
    await withServer(app(new BasicAuthentication("board")), async (c) => {
      for (const [user, password] of [
        ["ana", "open: sesamE"],
        ["ana", "open"],
        ["bob", "open: sesame"],
      ] as const) {
        const res = await c.send("GET", "/x", basic(user, password));
        expect(res.status).toBe(401);
        expect(res.headers["www-authenticate"]).toBe('Basic realm="board", charset="UTF-8"');
      }
      expect(checks).toBe(3);
    });
  });

  it("splits on the first colon and decodes UTF-8", async () => {
    USERS.set("zoë", "a:b:ç");
    try {
      await withServer(app(new BasicAuthentication("board")), async (c) => {
        const res = await c.send("GET", "/x", basic("zoë", "a:b:ç"));
        expect(res.status).toBe(200);
        expect(JSON.parse(res.text).username).toBe("zoë");
      });
    } finally {
      USERS.delete("zoë");
    }
  });

  it("answers 401 with the challenge to another scheme", async () => {
    await withServer(app(new BasicAuthentication("board")), async (c) => {
      const res = await c.send("GET", "/x", { Authorization: "Bearer abc.def" });
      expect(res.status).toBe(401);
      expect(res.headers["www-authenticate"]).toBe('Basic realm="board", charset="UTF-8"');
    });
  });

  it.each([
    ["a scheme alone", "Basic"],
    ["no base64", "Basic !!!!"],
    ["auth-params", 'Basic realm="x"'],
    ["no colon", "Basic " + Buffer.from("ana").toString("base64")],
    ["bytes that are not UTF-8", "Basic " + Buffer.from("ana:\xe9t\xe9", "latin1").toString("base64")],
    ["an unterminated quoted-string", 'Digest realm="x'],
    ["garbage", "=== ==="],
  ])("answers 400 to a malformed header: %s", async (_what, value) => {
    await withServer(app(new BasicAuthentication("board")), async (c) => {
      const res = await c.send("GET", "/x", { Authorization: value });
      expect(res.status).toBe(400);
      expect(res.text).toMatch(/^malformed Authorization header: /);
      expect(checks).toBe(0);
    });
  });

  it("answers 400 to two Authorization headers", async () => {
    await withServer(app(new BasicAuthentication("board")), async (c) => {
      const token = encodeBasicCredentials("ana", "open: sesame");
      const text = await c.raw(`GET /x HTTP/1.1\r\nHost: a\r\nAuthorization: Basic ${token}\r\nAuthorization: Basic ${token}\r\nConnection: close\r\n\r\n`);
      expect(text).toMatch(/^HTTP\/1\.1 400 /);
    });
  });

  it("with charset null announces none and reads Latin-1 credentials", async () => {
    USERS.set("zoé", "été");
    try {
      await withServer(app(new BasicAuthentication("board", { charset: null })), async (c) => {
        expect((await c.send("GET", "/x")).headers["www-authenticate"]).toBe('Basic realm="board"');
        const latin1 = "Basic " + Buffer.from("zoé:été", "latin1").toString("base64");
        expect((await c.send("GET", "/x", { Authorization: latin1 })).status).toBe(200);
      });
    } finally {
      USERS.delete("zoé");
    }
  });

  it("works with curl --basic", async () => {
    await withServer(app(new BasicAuthentication("board")), async (c) => {
      expect(await curl(c, "/x", "--basic", "-u", "ana:open: sesame")).toEqual({
        status: 200,
        body: JSON.stringify({ username: "ana", scheme: "Basic", algorithm: null, same: true }),
      });
      expect(JSON.parse((await curl(c, "/x", "--basic", "-u", "Jäsøn Doe:pässwörd")).body).username).toBe("Jäsøn Doe");
      expect((await curl(c, "/x", "--basic", "-u", "ana:wrong")).status).toBe(401);
    });
  });
});

describe("authenticate with DigestAuthentication", () => {
  it("challenges once per algorithm, SHA-256 first, each on its own WWW-Authenticate line", async () => {
    await withServer(app(new DigestAuthentication("api")), async (c) => {
      const text = await c.raw("GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
      expect(text).toMatch(/^HTTP\/1\.1 401 /);
      const lines = text.split("\r\n").filter((l) => /^www-authenticate:/i.test(l));
      expect(lines).toHaveLength(2);
      const [sha, md5] = lines.map((l) => parseChallenges(l.slice(l.indexOf(":") + 1))[0]!);
      expect(sha!.params.get("algorithm")).toBe("SHA-256");
      expect(md5!.params.get("algorithm")).toBe("MD5");
      for (const ch of [sha!, md5!]) {
        expect(ch.scheme).toBe("Digest");
        expect(ch.params.get("realm")).toBe("api");
        expect(ch.params.get("qop")).toBe("auth");
        expect(ch.params.get("charset")).toBe("UTF-8");
        expect(ch.params.get("opaque")).toMatch(/^[\w-]+$/);
        expect(ch.params.has("stale")).toBe(false);
        expect(ch.params.has("userhash")).toBe(false);
      }
      expect(sha!.params.get("nonce")).toBe(md5!.params.get("nonce"));
    });
  });

  it("works with curl --digest: SHA-256 (curl takes the first challenge) and MD5", async () => {
    const router = new Router();
    router.get("/md5/<path:p>", authenticate(new DigestAuthentication("api", { algorithms: ["MD5"] }), check, (req, res, next, ctx, auth) => res.expandUtf8(`${auth.username} ${auth.algorithm}`)));
    router.get("/<path:p>", authenticate(new DigestAuthentication("api"), check, echo));
    await withServer(router, async (c) => {
      const sha = await curl(c, "/a?b=1&c=%20", "--digest", "-u", "ana:open: sesame");
      expect(sha.status).toBe(200);
      expect(JSON.parse(sha.body)).toEqual({ username: "ana", scheme: "Digest", algorithm: "SHA-256", same: true });
      expect(await curl(c, "/md5/x", "--digest", "-u", "ana:open: sesame")).toEqual({ status: 200, body: "ana MD5" });
      expect(JSON.parse((await curl(c, "/x", "--digest", "-u", "Jäsøn Doe:pässwörd")).body).username).toBe("Jäsøn Doe");
      expect((await curl(c, "/x", "--digest", "-u", "ana:wrong")).status).toBe(401);
      expect((await curl(c, "/md5/x", "--digest", "-u", "ana:wrong")).status).toBe(401);
    });
  });

  it("works with curl --digest and userhash=true", async () => {
    const hashes = new Map<string, string>();
    for (const name of USERS.keys()) for (const a of ["SHA-256", "MD5"] as const) hashes.set(`${a} ${digestUserhash(a, name, "api")}`, name);
    const scheme = new DigestAuthentication("api", { userhash: async (hash, algorithm) => hashes.get(`${algorithm} ${hash}`) ?? null });
    await withServer(app(scheme), async (c) => {
      const first = await c.send("GET", "/x");
      expect(challengesOf(first).map((ch) => ch.params.get("userhash"))).toEqual(["true", "true"]);
      const res = await curl(c, "/x", "--digest", "-u", "Jäsøn Doe:pässwörd");
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body).username).toBe("Jäsøn Doe");
      expect((await curl(c, "/x", "--digest", "-u", "nobody:pässwörd")).status).toBe(401);
    });
  });

  it("accepts every algorithm it offers, and a stored H(username:realm:password)", async () => {
    const algorithms: DigestAlgorithm[] = ["SHA-512-256", "SHA-256-sess", "MD5-sess"];
    for (const algorithm of algorithms) {
      await withServer(app(new DigestAuthentication("api", { algorithms: [algorithm] })), async (c) => {
        const ch = await challenge(c, "/x");
        expect(ch.params.get("algorithm")).toBe(algorithm);
        const res = await c.send("GET", "/x", { Authorization: answer(ch, { uri: "/x" }) });
        expect(res.status).toBe(200);
        expect(JSON.parse(res.text).algorithm).toBe(algorithm);
      });
    }
    const stored = new Map([["ana", digestSecret("SHA-256", "ana", "api", "open: sesame")]]);
    const scheme = new DigestAuthentication("api", { algorithms: ["SHA-256"] });
    await withServer(app(scheme, (auth) => (auth as DigestAuthorization).challengeWithSecret(stored.get(auth.username) ?? "")), async (c) => {
      const ch = await challenge(c, "/x");
      expect((await c.send("GET", "/x", { Authorization: answer(ch, { uri: "/x" }) })).status).toBe(200);
      expect((await c.send("GET", "/x", { Authorization: answer(ch, { uri: "/x", nc: "00000002", password: "nope" }) })).status).toBe(401);
    });
  });

  it("reads username* (RFC 8187) and userhash=true from a hand-written client", async () => {
    const scheme = new DigestAuthentication("api", { userhash: (hash, algorithm) => (hash === digestUserhash(algorithm, "Jäsøn Doe", "api") ? "Jäsøn Doe" : null) });
    await withServer(app(scheme), async (c) => {
      const ch = await challenge(c, "/x");
      const star = answer(ch, { uri: "/x", username: "Jäsøn Doe", override: { username: undefined, "username*": encodeExtValue("Jäsøn Doe") } });
      // answer() computed the response with the real name: only the directive changes
      const res = await c.send("GET", "/x", { Authorization: star });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text).username).toBe("Jäsøn Doe");
      const hashed = answer(ch, { uri: "/x", nc: "00000002", username: "Jäsøn Doe", override: { username: digestUserhash("SHA-256", "Jäsøn Doe", "api"), userhash: "true" } });
      expect((await c.send("GET", "/x", { Authorization: hashed })).status).toBe(200);
      const unknown = answer(ch, { uri: "/x", nc: "00000003", override: { username: digestUserhash("SHA-256", "ana", "api"), userhash: "true" } });
      expect((await c.send("GET", "/x", { Authorization: unknown })).status).toBe(401);
    });
    // userhash sent to a scheme that did not offer it: nobody to find
    await withServer(app(new DigestAuthentication("api")), async (c) => {
      const ch = await challenge(c, "/x");
      const hashed = answer(ch, { uri: "/x", override: { username: digestUserhash("SHA-256", "ana", "api"), userhash: "true" } });
      expect((await c.send("GET", "/x", { Authorization: hashed })).status).toBe(401);
    });
  });

  it("refuses a replayed nc with a plain 401, accepts new ones even slightly out of order", async () => {
    await withServer(app(new DigestAuthentication("api")), async (c) => {
      const ch = await challenge(c, "/x");
      const once = { Authorization: answer(ch, { uri: "/x" }) };
      expect((await c.send("GET", "/x", once)).status).toBe(200);
      const replay = await c.send("GET", "/x", once);
      expect(replay.status).toBe(401);
      expect(challengesOf(replay).every((x) => !x.params.has("stale"))).toBe(true);
      expect(checks).toBe(1); // a replay seen before does not even reach check
      expect((await c.send("GET", "/x", { Authorization: answer(ch, { uri: "/x", nc: "00000003" }) })).status).toBe(200);
      expect((await c.send("GET", "/x", { Authorization: answer(ch, { uri: "/x", nc: "00000002" }) })).status).toBe(200);
      expect((await c.send("GET", "/x", { Authorization: answer(ch, { uri: "/x", nc: "00000002" }) })).status).toBe(401);
      // far below the highest count seen: refused even though never seen
      expect((await c.send("GET", "/x", { Authorization: answer(ch, { uri: "/x", nc: "0000ffff" }) })).status).toBe(200);
      expect((await c.send("GET", "/x", { Authorization: answer(ch, { uri: "/x", nc: "00000004" }) })).status).toBe(401);
      // nc is hexadecimal: 0000000a is ten, after 00000009
      const ch2 = await challenge(c, "/x");
      expect((await c.send("GET", "/x", { Authorization: answer(ch2, { uri: "/x", nc: "00000009" }) })).status).toBe(200);
      expect((await c.send("GET", "/x", { Authorization: answer(ch2, { uri: "/x", nc: "0000000a" }) })).status).toBe(200);
      expect((await c.send("GET", "/x", { Authorization: answer(ch2, { uri: "/x", nc: "0000000A" }) })).status).toBe(401);
    });
  });

  it("refuses the second of two concurrent requests with the same nc", async () => {
    const slow = async (auth: Authorization) => {
      await sleep(20);
      return check(auth);
    };
    await withServer(app(new DigestAuthentication("api"), slow), async (c) => {
      const ch = await challenge(c, "/x");
      const headers = { Authorization: answer(ch, { uri: "/x" }) };
      const statuses = (await Promise.all([c.send("GET", "/x", headers), c.send("GET", "/x", headers)])).map((r) => r.status);
      expect(statuses.sort()).toEqual([200, 401]);
    });
  });

  it("answers stale=true only when the digest is right and the nonce old", async () => {
    await withServer(app(new DigestAuthentication("api", { nonceTtl: 30 })), async (c) => {
      const ch = await challenge(c, "/x");
      await sleep(100);
      const right = await c.send("GET", "/x", { Authorization: answer(ch, { uri: "/x" }) });
      expect(right.status).toBe(401);
      const challenges = challengesOf(right);
      expect(challenges.map((x) => [x.params.get("algorithm"), x.params.get("stale")])).toEqual([
        ["SHA-256", "true"],
        ["MD5", "true"],
      ]);
      expect(challenges[0]!.params.get("nonce")).not.toBe(ch.params.get("nonce"));
      const wrong = await c.send("GET", "/x", { Authorization: answer(ch, { uri: "/x", nc: "00000002", password: "wrong" }) });
      expect(wrong.status).toBe(401);
      expect(challengesOf(wrong).some((x) => x.params.has("stale"))).toBe(false);
    });
    // and the client retrying with the new nonce gets in
    await withServer(app(new DigestAuthentication("api", { nonceTtl: 60_000 })), async (c) => {
      const ch = await challenge(c, "/x");
      expect((await c.send("GET", "/x", { Authorization: answer(ch, { uri: "/x" }) })).status).toBe(200);
    });
  });

  it("answers no stale=true to an old nonce when check accepted without verifying the digest", async () => {
    await withServer(app(new DigestAuthentication("api", { nonceTtl: 30 }), () => true), async (c) => {
      const ch = await challenge(c, "/x");
      expect((await c.send("GET", "/x", { Authorization: answer(ch, { uri: "/x", password: "anything" }) })).status).toBe(200);
      await sleep(100);
      const old = await c.send("GET", "/x", { Authorization: answer(ch, { uri: "/x", nc: "00000002", password: "anything" }) });
      expect(old.status).toBe(401);
      expect(challengesOf(old).some((x) => x.params.has("stale"))).toBe(false);
    });
  });

  it("refuses a nonce it did not sign, without stale", async () => {
    await withServer(app(new DigestAuthentication("api")), async (c) => {
      const ch = await challenge(c, "/x");
      const nonce = ch.params.get("nonce")!;
      // The last character's two low bits are padding: flipping one gives the same bytes in
      // another spelling, which must be refused too (it failed one run in ~16 before).
      const last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      const sameBytes = nonce.slice(0, -1) + last[last.indexOf(nonce.at(-1)!) ^ 1];
      const otherBytes = nonce.slice(0, -1) + last[last.indexOf(nonce.at(-1)!) ^ 4];
      for (const forged of [sameBytes, otherBytes, "A".repeat(43), "short", nonce + "x"]) {
        const tampered: AuthParams = { ...ch, params: new Map([...ch.params, ["nonce", forged]]) };
        const res = await c.send("GET", "/x", { Authorization: answer(tampered, { uri: "/x" }) });
        expect(res.status).toBe(401);
        expect(challengesOf(res).some((x) => x.params.has("stale"))).toBe(false);
      }
      expect(checks).toBe(0);
    });
  });

  it("shares nonces between instances (workers) only when they share the secret", async () => {
    const secret = "a secret of more than sixteen bytes";
    const a = new DigestAuthentication("api", { secret });
    const b = new DigestAuthentication("api", { secret });
    const other = new DigestAuthentication("api", { secret: "another secret, just as long" });
    const router = new Router();
    router.get("/a", authenticate(a, check, (req, res) => res.expandUtf8("in")));
    router.get("/b", authenticate(b, check, (req, res) => res.expandUtf8("in")));
    router.get("/other", authenticate(other, check, (req, res) => res.expandUtf8("in")));
    await withServer(router, async (c) => {
      const ch = await challenge(c, "/a");
      expect((await c.send("GET", "/b", { Authorization: answer(ch, { uri: "/b" }) })).status).toBe(200);
      expect((await c.send("GET", "/other", { Authorization: answer(ch, { uri: "/other" }) })).status).toBe(401);
    });
  });

  it("keeps the replay memory bounded: forgotten nonces are stale, never replayable", async () => {
    const scheme = new DigestAuthentication("api", { maxNonces: 4 });
    await withServer(app(scheme), async (c) => {
      const first = await challenge(c, "/x");
      expect((await c.send("GET", "/x", { Authorization: answer(first, { uri: "/x" }) })).status).toBe(200);
      for (let i = 0; i < 10; i++) {
        const ch = await challenge(c, "/x");
        expect((await c.send("GET", "/x", { Authorization: answer(ch, { uri: "/x" }) })).status).toBe(200);
        expect(scheme.trackedNonces).toBeLessThanOrEqual(4);
      }
      const replay = await c.send("GET", "/x", { Authorization: answer(first, { uri: "/x" }) });
      expect(replay.status).toBe(401);
      const again = await c.send("GET", "/x", { Authorization: answer(first, { uri: "/x", nc: "00000002" }) });
      expect(again.status).toBe(401);
      expect(challengesOf(again)[0]!.params.get("stale")).toBe("true");
    });
  });

  it.each([
    ["a uri that is not the request-target", { uri: "/other" }],
    ["a uri without the query", { uri: "/x" }, "/x?q=1"],
    ["no response", { uri: "/x", override: { response: undefined } }],
    ["no nonce", { uri: "/x", override: { nonce: undefined } }],
    ["no cnonce", { uri: "/x", override: { cnonce: undefined } }],
    ["no qop", { uri: "/x", override: { qop: undefined } }],
    ["no username", { uri: "/x", override: { username: undefined } }],
    ["username and username*", { uri: "/x", override: { "username*": "UTF-8''ana" } }],
    ["a bad username*", { uri: "/x", override: { username: undefined, "username*": "ana" } }],
    ["nc not hexadecimal", { uri: "/x", nc: "0000000g" }],
    ["nc too long", { uri: "/x", nc: "000000001" }],
    ["nc zero", { uri: "/x", nc: "00000000" }],
    ["userhash neither true nor false", { uri: "/x", override: { userhash: "yes" } }],
    ["a token68", null],
  ] as [string, Answer | null, string?][])("answers 400 to %s", async (_what, a, target = "/x") => {
    await withServer(app(new DigestAuthentication("api")), async (c) => {
      const ch = await challenge(c, "/x");
      const value = a === null ? "Digest abcdef==" : answer(ch, a);
      const res = await c.send("GET", target, { Authorization: value });
      expect(res.status).toBe(400);
      expect(checks).toBe(0);
    });
  });

  it.each([
    ["another realm", { realm: "elsewhere" }],
    ["another opaque", { opaque: "nope" }],
    ["no opaque", { opaque: undefined }],
    ["qop auth-int", { qop: "auth-int" }],
    ["an algorithm not offered", { algorithm: "SHA-512-256" }],
    ["an unknown algorithm", { algorithm: "SHA-1" }],
  ] as const)("answers 401 to %s", async (_what, override) => {
    await withServer(app(new DigestAuthentication("api")), async (c) => {
      const ch = await challenge(c, "/x");
      const res = await c.send("GET", "/x", { Authorization: answer(ch, { uri: "/x", override }) });
      expect(res.status).toBe(401);
      expect(challengesOf(res)).toHaveLength(2);
      expect(checks).toBe(0);
    });
  });
});

describe("authenticate: the check function", () => {
  it("may be asynchronous", async () => {
    await withServer(app(new BasicAuthentication("board"), async (auth) => check(auth)), async (c) => {
      expect((await c.send("GET", "/x", basic("ana", "open: sesame"))).status).toBe(200);
      expect((await c.send("GET", "/x", basic("ana", "nope"))).status).toBe(401);
    });
  });

  it("answers 401 unless it says true", async () => {
    const loose = ((() => "yes") as unknown) as (auth: Authorization) => boolean;
    await withServer(app(new BasicAuthentication("board"), loose), async (c) => {
      expect((await c.send("GET", "/x", basic("ana", "open: sesame"))).status).toBe(401);
    });
  });

  it("is a 500 when it throws or rejects, logged with the error", async () => {
    const boom = new Error("database down");
    for (const failing of [
      () => {
        throw boom;
      },
      () => Promise.reject(boom),
    ]) {
      logged = [];
      await withServer(app(new BasicAuthentication("board"), failing), async (c) => {
        const res = await c.send("GET", "/x", basic("ana", "open: sesame"));
        expect(res.status).toBe(500);
        expect(res.text).toBe("Internal Server Error");
      });
      expect(logged).toHaveLength(1);
      expect(logged[0]!.error).toBe(boom);
    }
  });

  it("leaves ctx.authorization to the routes after the forward", async () => {
    const router = new Router();
    router.use(authenticate(new BasicAuthentication("board"), check, (req, res, next) => next()));
    router.get("/me", (req, res, next, ctx) => res.expandUtf8((ctx.authorization as Authorization).username));
    await withServer(router, async (c) => {
      expect((await c.send("GET", "/me", basic("ana", "open: sesame"))).text).toBe("ana");
      expect((await c.send("GET", "/me")).status).toBe(401);
    });
  });
});

describe("authenticate: options are checked at registration", () => {
  const forward = () => true;
  it.each([
    ["an empty realm", () => new BasicAuthentication(""), "realm"],
    ["a realm with a quote", () => new BasicAuthentication('a"b'), "realm"],
    ["a realm with CR LF", () => new DigestAuthentication("a\r\nb"), "realm"],
    ["a realm with a backslash", () => new DigestAuthentication("a\\b"), "realm"],
    ["a realm that is no string", () => new BasicAuthentication(5 as unknown as string), "realm"],
    ["another charset", () => new BasicAuthentication("r", { charset: "latin1" as "UTF-8" }), "charset"],
    ["an unknown option", () => new BasicAuthentication("r", { charst: "UTF-8" } as object), "charst"],
    ["an unknown algorithm", () => new DigestAuthentication("r", { algorithms: ["SHA-1" as DigestAlgorithm] }), "algorithms"],
    ["no algorithm", () => new DigestAuthentication("r", { algorithms: [] }), "algorithms"],
    ["an algorithm twice", () => new DigestAuthentication("r", { algorithms: ["MD5", "MD5"] }), "algorithms"],
    ["a zero nonceTtl", () => new DigestAuthentication("r", { nonceTtl: 0 }), "nonceTtl"],
    ["a negative nonceTtl", () => new DigestAuthentication("r", { nonceTtl: -5 }), "nonceTtl"],
    ["a NaN nonceTtl", () => new DigestAuthentication("r", { nonceTtl: NaN }), "nonceTtl"],
    ["a string nonceTtl", () => new DigestAuthentication("r", { nonceTtl: "300" as unknown as number }), "nonceTtl"],
    ["a zero maxNonces", () => new DigestAuthentication("r", { maxNonces: 0 }), "maxNonces"],
    ["a short secret", () => new DigestAuthentication("r", { secret: "short" }), "secret"],
    ["a userhash that is no function", () => new DigestAuthentication("r", { userhash: true as unknown as () => null }), "userhash"],
    ["an unknown Digest option", () => new DigestAuthentication("r", { nonceTTL: 5 } as object), "nonceTTL"],
    ["no scheme", () => authenticate(null as unknown as BasicAuthentication, check, forward), "scheme"],
    ["a check that is no function", () => authenticate(new BasicAuthentication("r"), "yes" as unknown as () => boolean, forward), "check"],
    ["a forward that is no function", () => authenticate(new BasicAuthentication("r"), check, undefined as unknown as () => boolean), "forward"],
  ])("refuses %s", (_what, make, option) => {
    let error: unknown;
    try {
      make();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(VsgiError);
    expect((error as VsgiError).code).toBe("ERR_VSGI_INVALID_OPTION");
    expect((error as VsgiError).message).toContain(`option ${option} must be`);
  });
  it("a status(401) handler that recovers leaves none of the Digest challenges on its answer", async () => {
    const router = new Router();
    router.status(401, (req, res) => res.expandUtf8("please log in"));
    router.get("/x", authenticate(new DigestAuthentication("api"), check, echo));
    await withServer(router, async (c) => {
      const res = await c.send("GET", "/x");
      expect(res.status).toBe(200);
      expect(res.text).toBe("please log in");
      expect(res.headers["www-authenticate"]).toBeUndefined();
    });
  });
});
