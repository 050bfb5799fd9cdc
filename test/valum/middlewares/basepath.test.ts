import { describe, it, expect, afterEach } from "@jest/globals";
import { Router, basepath, isOriginPath, Redirection, Success, ClientError, type HandlerCallback } from "../../../valum/index.js";
import { Server, ERR_INVALID_OPTION } from "../../../vsgi/index.js";
import { scgiRequest } from "../../helpers/scgi-client.js";
import { withServer } from "../util.js";

/** Answers with where the request is, as the sub-handler sees it. */
const where: HandlerCallback = (req, res) => res.expandUtf8(`${req.scriptName}|${req.path}`);

describe("basepath: matching", () => {
  const app = new Router();
  app.use(basepath("/api/v1", where));
  app.get("/api/v10", (req, res) => res.expandUtf8("outer v10"));
  app.get("/api/v1x/<name>", (req, res, next, ctx) => res.expandUtf8(`outer ${ctx.name}`));

  it("takes the prefix itself and what is below it, on a segment boundary", async () => {
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/api/v1")).text).toBe("/api/v1|/");
      expect((await c.send("GET", "/api/v1/")).text).toBe("/api/v1|/");
      expect((await c.send("GET", "/api/v1/x/y?q=1")).text).toBe("/api/v1|/x/y");
      expect((await c.send("GET", "/api/v10")).text).toBe("outer v10");
      expect((await c.send("GET", "/api/v1x/a")).text).toBe("outer a");
      expect((await c.send("GET", "/api")).status).toBe(404);
    });
  });

  it("compares the normalized path the router matches (dot segments resolved first)", async () => {
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/api/x/../v1/users")).text).toBe("/api/v1|/users");
      expect((await c.send("GET", "/api/v1/../v10")).text).toBe("outer v10");
    });
  });

  it("matches a multibyte prefix written decoded or encoded, as a rule's literal", async () => {
    const intl = new Router();
    intl.use(basepath("/café", where));
    intl.use(basepath("/naïve%20x", where));
    intl.get("/cafés", (req, res) => res.expandUtf8("outer cafés"));
    await withServer(intl, async (c) => {
      expect((await c.send("GET", "/caf%C3%A9/menu")).text).toBe("/caf%C3%A9|/menu");
      expect((await c.send("GET", "/caf%C3%A9s")).text).toBe("outer cafés");
      expect((await c.send("GET", "/na%C3%AFve%20x/a")).text).toBe("/na%C3%AFve%20x|/a");
    });
  });

  it("is a no-op at the root", async () => {
    const root = new Router().use(basepath("/", where));
    await withServer(root, async (c) => {
      expect((await c.send("GET", "/a/b")).text).toBe("|/a/b");
    });
  });
});

describe("basepath: restoring the path", () => {
  it("restores the path and the scriptName when the sub-handler calls next, and after it", async () => {
    const seen: string[] = [];
    const app = new Router();
    app.use(
      basepath("/api", async (req, res, next) => {
        seen.push(`in ${req.scriptName}|${req.path}`);
        const handled = await next();
        seen.push(`back ${req.scriptName}|${req.path}`);
        return handled;
      }),
    );
    app.use((req, res, next) => {
      seen.push(`after ${req.scriptName}|${req.path}`);
      return next();
    });
    app.get("/api/x", (req, res) => res.expandUtf8(`outer ${req.path}`));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/api/x")).text).toBe("outer /api/x");
    });
    expect(seen).toEqual(["in /api|/x", "after |/api/x", "back /api|/x"]);
  });

  it("restores the path on every way out: return, throw, rejection", async () => {
    const paths: string[] = [];
    const record: HandlerCallback = (req, res, next) => {
      paths.push(`${req.scriptName}|${req.path}`);
      return next();
    };
    const app = new Router();
    app.status(418, (req, res) => res.expandUtf8(`caught at ${req.scriptName}|${req.path}`));
    app.use(
      basepath("/sync", (req, res, next) => {
        next(); // handled by the 404 below
        return false;
      }),
    );
    app.use(
      basepath("/throw", () => {
        throw new ClientError(418, "teapot");
      }),
    );
    app.use(
      basepath("/reject", async () => {
        await new Promise((resolve) => setImmediate(resolve));
        throw new ClientError(418, "teapot");
      }),
    );
    app.use(record);
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/throw/a")).text).toBe("caught at |/throw/a");
      expect((await c.send("GET", "/reject/a")).text).toBe("caught at |/reject/a");
      expect((await c.send("GET", "/sync/a")).status).toBe(404);
    });
    expect(paths).toEqual(["|/sync/a"]);
  });

  it("leaves the path alone once the sub-handler has finished, even if it did not wait for next", async () => {
    let last: { req: { path: string; scriptName: string } } | null = null;
    const app = new Router();
    app.use(
      basepath("/api", (req, res, next) => {
        void next(); // not awaited: the sub-handler is done before the outer route is
        return true;
      }),
    );
    app.get("/api/x", async (req, res) => {
      await new Promise((resolve) => setImmediate(resolve));
      last = { req };
      return res.expandUtf8(`outer ${req.scriptName}|${req.path}`);
    });
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/api/x")).text).toBe("outer |/api/x");
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(last!.req.path).toBe("/api/x");
    expect(last!.req.scriptName).toBe("");
  });

  it("gives a nested Router the stripped path; its routes and 404 are its own", async () => {
    const api = new Router();
    api.get("/users/<int:id>", (req, res, next, ctx) => res.expandUtf8(`user ${ctx.id} at ${req.scriptName}`));
    const app = new Router();
    app.use(basepath("/api", api));
    app.get("/users/<int:id>", (req, res) => res.expandUtf8("outer user"));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/api/users/5")).text).toBe("user 5 at /api");
      expect((await c.send("GET", "/users/5")).text).toBe("outer user");
      expect((await c.send("GET", "/api/nothing")).status).toBe(404);
    });
  });
});

describe("basepath: Location", () => {
  it("moves a Location set by the sub-handler under the prefix, once", async () => {
    const api = new Router();
    api.post("/users", (req, res) => {
      res.status = 201;
      res.headers.set("Location", "/users/5");
      return res.expand("");
    });
    api.get("/streamed", async (req, res) => {
      res.status = 302;
      res.headers.set("Location", "/elsewhere");
      await res.append("moving");
      return res.end();
    });
    api.get("/set-then-next", (req, res, next) => {
      res.headers.set("Location", "/from-sub");
      return next();
    });
    api.get("/set-then-next", (req, res) => {
      res.status = 303;
      return res.end();
    });
    const app = new Router();
    app.use(basepath("/api", api));
    await withServer(app, async (c) => {
      const created = await c.send("POST", "/api/users");
      expect(created.status).toBe(201);
      expect(created.headers.location).toBe("/api/users/5");
      const streamed = await c.send("GET", "/api/streamed");
      expect(streamed.headers.location).toBe("/api/elsewhere");
      expect(streamed.text).toBe("moving");
      expect((await c.send("GET", "/api/set-then-next")).headers.location).toBe("/api/from-sub");
    });
  });

  it("moves the Location of a thrown 201, 301, 302, 303, 307 and 308 under the prefix", async () => {
    const api = new Router();
    const codes = [201, 301, 302, 303, 307, 308];
    for (const code of codes) {
      api.get(`/${code}`, () => {
        throw code === 201 ? new Success(201, "/made") : new Redirection(code, "/moved");
      });
    }
    const app = new Router();
    // a plain handler that lets the thrown status pass through basepath to the outer router
    app.use(basepath("/api", (req, res, next) => {
      const route = req.path.slice(1);
      if (!codes.includes(Number(route))) return next();
      throw Number(route) === 201 ? new Success(201, "/made") : new Redirection(Number(route), "/moved");
    }));
    app.use(basepath("/router", api));
    await withServer(app, async (c) => {
      for (const code of codes) {
        for (const mount of ["/api", "/router"]) {
          const res = await c.send("GET", `${mount}/${code}`);
          expect([code, res.status]).toEqual([code, code]);
          expect([code, res.headers.location]).toEqual([code, code === 201 ? `${mount}/made` : `${mount}/moved`]);
        }
      }
    });
  });

  it("does not grow a prefix on a status thrown again and again", async () => {
    const LOGIN = Redirection.found("/login");
    const app = new Router();
    app.use(basepath("/api", () => {
      throw LOGIN;
    }));
    await withServer(app, async (c) => {
      for (let i = 0; i < 3; i++) expect((await c.send("GET", "/api/x")).headers.location).toBe("/api/login");
    });
    expect(LOGIN.headers.Location).toBe("/login");
  });

  it("never prefixes another host, an absolute URL or a relative reference", async () => {
    const targets = ["//evil.example/x", "/\\evil.example/x", "http://other.example/x", "https://other.example/", "relative/x", "?page=2"];
    const app = new Router();
    app.use(
      basepath("/api", (req, res) => {
        const target = targets[Number(req.path.slice(1))]!;
        if (req.lookupQuery("throw") !== null) throw Redirection.found(target);
        res.status = 302;
        res.headers.set("Location", target);
        return res.end();
      }),
    );
    await withServer(app, async (c) => {
      for (let i = 0; i < targets.length; i++) {
        expect((await c.send("GET", `/api/${i}`)).headers.location).toBe(targets[i]);
        expect((await c.send("GET", `/api/${i}?throw`)).headers.location).toBe(targets[i]);
      }
    });
    expect(targets.filter(isOriginPath)).toEqual([]);
  });

  it("leaves the Location of what runs after next (outside the prefix) as it is", async () => {
    const app = new Router();
    app.use(basepath("/api", (req, res, next) => next()));
    app.get("/api/old", () => {
      throw Redirection.movedPermanently("/new");
    });
    app.get("/api/set", (req, res) => {
      res.status = 302;
      res.headers.set("Location", "/outer");
      return res.end();
    });
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/api/old")).headers.location).toBe("/new");
      expect((await c.send("GET", "/api/set")).headers.location).toBe("/outer");
    });
  });

  it("nests: /a around /b gives /a/b/x, for a header and for a thrown status", async () => {
    const inner = new Router();
    inner.get("/set", (req, res) => {
      res.status = 302;
      res.headers.set("Location", "/x");
      return res.end();
    });
    inner.get("/where", where);
    const middle = new Router();
    middle.use(basepath("/b", inner));
    const app = new Router();
    app.use(basepath("/a", middle));
    // thrown statuses cross both basepaths (no router in between to answer them)
    app.use(
      basepath("/t", basepath("/u", (req, res, next) => {
        if (req.path === "/go") throw Redirection.seeOther("/x");
        return next();
      })),
    );
    app.get("/t/u/outside", () => {
      throw Redirection.found("/login");
    });
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/a/b/set")).headers.location).toBe("/a/b/x");
      expect((await c.send("GET", "/a/b/where")).text).toBe("/a/b|/where");
      expect((await c.send("GET", "/t/u/go")).headers.location).toBe("/t/u/x");
      expect((await c.send("GET", "/t/u/outside")).headers.location).toBe("/login");
    });
  });

  it("a Location set by the outer mount's code around an inner basepath gets only the outer prefix", async () => {
    const app = new Router();
    app.use(
      basepath("/a", (req, res, next) => {
        res.headers.set("Location", "/from-a");
        return basepath("/b", (req2, res2) => {
          res2.status = 302;
          return res2.end();
        })(req, res, next, {});
      }),
    );
    // the inner handler sets the very same text: it is still its own, under both prefixes
    app.use(
      basepath("/p", (req, res, next) => {
        res.headers.set("Location", "/same");
        return basepath("/q", (req2, res2) => {
          res2.headers.set("Location", "/same");
          res2.status = 302;
          return res2.end();
        })(req, res, next, {});
      }),
    );
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/a/b/c")).headers.location).toBe("/a/from-a");
      expect((await c.send("GET", "/p/q/c")).headers.location).toBe("/p/q/same");
    });
  });
});

describe("basepath: mount prefix and urlFor", () => {
  let server: Server | null = null;
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  function app(): Router {
    const api = new Router();
    api.get("/users/<int:id>", (req, res, next, ctx) => res.expandUtf8(`${req.scriptName}${api.urlFor("user", { id: ctx.id + 1 })}`), "user");
    api.get("/go", () => {
      throw Redirection.found(api.urlFor("user", { id: 1 }));
    });
    const root = new Router();
    root.use(basepath("/api", api));
    return root;
  }

  it("on the http backend: req.scriptName + urlFor is the URL the client uses", async () => {
    await withServer(app(), async (c) => {
      expect((await c.send("GET", "/api/users/5")).text).toBe("/api/users/6");
      expect((await c.send("GET", "/api/go")).headers.location).toBe("/api/users/1");
    });
  });

  it("behind a gateway with SCRIPT_NAME=/app: the paths compose", async () => {
    server = await Server.load("scgi", { handler: app() });
    await server.listen({ port: 0 });
    const target = { port: Number(server.uris[0]!.port) };
    const side = { scriptName: "/app" };
    const page = await scgiRequest(target, { method: "GET", target: "/app/api/users/5" }, side);
    expect(page.status).toBe(200);
    expect(page.body.toString()).toBe("/app/api/users/6");
    const moved = await scgiRequest(target, { method: "GET", target: "/app/api/go" }, side);
    expect(moved.status).toBe(302);
    // a Location is relative to the application, as everywhere in the router: under basepath's prefix, without SCRIPT_NAME
    expect(moved.headers.get("location")).toBe("/api/users/1");
    expect((await scgiRequest(target, { method: "GET", target: "/app/apix" }, side)).status).toBe(404);
  });
});

describe("basepath: options", () => {
  it.each([["api"], ["/api/"], ["//api"], ["/a//b"], ["/a/../b"], ["/a/%2e%2E"], ["/a\\b"], ["/a?b"], ["/a#b"], ["/a\u0000"], ["/a%zz"], ["/%FF"], [""], [5]])(
    "refuses the prefix %j at registration, naming it",
    (prefix) => {
      expect(() => basepath(prefix as string, where)).toThrow(expect.objectContaining({ code: ERR_INVALID_OPTION, message: expect.stringContaining("basepath: option prefix") }));
    },
  );

  it("refuses a handler that is neither a function nor a Router", () => {
    expect(() => basepath("/a", {} as never)).toThrow(/basepath: option handler/);
  });

  it("returns a named function", () => {
    expect(basepath("/a", where).name).toBe("basepath");
  });
});
