import { describe, it, expect } from "@jest/globals";
import { Router, Method, contextParent, type Context } from "../../valum/index.js";
import { withServer } from "./util.js";

describe("next continuations", () => {
  it("runs the following matching route and returns its result", async () => {
    const app = new Router();
    const order: string[] = [];
    app.get("/x", async (req, res, next) => {
      order.push("first");
      const handled = await next();
      order.push(`first saw ${handled}`);
      return handled;
    });
    app.get("/y", (req, res) => res.expandUtf8("never"));
    app.get("/x", (req, res, next) => {
      order.push("second");
      return next();
    });
    app.get("/x", (req, res) => {
      order.push("third");
      return res.expandUtf8("third");
    });
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/x")).text).toBe("third");
      expect(order).toEqual(["first", "second", "third", "first saw true"]);
    });
  });

  it("skips routes of other methods and paths, across exact paths, rules and regular expressions", async () => {
    const app = new Router();
    const seen: string[] = [];
    const pass = (label: string) => (req: unknown, res: unknown, next: () => boolean | Promise<boolean>) => {
      seen.push(label);
      return next();
    };
    app.get("/items/<int:id>", pass("rule"));
    app.post("/items/1", pass("post"));
    app.path(Method.GET, "/items/1", pass("path"));
    app.regex(Method.GET, /\/items\/\d+/, pass("regex"));
    app.get("/items/2", pass("other path"));
    app.get("/items/<id>", (req, res) => res.expandUtf8(seen.join(",")));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/items/1")).text).toBe("rule,path,regex");
    });
  });

  it("ends in a 404 when the chain runs out", async () => {
    const app = new Router();
    app.use((req, res, next) => next());
    app.get("/x", (req, res, next) => next());
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/x")).status).toBe(404);
    });
  });

  it("returns false when a handler says it did not handle the request", async () => {
    const app = new Router();
    app.get("/x", () => false);
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/x")).status).toBe(404); // the server's answer for an unhandled request
    });
  });

  it("follows a path rewritten by a middleware to the routes of the new path", async () => {
    const app = new Router();
    app.get("/old/<int:id>", (req, res, next) => {
      req.path = req.path.replace("/old/", "/new/");
      return next();
    });
    app.get("/new/<int:id>", (req, res, next, ctx) => res.expandUtf8(`new ${ctx.id}`));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/old/4")).text).toBe("new 4");
    });
  });
});

describe("the context tree", () => {
  it("gives each route a child of the previous route's context", async () => {
    const app = new Router();
    const contexts: Context[] = [];
    app.use((req, res, next, ctx) => {
      contexts.push(ctx);
      ctx.user = "ana";
      return next();
    });
    app.get("/users/<int:id>", (req, res, next, ctx) => {
      contexts.push(ctx);
      ctx.user = "shadowed";
      return next();
    });
    app.get("/users/<any>", (req, res, next, ctx) => {
      contexts.push(ctx);
      return res.expandUtf8(JSON.stringify({ id: ctx.id, any: ctx.any, user: ctx.user }));
    });
    await withServer(app, async (c) => {
      expect(JSON.parse((await c.send("GET", "/users/7")).text)).toEqual({ id: 7, any: "7", user: "shadowed" });
      expect(contextParent(contexts[1]!)).toBe(contexts[0]);
      expect(contextParent(contexts[2]!)).toBe(contexts[1]);
      expect(contextParent(contexts[0]!)).toBe(app.context);
      // a child's assignment shadows, the parent keeps its value
      expect(contexts[0]!.user).toBe("ana");
      expect(Object.hasOwn(contexts[2]!, "user")).toBe(false);
    });
  });

  it("starts every request from the router-wide context, which requests do not change", async () => {
    const app = new Router();
    app.context.greeting = "hello";
    app.get("/<name>", (req, res, next, ctx) => {
      const text = `${String(ctx.greeting)} ${ctx.name}`;
      ctx.greeting = "changed";
      return res.expandUtf8(text);
    });
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/ana")).text).toBe("hello ana");
      expect((await c.send("GET", "/bob")).text).toBe("hello bob");
      expect(app.context.greeting).toBe("hello");
    });
  });

  it("keeps requests apart: one request's captures never reach another", async () => {
    const app = new Router();
    app.get("/a/<x>", (req, res, next, ctx) => res.expandUtf8(String(ctx.x) + "|" + String(ctx.y)));
    app.get("/b/<y>", (req, res, next, ctx) => res.expandUtf8(String(ctx.x) + "|" + String(ctx.y)));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/a/1")).text).toBe("1|undefined");
      expect((await c.send("GET", "/b/2")).text).toBe("undefined|2");
    });
  });

  it("gives a matcher a context whose values reach its handler", async () => {
    const app = new Router();
    app.matcher(
      Method.GET,
      (req, ctx) => {
        const beta = req.header("x-beta");
        if (beta === null) return false;
        ctx.beta = beta;
        return true;
      },
      (req, res, next, ctx) => res.expandUtf8(`beta ${String(ctx.beta)}`),
    );
    app.get("/", (req, res) => res.expandUtf8("stable"));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/", { "X-Beta": "7" })).text).toBe("beta 7");
      expect((await c.send("GET", "/")).text).toBe("stable");
    });
  });
});

describe("use and once", () => {
  it("use() runs for every request, any method and path, in its place in the order", async () => {
    const app = new Router();
    let count = 0;
    app.get("/before", (req, res) => res.expandUtf8(`before ${count}`));
    app.use((req, res, next) => {
      count++;
      res.headers.set("X-Count", String(count));
      return next();
    });
    app.rule(Method.ANY, "/after", (req, res) => res.expandUtf8(`after ${count}`));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/before")).text).toBe("before 0");
      const after = await c.send("PURGE", "/after");
      expect(after.text).toBe("after 1");
      expect(after.headers["x-count"]).toBe("1");
      expect((await c.send("GET", "/missing")).headers["x-count"]).toBe("2");
    });
  });

  it("once() runs for the first request only", async () => {
    const app = new Router();
    let runs = 0;
    app.once((req, res, next) => {
      runs++;
      res.headers.set("X-First", "yes");
      return next();
    });
    app.get("/", (req, res) => res.expandUtf8("hi"));
    await withServer(app, async (c) => {
      const first = await c.send("GET", "/");
      const second = await c.send("GET", "/");
      const third = await c.send("POST", "/");
      expect(first.headers["x-first"]).toBe("yes");
      expect(second.headers["x-first"]).toBeUndefined();
      expect(second.text).toBe("hi");
      expect(third.status).toBe(405);
      expect(runs).toBe(1);
    });
  });
});

describe("scope", () => {
  it("prefixes the rules registered inside", async () => {
    const app = new Router();
    app.scope("/admin", (admin) => {
      admin.get("/users", (req, res) => res.expandUtf8("admin users"));
      admin.scope("/deep", (deep) => {
        deep.get("/x", (req, res) => res.expandUtf8("deep x"));
      });
    });
    app.get("/users", (req, res) => res.expandUtf8("users"));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/admin/users")).text).toBe("admin users");
      expect((await c.send("GET", "/admin/deep/x")).text).toBe("deep x");
      expect((await c.send("GET", "/users")).text).toBe("users");
      expect((await c.send("GET", "/deep/x")).status).toBe(404);
    });
  });

  it("puts the prefix's parameters into the context", async () => {
    const app = new Router();
    app.scope("/users/<int:uid>", (user) => {
      user.get("/posts/<int:pid>", (req, res, next, ctx) => res.expandUtf8(`${ctx.uid + ctx.pid}`));
      user.path(Method.GET, "/profile", (req, res, next, ctx) => res.expandUtf8(`profile ${ctx.uid}`));
      user.regex(Method.GET, /\/files\/(?<file>[a-z]+)/, (req, res, next, ctx) => res.expandUtf8(`${String(ctx.uid)} ${String(ctx.file)}`));
    });
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/users/2/posts/3")).text).toBe("5");
      expect((await c.send("GET", "/users/2/profile")).text).toBe("profile 2");
      expect((await c.send("GET", "/users/2/files/abc")).text).toBe("2 abc");
      expect((await c.send("GET", "/users/x/profile")).status).toBe(404);
    });
  });

  it("limits use() inside a scope to the paths under the prefix", async () => {
    const app = new Router();
    app.scope("/admin", (admin) => {
      admin.use((req, res, next) => {
        if (req.header("x-token") !== "secret") {
          res.status = 403;
          return res.expandUtf8("forbidden");
        }
        return next();
      });
      admin.get("", (req, res) => res.expandUtf8("admin home"));
      admin.get("/panel", (req, res) => res.expandUtf8("panel"));
    });
    app.get("/administrator", (req, res) => res.expandUtf8("not under /admin"));
    app.get("/", (req, res) => res.expandUtf8("home"));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/admin/panel")).status).toBe(403);
      expect((await c.send("GET", "/admin")).status).toBe(403);
      expect((await c.send("GET", "/admin/panel", { "X-Token": "secret" })).text).toBe("panel");
      expect((await c.send("GET", "/admin", { "X-Token": "secret" })).text).toBe("admin home");
      expect((await c.send("GET", "/administrator")).text).toBe("not under /admin");
      expect((await c.send("GET", "/")).text).toBe("home");
    });
  });
});
