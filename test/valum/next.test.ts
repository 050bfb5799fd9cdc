import { describe, it, expect } from "@jest/globals";
import { Router, Method } from "../../valum/index.js";
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
