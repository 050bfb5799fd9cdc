import { describe, it, expect } from "@jest/globals";
import { Router, Method } from "../../valum/index.js";
import { withServer } from "./util.js";

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
