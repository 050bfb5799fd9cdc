import { describe, it, expect } from "@jest/globals";
import { Router, Method, contextParent, type Context } from "../../valum/index.js";
import { withServer } from "./util.js";

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
