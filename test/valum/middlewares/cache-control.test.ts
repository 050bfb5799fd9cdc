import { describe, it, expect } from "@jest/globals";
import { Router, ClientError, Redirection, cacheControl } from "../../../valum/index.js";
import { ERR_INVALID_OPTION } from "../../../vsgi/index.js";
import { withServer } from "../util.js";

describe("cacheControl", () => {
  it("sets the header built at registration, from a string or an object, and calls next", async () => {
    const app = new Router();
    app.use(cacheControl("Public", 3600));
    app.get("/", (req, res) => res.expandUtf8("x"));
    app.get("/asset", cacheControl({ public: true, immutable: true, maxAge: 31536000 }), "asset");
    app.get("/asset", (req, res) => res.expandUtf8("asset"));
    app.get("/private", cacheControl({ private: ["Set-Cookie"], noCache: true }));
    app.get("/private", (req, res) => res.expandUtf8("p"));
    app.get("/override", (req, res) => {
      res.headers.set("Cache-Control", "no-store");
      return res.expandUtf8("o");
    });
    await withServer(app, async (c) => {
      const root = await c.send("GET", "/");
      expect(root.text).toBe("x");
      expect(root.headers["cache-control"]).toBe("public, max-age=3600");
      expect((await c.send("GET", "/asset")).headers["cache-control"]).toBe("public, max-age=31536000, immutable");
      expect((await c.send("GET", "/private")).headers["cache-control"]).toBe('private="Set-Cookie", no-cache');
      expect((await c.send("GET", "/override")).headers["cache-control"]).toBe("no-store");
    });
  });

  it("takes the header off error statuses, and keeps it on a 304", async () => {
    const app = new Router();
    app.use(cacheControl({ public: true, maxAge: 86400 }));
    app.get("/missing", () => {
      throw ClientError.notFound();
    });
    app.get("/later", async () => {
      await Promise.resolve();
      throw ClientError.notFound();
    });
    app.get("/same", () => {
      throw Redirection.notModified();
    });
    await withServer(app, async (c) => {
      for (const path of ["/missing", "/later", "/nowhere"]) {
        const res = await c.send("GET", path);
        expect(res.status).toBe(404);
        expect(res.headers["cache-control"]).toBeUndefined();
      }
      const same = await c.send("GET", "/same");
      expect(same.status).toBe(304);
      expect(same.headers["cache-control"]).toBe("public, max-age=86400");
    });
  });

  it("puts back the header from before on an error, and keeps no-store", async () => {
    const app = new Router();
    app.use(cacheControl("no-store"));
    app.get("/asset", cacheControl({ public: true, maxAge: 31536000 }));
    app.get("/asset", () => {
      throw ClientError.notFound();
    });
    await withServer(app, async (c) => {
      for (const path of ["/asset", "/nowhere"]) {
        const res = await c.send("GET", path);
        expect(res.status).toBe(404);
        expect(res.headers["cache-control"]).toBe("no-store");
      }
    });
  });

  it("refuses bad directives at registration, naming them", () => {
    const cases: [() => unknown, string][] = [
      [() => cacheControl("max-age=abc"), "option directives must be a well-formed"],
      [() => cacheControl("public, private"), "option public must be left out when private is set"],
      [() => cacheControl({ maxAge: -1 }), "option maxAge must be a whole number"],
      [() => cacheControl({ maxAge: 10 }, 20), "option maxAge must be given once"],
      [() => cacheControl("public", 1.5), "option maxAge must be a whole number"],
      [() => cacheControl({ "no-store": true } as never), "option no-store must be a known directive (write noStore)"],
      [() => cacheControl({ onlyIfCached: true }), "option onlyIfCached must be left out (a request directive)"],
      [() => cacheControl({}), "option directives must be at least one directive"],
      [() => cacheControl(42 as never), "option directives must be a Cache-Control value"],
    ];
    for (const [register, message] of cases) {
      expect(register).toThrow(expect.objectContaining({ code: ERR_INVALID_OPTION, message: expect.stringContaining(`cacheControl: ${message}`) }));
    }
  });
});
