import { describe, it, expect } from "@jest/globals";
import { Router, Method, ClientError, BasicAuthentication, authenticate, cors, forward, type CorsOptions } from "../../../valum/index.js";
import { ERR_INVALID_OPTION } from "../../../vsgi/index.js";
import { withServer } from "../util.js";

/** cors, then an authentication that refuses everyone but counts its runs, then a route. */
function guarded(options: CorsOptions) {
  const runs = { auth: 0 };
  const app = new Router();
  app.use(cors(options));
  app.use((req, res, next) => {
    runs.auth++;
    if (req.header("authorization") !== "Bearer ok") throw ClientError.unauthorized('Bearer realm="api"');
    return next();
  });
  app.get("/data", (req, res) => {
    res.headers.set("X-Total", "3");
    return res.expandUtf8("data");
  });
  return { app, runs };
}

const AUTH = { Authorization: "Bearer ok" };
const PREFLIGHT = { "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "Content-Type, X-Token" };

describe("cors, any origin", () => {
  it('answers "*" without Vary: Origin, with or without an Origin', async () => {
    const { app } = guarded({});
    await withServer(app, async (c) => {
      const res = await c.send("GET", "/data", { Origin: "https://a.example", ...AUTH });
      expect(res.status).toBe(200);
      expect(res.headers["access-control-allow-origin"]).toBe("*");
      expect(res.headers["access-control-allow-credentials"]).toBeUndefined();
      expect(res.headers["vary"]).toBeUndefined();
      expect((await c.send("GET", "/data", AUTH)).headers["access-control-allow-origin"]).toBe("*");
    });
  });

  it("answers a preflight 204 before authentication, allowing the headers asked for", async () => {
    const { app, runs } = guarded({});
    await withServer(app, async (c) => {
      const res = await c.send("OPTIONS", "/data", { Origin: "https://a.example", ...PREFLIGHT });
      expect(res.status).toBe(204);
      expect(res.body.length).toBe(0);
      expect(res.headers["access-control-allow-origin"]).toBe("*");
      expect(res.headers["access-control-allow-methods"]).toBe("GET, HEAD, PUT, PATCH, POST, DELETE");
      expect(res.headers["access-control-allow-headers"]).toBe("content-type, x-token");
      expect(res.headers["vary"]).toBe("Access-Control-Request-Headers");
      expect(res.headers["access-control-max-age"]).toBeUndefined();
      expect(runs.auth).toBe(0);
      // a plain OPTIONS (no Access-Control-Request-Method) is no preflight: it goes on
      expect((await c.send("OPTIONS", "/data", { Origin: "https://a.example" })).status).toBe(401);
      expect(runs.auth).toBe(1);
    });
  });

  it("does not reflect a malformed Access-Control-Request-Headers", async () => {
    const { app } = guarded({});
    await withServer(app, async (c) => {
      const res = await c.send("OPTIONS", "/data", { Origin: "https://a.example", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "a b, c" });
      expect(res.status).toBe(204);
      expect(res.headers["access-control-allow-headers"]).toBeUndefined();
    });
  });
});

describe("cors, a list of origins with credentials", () => {
  const options: CorsOptions = { origin: ["https://a.example", "http://localhost:8080"], credentials: true, exposeHeaders: ["X-Total"], maxAge: 600 };

  it("reflects an allowed origin with credentials, exposed headers and Vary: Origin", async () => {
    const { app } = guarded(options);
    await withServer(app, async (c) => {
      for (const origin of ["https://a.example", "http://localhost:8080"]) {
        const res = await c.send("GET", "/data", { Origin: origin, ...AUTH });
        expect(res.status).toBe(200);
        expect(res.headers["access-control-allow-origin"]).toBe(origin);
        expect(res.headers["access-control-allow-credentials"]).toBe("true");
        expect(res.headers["access-control-expose-headers"]).toBe("X-Total");
        expect(res.headers["vary"]).toBe("Origin");
      }
    });
  });

  it("never allows null or look-alike origins, and still says Vary: Origin", async () => {
    const { app } = guarded(options);
    await withServer(app, async (c) => {
      for (const origin of ["null", "https://a.example.evil.example", "https://evil-a.example", "http://a.example", "https://a.example:8443", "https://A.EXAMPLE", "https://a.example, https://a.example"]) {
        const res = await c.send("GET", "/data", { Origin: origin, ...AUTH });
        expect(res.status).toBe(200);
        expect(res.headers["access-control-allow-origin"]).toBeUndefined();
        expect(res.headers["access-control-allow-credentials"]).toBeUndefined();
        expect(res.headers["vary"]).toBe("Origin");
      }
      const none = await c.send("GET", "/data", AUTH);
      expect(none.headers["access-control-allow-origin"]).toBeUndefined();
      expect(none.headers["vary"]).toBe("Origin");
    });
  });

  it("answers preflights 204 before authentication, allowed or not, with Vary", async () => {
    const { app, runs } = guarded(options);
    await withServer(app, async (c) => {
      const ok = await c.send("OPTIONS", "/data", { Origin: "https://a.example", ...PREFLIGHT });
      expect(ok.status).toBe(204);
      expect(ok.headers["access-control-allow-origin"]).toBe("https://a.example");
      expect(ok.headers["access-control-allow-credentials"]).toBe("true");
      expect(ok.headers["access-control-allow-headers"]).toBe("content-type, x-token");
      expect(ok.headers["access-control-max-age"]).toBe("600");
      expect(ok.headers["vary"]).toBe("Origin, Access-Control-Request-Headers");
      const refused = await c.send("OPTIONS", "/data", { Origin: "https://evil.example", ...PREFLIGHT });
      expect(refused.status).toBe(204);
      expect(refused.headers["access-control-allow-origin"]).toBeUndefined();
      expect(refused.headers["access-control-allow-methods"]).toBeUndefined();
      expect(refused.headers["vary"]).toBe("Origin, Access-Control-Request-Headers");
      expect(runs.auth).toBe(0);
    });
  });

  it("answers preflights before the real authenticate middleware, which still guards the rest", async () => {
    let checks = 0;
    const app = new Router();
    app.use(cors(options));
    app.use(
      authenticate(
        new BasicAuthentication("api"),
        (auth) => {
          checks++;
          return auth.challengeWithPassword("secret") && auth.username === "ana";
        },
        forward,
      ),
    );
    app.rule(Method.GET | Method.PUT, "/data", (req, res) => res.expandUtf8("data"));
    await withServer(app, async (c) => {
      const preflight = await c.send("OPTIONS", "/data", { Origin: "https://a.example", ...PREFLIGHT });
      expect(preflight.status).toBe(204);
      expect(preflight.headers["access-control-allow-origin"]).toBe("https://a.example");
      expect(preflight.headers["www-authenticate"]).toBeUndefined();
      const refused = await c.send("PUT", "/data", { Origin: "https://a.example" });
      expect(refused.status).toBe(401);
      expect(refused.headers["access-control-allow-origin"]).toBe("https://a.example");
      const basic = "Basic " + Buffer.from("ana:secret").toString("base64");
      expect((await c.send("PUT", "/data", { Origin: "https://a.example", Authorization: basic })).text).toBe("data");
    });
    expect(checks).toBe(1);
  });

  it("keeps its headers on a thrown status, so the page can read the error", async () => {
    const { app } = guarded(options);
    await withServer(app, async (c) => {
      const res = await c.send("GET", "/data", { Origin: "https://a.example" });
      expect(res.status).toBe(401);
      expect(res.headers["access-control-allow-origin"]).toBe("https://a.example");
      expect(res.headers["www-authenticate"]).toBe('Bearer realm="api"');
    });
  });

  it("merges Vary with what is there, once", async () => {
    const app = new Router();
    app.use((req, res, next) => {
      res.headers.append("Vary", "accept-encoding");
      res.headers.append("Vary", "origin");
      return next();
    });
    app.use(cors({ origin: "https://a.example" }));
    app.get("/", (req, res) => res.expandUtf8("x"));
    await withServer(app, async (c) => {
      const res = await c.send("GET", "/", { Origin: "https://a.example" });
      expect(res.headers["access-control-allow-origin"]).toBe("https://a.example");
      expect(res.headers["vary"]).toBe("accept-encoding, origin");
    });
  });

  it("never takes a Vary sent in the request (GHSA-q7jf-gf43-6x6p)", async () => {
    const { app } = guarded(options);
    await withServer(app, async (c) => {
      const res = await c.send("GET", "/data", { Origin: "https://a.example", Vary: "Cookie, *", ...AUTH });
      expect(res.headers["vary"]).toBe("Origin");
    });
  });

  it("sends fixed allowHeaders without reflecting", async () => {
    const { app } = guarded({ origin: "https://a.example", allowHeaders: ["Content-Type"], methods: ["GET", "PUT"] });
    await withServer(app, async (c) => {
      const res = await c.send("OPTIONS", "/data", { Origin: "https://a.example", ...PREFLIGHT });
      expect(res.headers["access-control-allow-headers"]).toBe("Content-Type");
      expect(res.headers["access-control-allow-methods"]).toBe("GET, PUT");
      expect(res.headers["vary"]).toBe("Origin");
    });
  });
});

describe("cors, a RegExp or a function", () => {
  it("matches an anchored RegExp on the whole origin, every alternative anchored", async () => {
    const app = new Router();
    app.use(cors({ origin: /^https:\/\/a\.example|https:\/\/([a-z]+\.)?b\.example$/ }));
    app.get("/", (req, res) => res.expandUtf8("x"));
    await withServer(app, async (c) => {
      for (const origin of ["https://a.example", "https://b.example", "https://x.b.example"]) {
        expect((await c.send("GET", "/", { Origin: origin })).headers["access-control-allow-origin"]).toBe(origin);
      }
      for (const origin of ["https://a.example.evil.example", "https://evil.example/https://b.example", "null"]) {
        const res = await c.send("GET", "/", { Origin: origin });
        expect(res.headers["access-control-allow-origin"]).toBeUndefined();
        expect(res.headers["vary"]).toBe("Origin");
      }
    });
  });

  it("asks a function, which may answer later and may allow null", async () => {
    const asked: string[] = [];
    const app = new Router();
    app.use(
      cors({
        origin: async (origin, req) => {
          asked.push(`${origin} ${req.path}`);
          return origin === "null" || origin.endsWith(".trusted.example");
        },
        credentials: true,
      }),
    );
    app.get("/", (req, res) => res.expandUtf8("x"));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/", { Origin: "null" })).headers["access-control-allow-origin"]).toBe("null");
      const ok = await c.send("OPTIONS", "/", { Origin: "https://x.trusted.example", ...PREFLIGHT });
      expect(ok.status).toBe(204);
      expect(ok.headers["access-control-allow-origin"]).toBe("https://x.trusted.example");
      expect((await c.send("GET", "/", { Origin: "https://other.example" })).headers["access-control-allow-origin"]).toBeUndefined();
      expect(asked).toEqual(["null /", "https://x.trusted.example /", "https://other.example /"]);
    });
  });
});

describe("cors options", () => {
  const refused: [unknown, string, string][] = [
    [{ origin: /https:\/\/a\.example/ }, "origin", "anchored"],
    [{ origin: /^https:\/\/a\.example/ }, "origin", "anchored"],
    [{ origin: /^https:\/\/a\.example\$/ }, "origin", "anchored"],
    [{ origin: /^https:\/\/a\.example$/m }, "origin", "anchored"],
    [{ origin: "*", credentials: true }, "origin", 'never "*"'],
    [{ origin: ["https://a.example", "null"] }, "origin", "opaque"],
    [{ origin: ["https://a.example/"] }, "origin", "(https://a.example: no path"],
    [{ origin: ["https://a.example:443"] }, "origin", "no default port"],
    [{ origin: ["ftp.example"] }, "origin", "http or https"],
    [{ origin: [] }, "origin", "non-empty"],
    [{ origin: 42 }, "origin", "anchored RegExp"],
    [{ origins: ["https://a.example"] }, "origins", "one of origin, credentials"],
    [{ credentials: "yes" }, "credentials", "boolean"],
    [{ methods: ["GET POST"] }, "methods", "method names"],
    [{ exposeHeaders: ["*"], origin: "https://a.example", credentials: true }, "exposeHeaders", "header names"],
    [{ maxAge: -5 }, "maxAge", "seconds"],
  ];
  it("are checked at registration, the error naming the option", () => {
    for (const [options, option, wanted] of refused) {
      let error: unknown;
      try {
        cors(options as CorsOptions);
      } catch (caught) {
        error = caught;
      }
      expect(error).toMatchObject({ code: ERR_INVALID_OPTION });
      expect((error as Error).message).toContain(`cors: option ${option} must be`);
      expect((error as Error).message).toContain(wanted);
    }
  });
});
