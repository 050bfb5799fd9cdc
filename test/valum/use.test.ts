import { describe, it, expect } from "@jest/globals";
import { Router, Method } from "../../valum/index.js";
import { withServer } from "./util.js";

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
