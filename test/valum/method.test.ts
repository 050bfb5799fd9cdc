import { describe, it, expect } from "@jest/globals";
import { Router, Method, methodFromString, methodsToStrings, methodsFromStrings } from "../../valum/index.js";
import { withServer, memoryExchange } from "./util.js";

describe("Method flags", () => {
  it("GET covers HEAD, ONLY_GET does not", () => {
    expect(Method.GET & Method.HEAD).toBe(Method.HEAD);
    expect(Method.ONLY_GET & Method.HEAD).toBe(0);
    expect(Method.GET & Method.ONLY_GET).toBe(Method.ONLY_GET);
  });

  it("ALL is every standard method, ANY adds the others", () => {
    for (const name of ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH"]) {
      expect(Method.ALL & methodFromString(name)).not.toBe(0);
    }
    expect(Method.ALL & Method.OTHER).toBe(0);
    expect(Method.ANY).toBe(Method.ALL | Method.OTHER);
  });

  it("SAFE, IDEMPOTENT and CACHEABLE follow RFC 9110", () => {
    expect(methodsToStrings(Method.SAFE)).toEqual(["GET", "HEAD", "OPTIONS", "TRACE"]);
    expect(methodsToStrings(Method.IDEMPOTENT)).toEqual(["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"]);
    expect(methodsToStrings(Method.CACHEABLE)).toEqual(["GET", "HEAD", "POST"]);
  });

  it("converts method strings, non-standard and lower-case ones being OTHER", () => {
    expect(methodFromString("PATCH")).toBe(Method.PATCH);
    expect(methodFromString("GET")).toBe(Method.ONLY_GET);
    expect(methodFromString("PURGE")).toBe(Method.OTHER);
    expect(methodFromString("get")).toBe(Method.OTHER);
    expect(methodFromString("constructor")).toBe(Method.OTHER);
    expect(methodsFromStrings(["GET", "HEAD"])).toBe(Method.GET);
  });
});

describe("methods when routing", () => {
  it("answers HEAD on a GET route with GET's headers and no body", async () => {
    const app = new Router();
    app.get("/x", (req, res) => {
      res.headers.set("X-Method", req.method);
      return res.expandUtf8("hello");
    });
    await withServer(app, async (c) => {
      const head = await c.send("HEAD", "/x");
      expect(head.status).toBe(200);
      expect(head.headers["x-method"]).toBe("HEAD");
      expect(head.headers["content-length"]).toBe("5");
      expect(head.body.length).toBe(0);
    });
  });

  it("does not answer HEAD on an ONLY_GET route", async () => {
    const app = new Router();
    app.rule(Method.ONLY_GET, "/x", (req, res) => res.expandUtf8("hello"));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/x")).text).toBe("hello");
      const head = await c.send("HEAD", "/x");
      expect(head.status).toBe(405);
      expect(head.headers.allow).toBe("GET");
    });
  });

  it("serves several methods with one route", async () => {
    const app = new Router();
    app.rule(Method.PUT | Method.PATCH, "/x", (req, res) => res.expandUtf8(req.method));
    await withServer(app, async (c) => {
      expect((await c.send("PUT", "/x")).text).toBe("PUT");
      expect((await c.send("PATCH", "/x")).text).toBe("PATCH");
      expect((await c.send("GET", "/x")).status).toBe(405);
    });
  });

  it("routes non-standard methods with OTHER and ANY", async () => {
    const app = new Router();
    app.rule(Method.OTHER, "/dav", (req, res) => res.expandUtf8(`other ${req.method}`));
    app.rule(Method.ANY, "/any", (req, res) => res.expandUtf8(`any ${req.method}`));
    await withServer(app, async (c) => {
      expect((await c.send("PROPFIND", "/dav")).text).toBe("other PROPFIND");
      expect((await c.send("GET", "/dav")).status).toBe(405);
      expect((await c.send("PURGE", "/any")).text).toBe("any PURGE");
      expect((await c.send("DELETE", "/any")).text).toBe("any DELETE");
    });
  });

  it("has a helper per standard method", async () => {
    const app = new Router();
    const answer = (req: { method: string }, res: { expandUtf8(t: string): Promise<true> }) => res.expandUtf8(req.method);
    app.get("/m", answer).post("/m", answer).put("/m", answer).delete("/m", answer).patch("/m", answer);
    app.options("/m", answer).trace("/m", answer).connect("/m", answer).head("/h", (req, res) => {
      res.headers.set("X-Head", "1");
      return res.end();
    });
    await withServer(app, async (c) => {
      for (const method of ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]) {
        expect((await c.send(method, "/m")).text).toBe(method);
      }
      expect((await c.send("HEAD", "/h")).headers["x-head"]).toBe("1");
      expect((await c.send("GET", "/h")).status).toBe(405);
    });
  });
});

describe("CONNECT", () => {
  // node:http hands CONNECT to a separate event, so this one is checked in memory
  it("routes CONNECT with connect()", async () => {
    const app = new Router();
    app.connect("/tunnel", (req, res) => res.expandUtf8("connected"));
    const { req, res } = memoryExchange("CONNECT", "/tunnel");
    expect(await app.handle(req, res)).toBe(true);
    expect(res.head?.status).toBe(200);
    expect(res.text).toBe("connected");
  });
});

describe("X-HTTP-Method-Override", () => {
  it("routes a POST as the method the header names", async () => {
    const app = new Router();
    app.delete("/users/<int:id>", (req, res, next, ctx) => res.expandUtf8(`deleted ${ctx.id} (${req.method})`));
    app.post("/users/<int:id>", (req, res) => res.expandUtf8("posted"));
    await withServer(app, async (c) => {
      const overridden = await c.send("POST", "/users/3", { "X-HTTP-Method-Override": "DELETE" });
      expect(overridden.text).toBe("deleted 3 (POST)");
      expect((await c.send("POST", "/users/3", { "x-http-method-override": "delete" })).text).toBe("deleted 3 (POST)");
      expect((await c.send("POST", "/users/3")).text).toBe("posted");
    });
  });

  it("is ignored on methods other than POST, which must not gain power from a header", async () => {
    const app = new Router();
    app.delete("/x", (req, res) => res.expandUtf8("deleted"));
    app.get("/x", (req, res) => res.expandUtf8("got"));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/x", { "X-HTTP-Method-Override": "DELETE" })).text).toBe("got");
    });
  });

  it("answers 405 with the Allow list when the override method has no route", async () => {
    const app = new Router();
    app.post("/x", (req, res) => res.expandUtf8("posted"));
    await withServer(app, async (c) => {
      const res = await c.send("POST", "/x", { "X-HTTP-Method-Override": "PUT" });
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe("POST");
    });
  });
});
