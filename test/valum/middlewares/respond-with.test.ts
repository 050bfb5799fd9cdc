import { describe, it, expect } from "@jest/globals";
import { Router, Method, Redirection, respondWith } from "../../../valum/index.js";
import { ERR_INVALID_OPTION } from "../../../vsgi/index.js";
import { withServer } from "../util.js";

describe("respondWith", () => {
  it("answers a fixed body, text or bytes, keeping a Content-Type set before", async () => {
    const app = new Router();
    app.get("/text", respondWith("ok ✓"));
    app.get("/bytes", respondWith(new Uint8Array([0xca, 0xfe])));
    app.get("/typed", (req, res, next) => {
      res.headers.set("Content-Type", "application/json");
      return next();
    });
    app.get("/typed", respondWith('{"ok":true}'));
    await withServer(app, async (c) => {
      const text = await c.send("GET", "/text");
      expect(text.status).toBe(200);
      expect(text.text).toBe("ok ✓");
      expect(text.headers["content-type"]).toBe("text/plain; charset=UTF-8");
      expect(text.headers["content-length"]).toBe(String(Buffer.byteLength("ok ✓")));
      const bytes = await c.send("GET", "/bytes");
      expect([...bytes.body]).toEqual([0xca, 0xfe]);
      expect(bytes.headers["content-type"]).toBe("application/octet-stream");
      expect((await c.send("GET", "/typed")).headers["content-type"]).toBe("application/json");
      const head = await c.send("HEAD", "/text");
      expect(head.body.length).toBe(0);
    });
  });

  it("throws a status code or a Status, which status handlers can catch", async () => {
    const app = new Router();
    app.status(410, (req, res, next, ctx) => res.expandUtf8(`gone: ${ctx.message}`));
    app.rule(Method.ANY, "/legacy/*", respondWith(410));
    app.get("/empty", respondWith(204));
    app.get("/old", respondWith(Redirection.movedPermanently("/new")));
    await withServer(app, async (c) => {
      const gone = await c.send("POST", "/legacy/x");
      expect(gone.status).toBe(200);
      expect(gone.text).toBe("gone: Gone");
      const empty = await c.send("GET", "/empty");
      expect(empty.status).toBe(204);
      expect(empty.body.length).toBe(0);
      const old = await c.send("GET", "/old");
      expect(old.status).toBe(301);
      expect(old.headers["location"]).toBe("/new");
    });
  });

  it("refuses what is no answer at registration", () => {
    expect(() => respondWith(99)).toThrow(expect.objectContaining({ code: ERR_INVALID_OPTION, message: expect.stringContaining("respondWith: option status") }));
    expect(() => respondWith(200.5)).toThrow(expect.objectContaining({ code: ERR_INVALID_OPTION }));
    expect(() => respondWith({} as never)).toThrow(expect.objectContaining({ message: expect.stringContaining("respondWith: option answer") }));
  });
});
