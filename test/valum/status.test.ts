import { describe, it, expect, beforeEach, afterEach } from "@jest/globals";
import {
  Router,
  Status,
  Informational,
  Success,
  Redirection,
  ClientError,
  ServerError,
  statusFromCode,
  toStatus,
  statusIsBodiless,
  basic,
} from "../../valum/index.js";
import { STATUS_CODES } from "node:http";
import { VsgiError, setErrorLogger, statusHasBody, type HandlerLike } from "../../vsgi/index.js";
import { withServer, memoryExchange } from "./util.js";

let logged: { message: string; error: unknown }[] = [];
beforeEach(() => {
  logged = [];
  setErrorLogger((message, error) => logged.push({ message, error }));
});
afterEach(() => setErrorLogger((message, error) => console.error(message, error)));

function throwing(status: unknown) {
  const app = new Router();
  app.get("/", () => {
    throw status;
  });
  return app;
}

describe("status classes", () => {
  it("each class takes its own range and keeps code and message", () => {
    const s = new ClientError(404, "no such user");
    expect(s).toBeInstanceOf(Status);
    expect(s).toBeInstanceOf(Error);
    expect(s.code).toBe(404);
    expect(s.message).toBe("no such user");
    expect(s.name).toBe("ClientError");
    expect(() => new ClientError(500)).toThrow(RangeError);
    expect(() => new Success(302)).toThrow(RangeError);
    expect(() => new Status(99)).toThrow(RangeError);
    expect(new ServerError(503).message).toBe("Service Unavailable");
  });

  it("has named helpers with the standard codes", () => {
    expect(Informational.switchingProtocols("websocket").code).toBe(101);
    expect(Success.created("/x").code).toBe(201);
    expect(Success.noContent().code).toBe(204);
    expect(Redirection.found("/x").code).toBe(302);
    expect(Redirection.seeOther("/x").code).toBe(303);
    expect(Redirection.notModified().code).toBe(304);
    expect(Redirection.permanentRedirect("/x").code).toBe(308);
    expect(ClientError.badRequest().code).toBe(400);
    expect(ClientError.unauthorized().code).toBe(401);
    expect(ClientError.notFound().code).toBe(404);
    expect(ClientError.methodNotAllowed("GET").code).toBe(405);
    expect(ClientError.imATeapot().code).toBe(418);
    expect(ClientError.unprocessableContent().code).toBe(422);
    expect(ClientError.upgradeRequired("h2c").code).toBe(426);
    expect(ClientError.tooManyRequests().code).toBe(429);
    expect(ServerError.notImplemented().code).toBe(501);
    expect(ServerError.serviceUnavailable().code).toBe(503);
  });

  it("every helper of the tables makes its class, with a standard code, and works detached", () => {
    const classes = { Informational, Success, Redirection, ClientError, ServerError } as const;
    let count = 0;
    for (const [name, cls] of Object.entries(classes)) {
      for (const helper of Object.getOwnPropertyNames(cls).filter((key) => typeof (cls as unknown as Record<string, unknown>)[key] === "function")) {
        const make = (cls as unknown as Record<string, (a?: string) => Status>)[helper]!; // detached: no `this`
        const status = helper === "switchingProtocols" ? make("h2c") : make();
        expect(status).toBeInstanceOf(cls);
        expect(status.name).toBe(name);
        expect(STATUS_CODES[status.code]).toBeDefined();
        count++;
      }
    }
    expect(count).toBe(64);
    expect(ClientError.tooManyRequests("slow down", 60).headers).toEqual({ "Retry-After": "60" });
    expect(ServerError.serviceUnavailable().headers).toEqual({});
    expect(Redirection.found("/x").headers).toEqual({ Location: "/x" });
  });

  it("the bodiless statuses are VSGI's, 205 included", () => {
    for (let code = 100; code < 600; code++) expect(statusIsBodiless(code)).toBe(!statusHasBody("GET", code));
    expect(statusIsBodiless(205)).toBe(true);
  });

  it("statusFromCode and toStatus pick the class and read VsgiError's status", () => {
    expect(statusFromCode(307, "/x")).toBeInstanceOf(Redirection);
    expect(statusFromCode(451)).toBeInstanceOf(ClientError);
    const from = toStatus(new VsgiError("ERR_X", "too big", { status: 413 }));
    expect(from).toBeInstanceOf(ClientError);
    expect(from!.code).toBe(413);
    expect(toStatus(new Error("x"))).toBeNull();
    expect(toStatus(new VsgiError("ERR_X", "no status"))).toBeNull();
  });
});

describe("thrown statuses become responses", () => {
  it("a 4xx or 5xx sends its message as a text/plain body", async () => {
    await withServer(throwing(ClientError.notFound("no user 5")), async (c) => {
      const res = await c.send("GET", "/");
      expect(res.status).toBe(404);
      expect(res.headers["content-type"]).toBe("text/plain; charset=UTF-8");
      expect(res.text).toBe("no user 5");
    });
    await withServer(throwing(new ServerError(503, "maintenance", { headers: { "Retry-After": "60" } })), async (c) => {
      const res = await c.send("GET", "/");
      expect(res.status).toBe(503);
      expect(res.headers["retry-after"]).toBe("60");
      expect(res.text).toBe("maintenance");
    });
  });

  it("201 and 3xx put the message in Location", async () => {
    for (const [status, code] of [
      [Success.created("/users/5"), 201],
      [Redirection.movedPermanently("/users/5"), 301],
      [Redirection.found("/users/5"), 302],
      [new Redirection(307, "/users/5"), 307],
    ] as const) {
      await withServer(throwing(status), async (c) => {
        const res = await c.send("GET", "/");
        expect(res.status).toBe(code);
        expect(res.headers.location).toBe("/users/5");
        expect(res.text).toBe("");
      });
    }
  });

  it("401 puts the message in WWW-Authenticate", async () => {
    await withServer(throwing(ClientError.unauthorized('Basic realm="app"')), async (c) => {
      const res = await c.send("GET", "/");
      expect(res.status).toBe(401);
      expect(res.headers["www-authenticate"]).toBe('Basic realm="app"');
    });
  });

  it("a header given as a list goes out as one line per value (several challenges)", async () => {
    const challenges = ['Digest realm="app", algorithm=SHA-256', 'Digest realm="app", algorithm=MD5'];
    await withServer(throwing(new ClientError(401, undefined, { headers: { "WWW-Authenticate": challenges } })), async (c) => {
      // node's client joins them in `headers`: read the lines off the socket.
      const text = await c.raw("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      expect(text).toMatch(/^HTTP\/1\.1 401 /);
      expect(text.split("\r\n").filter((line) => /^www-authenticate:/i.test(line))).toEqual(challenges.map((value) => `WWW-Authenticate: ${value}`));
    });
  });

  it("405 puts the message in Allow", async () => {
    await withServer(throwing(ClientError.methodNotAllowed("GET, POST")), async (c) => {
      const res = await c.send("GET", "/");
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe("GET, POST");
    });
  });

  it("a header-carrying status thrown without a message sets no header and sends its reason", async () => {
    await withServer(throwing(new ClientError(401)), async (c) => {
      const res = await c.send("GET", "/");
      expect(res.status).toBe(401);
      expect(res.headers["www-authenticate"]).toBeUndefined();
      expect(res.text).toBe("Unauthorized");
    });
  });

  it("407 puts the message in Proxy-Authenticate", async () => {
    await withServer(throwing(ClientError.proxyAuthenticationRequired('Basic realm="proxy"')), async (c) => {
      const res = await c.send("GET", "/");
      expect(res.status).toBe(407);
      expect(res.headers["proxy-authenticate"]).toBe('Basic realm="proxy"');
    });
  });

  it("426 puts the message in Upgrade", async () => {
    await withServer(throwing(ClientError.upgradeRequired("TLS/1.3")), async (c) => {
      const res = await c.send("GET", "/");
      expect(res.status).toBe(426);
      expect(res.headers.upgrade).toBe("TLS/1.3");
    });
  });

  it("101 puts the message in Upgrade", () => {
    const { req, res } = memoryExchange("GET", "/");
    void throwing(Informational.switchingProtocols("websocket")).handle(req, res);
    expect(res.head?.status).toBe(101);
    expect(res.head?.headers.get("upgrade")).toBe("websocket");
    expect(res.text).toBe("");
  });

  it("204, 205 and 304 have no body", async () => {
    for (const status of [Success.noContent(), Success.resetContent(), Redirection.notModified()]) {
      await withServer(throwing(status), async (c) => {
        const raw = await c.raw("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        expect(raw).toMatch(new RegExp(`^HTTP/1\\.1 ${status.code} `));
        expect(raw.endsWith("\r\n\r\n")).toBe(true);
        expect(raw).not.toMatch(/location|content-type/i);
        // a 205 says it has no content, so that the connection can go on (RFC 9112 6.3)
        if (status.code === 205) expect(raw).toMatch(/\r\ncontent-length: 0\r\n/i);
        else expect(raw).not.toMatch(/content-length/i);
      });
    }
  });

  it("the router and the bare gateway answer an error the same way (one place builds the answer)", async () => {
    const failing = (error: unknown) => (req: unknown, res: { headers: { set(n: string, v: string): void } }) => {
      res.headers.set("X-Kept", "yes");
      res.headers.set("ETag", '"stale"');
      throw error;
    };
    for (const error of [new VsgiError("ERR_X", "body too large", { status: 413 }), new Error("secret detail")]) {
      const answers: unknown[] = [];
      const router = new Router();
      router.get("/", failing(error));
      for (const app of [router, failing(error) as unknown as HandlerLike]) {
        logged = [];
        await withServer(app, async (c) => {
          const res = await c.send("GET", "/");
          answers.push([res.status, res.headers["content-type"], res.headers["x-kept"], res.headers.etag, res.text]);
          // the gateway also logs a coded error the application let through; a router answers it
          const expected = error instanceof VsgiError && app === router ? [] : ["GET /: unhandled error"];
          expect(logged.map((l) => l.message)).toEqual(expected);
        });
      }
      expect(answers[1]).toEqual(answers[0]);
    }
    // and what they both answer
    await withServer(failing(new VsgiError("ERR_X", "body too large", { status: 413 })) as unknown as HandlerLike, async (c) => {
      const res = await c.send("GET", "/");
      expect([res.status, res.headers["content-type"], res.headers["x-kept"], res.headers.etag, res.text]).toEqual([
        413,
        "text/plain; charset=UTF-8",
        "yes",
        undefined,
        "body too large",
      ]);
    });
  });

  it("replaces the headers that described the abandoned body", async () => {
    const app = new Router();
    app.get("/", (req, res) => {
      res.headers.set("Content-Type", "application/json");
      res.headers.set("X-Kept", "yes");
      throw ClientError.conflict("taken");
    });
    await withServer(app, async (c) => {
      const res = await c.send("GET", "/");
      expect(res.status).toBe(409);
      expect(res.headers["content-type"]).toBe("text/plain; charset=UTF-8");
      expect(res.headers["x-kept"]).toBe("yes");
    });
  });

  it("works for statuses thrown in async handlers and deep in next chains", async () => {
    const app = new Router();
    app.use(async (req, res, next) => next());
    app.get("/", async () => {
      await new Promise((r) => setTimeout(r, 1));
      throw Redirection.seeOther("/elsewhere");
    });
    await withServer(app, async (c) => {
      const res = await c.send("GET", "/");
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe("/elsewhere");
    });
  });

  it("a VsgiError with a status becomes that status", async () => {
    const app = new Router();
    app.post("/", async (req, res) => res.expand(await req.flatten(4)));
    await withServer(app, async (c) => {
      const res = await c.send("POST", "/", {}, "far too long");
      expect(res.status).toBe(413);
      expect(res.text).toMatch(/larger than 4 bytes/);
    });
  });

  it("any other error is a 500 that reveals nothing, logged with its stack", async () => {
    const app = new Router();
    app.get("/", (req, res) => {
      res.headers.set("X-Leak", "internal");
      throw new Error("database password is hunter2");
    });
    await withServer(app, async (c) => {
      const res = await c.send("GET", "/");
      expect(res.status).toBe(500);
      expect(res.text).toBe("Internal Server Error");
      expect(res.headers["x-leak"]).toBeUndefined();
      expect(logged).toHaveLength(1);
      expect((logged[0]!.error as Error).stack).toMatch(/hunter2[^]*status\.test/);
    });
  });

  it("a status thrown after the head is written is logged and the connection closed", async () => {
    const app = new Router();
    app.get("/", async (req, res) => {
      res.writeHead();
      await res.append("partial");
      throw ClientError.notFound();
    });
    await withServer(app, async (c) => {
      const raw = await c.raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 2000);
      expect(raw).toMatch(/^HTTP\/1\.1 200 /);
      expect(raw).toContain("partial");
      expect(raw).not.toContain("0\r\n\r\n"); // the chunked body never ends: the connection was cut
      expect(logged).toHaveLength(1);
      expect(logged[0]!.message).toMatch(/status 404 thrown after the head was written/);
    });
  });
});

describe("status(code, handler)", () => {
  it("catches one code thrown downstream; its context has the status and message", async () => {
    const app = new Router();
    app.status(404, (req, res, next, ctx) => {
      res.status = 404;
      return res.expandUtf8(`custom: ${ctx.message} (${ctx.status.code})`);
    });
    app.get("/users/<int:id>", (req, res, next, ctx) => {
      throw ClientError.notFound(`no user ${ctx.id}`);
    });
    app.get("/teapot", () => {
      throw ClientError.imATeapot();
    });
    await withServer(app, async (c) => {
      const res = await c.send("GET", "/users/3");
      expect(res.status).toBe(404);
      expect(res.text).toBe("custom: no user 3 (404)");
      const other = await c.send("GET", "/teapot");
      expect(other.status).toBe(418);
      expect(other.text).toBe("I'm a Teapot");
    });
  });

  it("catches the router's own 404 and 405", async () => {
    const app = new Router();
    app.status(404, (req, res) => res.expandUtf8(`nothing at ${req.path}`));
    app.status(405, (req, res, next, ctx) => {
      res.status = 405;
      res.headers.set("Allow", ctx.message);
      return res.expandUtf8("use another method");
    });
    app.get("/x", (req, res) => res.expandUtf8("x"));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/nope")).text).toBe("nothing at /nope");
      const wrong = await c.send("DELETE", "/x");
      expect(wrong.status).toBe(405);
      expect(wrong.headers.allow).toBe("GET, HEAD");
      expect(wrong.text).toBe("use another method");
    });
  });

  it("only catches what the routes after it throw", async () => {
    const app = new Router();
    app.get("/early", () => {
      throw ClientError.notFound("early");
    });
    app.status(404, (req, res) => res.expandUtf8("caught"));
    app.get("/late", () => {
      throw ClientError.notFound("late");
    });
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/early")).text).toBe("early");
      expect((await c.send("GET", "/late")).text).toBe("caught");
    });
  });

  it("may call next to retry the routes that threw", async () => {
    const app = new Router();
    let attempts = 0;
    app.status(503, (req, res, next) => next());
    app.get("/flaky", async (req, res) => {
      attempts++;
      if (attempts < 2) throw ServerError.serviceUnavailable("try again");
      return res.expandUtf8(`worked after ${attempts}`);
    });
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/flaky")).text).toBe("worked after 2");
    });
  });

  it("lets a status it does not catch go up, and a retry that throws again is answered normally", async () => {
    const app = new Router();
    app.status(503, (req, res, next) => next());
    app.get("/down", () => {
      throw ServerError.serviceUnavailable("still down");
    });
    await withServer(app, async (c) => {
      const res = await c.send("GET", "/down");
      expect(res.status).toBe(503);
      expect(res.text).toBe("still down");
    });
  });

  it("basic() answers statuses at a chosen point", async () => {
    const app = new Router();
    app.use(basic());
    app.get("/", () => {
      throw Redirection.found("/there");
    });
    await withServer(app, async (c) => {
      const res = await c.send("GET", "/");
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe("/there");
    });
  });
});
