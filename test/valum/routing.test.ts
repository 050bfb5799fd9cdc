import { describe, it, expect } from "@jest/globals";
import { Router, Method, compileRule, type HandlerCallback } from "../../valum/index.js";
import { withServer, memoryExchange } from "./util.js";

describe("matching order", () => {
  it("insertion order decides between routes that both match, whatever their kind", async () => {
    const app = new Router();
    app.get("/items/<int:id>", (req, res) => res.expandUtf8("rule"));
    app.get("/items/1", (req, res) => res.expandUtf8("static"));
    const second = new Router();
    second.get("/items/1", (req, res) => res.expandUtf8("static"));
    second.get("/items/<int:id>", (req, res) => res.expandUtf8("rule"));
    const third = new Router();
    third.regex(Method.GET, /\/items\/.*/, (req, res) => res.expandUtf8("regex"));
    third.get("/items/1", (req, res) => res.expandUtf8("static"));
    await withServer(app, async (c) => expect((await c.send("GET", "/items/1")).text).toBe("rule"));
    await withServer(second, async (c) => expect((await c.send("GET", "/items/1")).text).toBe("static"));
    await withServer(third, async (c) => expect((await c.send("GET", "/items/1")).text).toBe("regex"));
  });

  it("a rule with a short literal prefix registered first wins over a longer one", async () => {
    const app = new Router();
    app.get("/<a>/<b>", (req, res) => res.expandUtf8("generic"));
    app.get("/users/<int:id>", (req, res) => res.expandUtf8("users"));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/users/1")).text).toBe("generic");
      expect((await c.send("GET", "/users/x/y")).status).toBe(404);
    });
  });

  it("regex() puts named groups into the context, decoded", async () => {
    const app = new Router();
    app.regex(Method.GET, /^\/archive\/(?<year>\d{4})\/(?<slug>[^/]+)$/, (req, res, next, ctx) =>
      res.expandUtf8(`${String(ctx.year)} ${String(ctx.slug)}`),
    );
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/archive/2024/caf%C3%A9")).text).toBe("2024 café");
      expect((await c.send("GET", "/archive/24/x")).status).toBe(404);
      expect((await c.send("GET", "/archive/2024/x/extra")).status).toBe(404); // matched as a whole
    });
  });

  it("regex() honours the expression's flags", async () => {
    const app = new Router();
    app.regex(Method.GET, /\/caps/i, (req, res) => res.expandUtf8("caps"));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/CAPS")).text).toBe("caps");
    });
  });

  it("path() matches one exact path, rule characters taken literally", async () => {
    const app = new Router();
    app.path(Method.GET, "/a(b)*", (req, res) => res.expandUtf8("literal"));
    app.path(Method.GET, "/x", (req, res) => res.expandUtf8("x"));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/a(b)*")).text).toBe("literal");
      expect((await c.send("GET", "/ab")).status).toBe(404);
      expect((await c.send("GET", "/x/")).status).toBe(404);
    });
  });

  it("routes non-ASCII literal paths, matched in their encoded form", async () => {
    const app = new Router();
    app.get("/café", (req, res) => res.expandUtf8("coffee"));
    app.get("/naïve/<int:n>", (req, res, next, ctx) => res.expandUtf8(`naive ${ctx.n}`));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/caf%C3%A9")).text).toBe("coffee");
      expect((await c.send("GET", "/na%C3%AFve/3")).text).toBe("naive 3");
    });
  });

  it("routes added after the first request are served too", async () => {
    const app = new Router();
    app.get("/a", (req, res) => res.expandUtf8("a"));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/a")).text).toBe("a");
      app.get("/b/<int:n>", (req, res, next, ctx) => res.expandUtf8(`b ${ctx.n}`));
      expect((await c.send("GET", "/b/2")).text).toBe("b 2");
    });
  });

  it("handlers may answer synchronously or asynchronously", async () => {
    const app = new Router();
    app.get("/sync", (req, res) => {
      void res.expandUtf8("sync");
      return true;
    });
    app.get("/async", async (req, res) => {
      await new Promise((r) => setTimeout(r, 1));
      return res.expandUtf8("async");
    });
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/sync")).text).toBe("sync");
      expect((await c.send("GET", "/async")).text).toBe("async");
    });
  });

  it("a handler declared with rest parameters still gets next and the context", async () => {
    const app = new Router();
    const inner: HandlerCallback = (req, res, next, ctx) => {
      ctx.wrapped = true;
      return next();
    };
    app.use((...args: Parameters<HandlerCallback>) => inner(...args));
    app.get("/", (req, res, next, ctx) => res.expandUtf8(String(ctx.wrapped)));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/")).text).toBe("true");
    });
  });
});

describe("matching at scale agrees with a walk over every route", () => {
  // A seeded generator, so a failure can be replayed.
  function random(seed: number): () => number {
    return () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
  }

  it("finds the first matching route in insertion order among 2,000 mixed routes", async () => {
    const rnd = random(42);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
    const words = ["a", "ab", "abc", "b", "users", "user", "posts", "p", "x"];
    type Entry = { kind: "rule"; rule: string; methods: number } | { kind: "regex"; regex: RegExp; methods: number } | { kind: "use"; methods: number; on: string };
    const entries: Entry[] = [];
    const app = new Router();
    for (let i = 0; i < 2000; i++) {
      const r = rnd();
      const methods = pick([Method.GET, Method.POST, Method.GET | Method.POST]);
      const label = i;
      const handler: HandlerCallback = (req, res) => res.expandUtf8(String(label));
      if (r < 0.45) {
        const rule = `/${pick(words)}${rnd() < 0.5 ? "/" + pick(words) : ""}${rnd() < 0.3 ? pick(words) : ""}`;
        entries.push({ kind: "rule", rule, methods });
        app.rule(methods, rule, handler);
      } else if (r < 0.9) {
        const rule = pick([
          `/${pick(words)}/<int:id>`,
          `/${pick(words)}/<name>`,
          `/${pick(words)}(/<int:id>)?`,
          `/<w>/${pick(words)}`,
          `/${pick(words)}${pick(words)}*`,
          `/${pick(words)}/<path:p>`,
          `/${pick(words)}/?`,
        ]);
        entries.push({ kind: "rule", rule, methods });
        app.rule(methods, rule, handler);
      } else if (r < 0.95) {
        const regex = new RegExp(`/${pick(words)}/\\d+`);
        entries.push({ kind: "regex", regex, methods });
        app.regex(methods, regex, handler);
      } else {
        const on = pick(words);
        entries.push({ kind: "use", methods, on });
        app.matcher(methods, (req) => req.path.endsWith(on), handler);
      }
    }
    const compiled = entries.map((e) => (e.kind === "rule" ? compileRule(e.rule) : null));
    const expected = (method: string, path: string): number | null => {
      const bit = method === "GET" ? Method.ONLY_GET : Method.POST;
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        if ((e.methods & bit) === 0) continue;
        if (e.kind === "rule" && compiled[i]!.match(path) !== null) return i;
        if (e.kind === "regex" && new RegExp(`^(?:${e.regex.source})$`).test(path)) return i;
        if (e.kind === "use" && path.endsWith(e.on)) return i;
      }
      return null;
    };
    let checked = 0;
    for (let n = 0; n < 3000; n++) {
      const path = pick([
        () => `/${pick(words)}`,
        () => `/${pick(words)}/${pick(words)}`,
        () => `/${pick(words)}/${Math.floor(rnd() * 100)}`,
        () => `/${pick(words)}/${pick(words)}${pick(words)}`,
        () => `/${pick(words)}${pick(words)}/${pick(words)}/x`,
        () => `/${pick(words)}/`,
      ])();
      const method = rnd() < 0.5 ? "GET" : "POST";
      const { req, res } = memoryExchange(method, path);
      const result = app.handle(req, res);
      const want = expected(method, path);
      if (want !== null) {
        expect(await result).toBe(true);
        expect([path, method, res.text]).toEqual([path, method, String(want)]);
        checked++;
      } else {
        expect([path, method, res.head?.status]).toEqual([path, method, expect.any(Number)]);
        expect([404, 405]).toContain(res.head!.status);
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });
});
