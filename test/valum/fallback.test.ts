import { describe, it, expect } from "@jest/globals";
import { Router, Method } from "../../valum/index.js";
import { withServer } from "./util.js";

const ok = (req: unknown, res: { expandUtf8(t: string): Promise<true> }) => res.expandUtf8("ok");

describe("when nothing handles the request", () => {
  it("answers 404 when no route matches the path", async () => {
    const app = new Router();
    app.get("/a", ok);
    await withServer(app, async (c) => {
      const res = await c.send("GET", "/b");
      expect(res.status).toBe(404);
      expect(res.headers["content-type"]).toBe("text/plain; charset=UTF-8");
      expect(res.text).toBe("Not Found");
      expect(res.headers.allow).toBeUndefined();
    });
  });

  it("answers 405 with exactly the methods routes provide for that path", async () => {
    const app = new Router();
    app.get("/users/<int:id>", ok);
    app.put("/users/<int:id>", ok);
    app.delete("/users/<name>", ok); // matches numeric ids too: \w+ includes digits
    app.post("/users", ok); // another path
    app.patch("/users/<int:id>/x", ok); // another path
    await withServer(app, async (c) => {
      const res = await c.send("POST", "/users/5");
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe("GET, HEAD, PUT, DELETE");
      const other = await c.send("POST", "/users/ana");
      expect(other.status).toBe(405);
      expect(other.headers.allow).toBe("DELETE");
    });
  });

  it("lists HEAD only when a route provides GET or HEAD", async () => {
    const app = new Router();
    app.rule(Method.ONLY_GET, "/g", ok);
    app.head("/h", ok);
    app.post("/p", ok);
    await withServer(app, async (c) => {
      expect((await c.send("PUT", "/g")).headers.allow).toBe("GET");
      expect((await c.send("PUT", "/h")).headers.allow).toBe("HEAD");
      expect((await c.send("PUT", "/p")).headers.allow).toBe("POST");
    });
  });

  it("counts exact paths and regular expressions, not use() or matcher()", async () => {
    const app = new Router();
    app.use((req, res, next) => next());
    app.matcher(Method.PATCH, () => false, ok);
    app.path(Method.PUT, "/x", ok);
    app.regex(Method.DELETE, /\/x|\/y/, ok);
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/x")).headers.allow).toBe("PUT, DELETE");
      expect((await c.send("GET", "/y")).headers.allow).toBe("DELETE");
      expect((await c.send("GET", "/z")).status).toBe(404);
    });
  });

  it("answers OPTIONS with 200, Allow and an empty body", async () => {
    const app = new Router();
    app.get("/r", ok);
    app.post("/r", ok);
    await withServer(app, async (c) => {
      const res = await c.send("OPTIONS", "/r");
      expect(res.status).toBe(200);
      expect(res.headers.allow).toBe("GET, HEAD, POST");
      expect(res.body.length).toBe(0);
      expect(res.headers["content-length"]).toBe("0");
      expect((await c.send("OPTIONS", "/nothing")).status).toBe(404);
    });
  });

  it("leaves OPTIONS to an options() route when there is one", async () => {
    const app = new Router();
    app.get("/r", ok);
    app.options("/r", (req, res) => {
      res.headers.set("Allow", "GET");
      res.headers.set("X-Custom", "1");
      return res.end();
    });
    await withServer(app, async (c) => {
      const res = await c.send("OPTIONS", "/r");
      expect(res.headers["x-custom"]).toBe("1");
      expect(res.headers.allow).toBe("GET");
    });
  });

  it("answers 404, not 405, when a route for the method matched but passed", async () => {
    const app = new Router();
    app.get("/r", (req, res, next) => next());
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/r")).status).toBe(404);
    });
  });

  it("echoes TRACE as message/http, credentials left out", async () => {
    const app = new Router();
    app.get("/t", ok);
    await withServer(app, async (c) => {
      const res = await c.send("TRACE", "/t?q=1", { "X-Trace-Me": "yes", Cookie: "s=secret", Authorization: "Basic eA==" });
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toBe("message/http");
      expect(res.text.startsWith("TRACE /t?q=1 HTTP/1.1\r\n")).toBe(true);
      expect(res.text).toContain("\r\nX-Trace-Me: yes\r\n");
      expect(res.text).not.toContain("secret");
      expect(res.text).not.toContain("Basic");
      expect(res.text.endsWith("\r\n\r\n")).toBe(true);
      expect((await c.send("TRACE", "/nowhere")).status).toBe(200);
    });
  });

  it("leaves TRACE to a trace() route when there is one", async () => {
    const app = new Router();
    app.trace("/t", (req, res) => res.expandUtf8("mine"));
    await withServer(app, async (c) => {
      expect((await c.send("TRACE", "/t")).text).toBe("mine");
    });
  });
});

describe("the * request-target", () => {
  it("asterisk() routes it, and only it", async () => {
    const app = new Router();
    app.asterisk(Method.OPTIONS, (req, res) => {
      res.headers.set("X-Target", req.target);
      return res.end();
    });
    app.get("/", ok);
    await withServer(app, async (c) => {
      const star = await c.raw("OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      expect(star).toMatch(/^HTTP\/1\.1 200 /);
      expect(star).toMatch(/\r\nX-Target: \*\r\n/i);
      const slash = await c.send("OPTIONS", "/");
      expect(slash.headers["x-target"]).toBeUndefined();
      expect(slash.headers.allow).toBe("GET, HEAD");
    });
  });

  it("answers OPTIONS * with every method the router serves when no asterisk route does", async () => {
    const app = new Router();
    app.get("/a", ok);
    app.post("/b", ok);
    app.put("/c/<int:n>", ok);
    await withServer(app, async (c) => {
      const res = await c.raw("OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      expect(res).toMatch(/^HTTP\/1\.1 200 /);
      expect(res).toMatch(/\r\nAllow: GET, HEAD, POST, PUT\r\n/i);
    });
  });
});
