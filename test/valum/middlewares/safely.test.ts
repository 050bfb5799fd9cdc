import { describe, it, expect, beforeEach, afterEach } from "@jest/globals";
import { Router, ClientError, safely, type ForwardCallback, type HandlerCallback } from "../../../valum/index.js";
import { setErrorLogger, ERR_INVALID_OPTION } from "../../../vsgi/index.js";
import { withServer } from "../util.js";

let logged: { message: string; error: unknown }[] = [];
beforeEach(() => {
  logged = [];
  setErrorLogger((message, error) => logged.push({ message, error }));
});
afterEach(() => setErrorLogger((message, error) => console.error(message, error)));

/** An outer middleware that records what reaches it from below: a result or an exception. */
function app() {
  const seen: string[] = [];
  const router = new Router();
  router.use(async (req, res, next) => {
    try {
      seen.push(`result ${await next()}`);
      return true;
    } catch (error) {
      seen.push(`caught ${(error as Error).message}`);
      throw error;
    }
  });
  return { router, seen };
}

describe("safely", () => {
  it("answers a failure with a 500 that reveals nothing, logs it, and hands a handled request up", async () => {
    const { router, seen } = app();
    router.get("/sync", safely(() => {
      throw new Error("secret detail");
    }));
    router.get("/async", safely(async () => {
      await Promise.resolve();
      throw new Error("secret detail");
    }));
    router.get("/below", safely((req, res, next) => next()));
    router.get("/below", () => {
      throw new Error("from below");
    });
    await withServer(router, async (c) => {
      for (const path of ["/sync", "/async", "/below"]) {
        const res = await c.send("GET", path);
        expect(res.status).toBe(500);
        expect(res.text).toBe("Internal Server Error");
      }
    });
    expect(seen).toEqual(["result true", "result true", "result true"]);
    expect(logged.map((l) => (l.error as Error).message)).toEqual(["secret detail", "secret detail", "from below"]);
  });

  it("lets statuses go up: they are answers", async () => {
    const { router, seen } = app();
    router.get("/", safely(() => {
      throw ClientError.forbidden("no");
    }));
    await withServer(router, async (c) => {
      const res = await c.send("GET", "/");
      expect(res.status).toBe(403);
      expect(res.text).toBe("no");
    });
    expect(seen).toEqual(["caught no"]);
    expect(logged).toEqual([]);
  });

  it("closes the connection when the head was written already", async () => {
    const { router } = app();
    router.get("/", safely(async (req, res) => {
      await res.append("partial");
      throw new Error("midway");
    }));
    await withServer(router, async (c) => {
      const text = await c.raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      expect(text).toMatch(/^HTTP\/1.1 200 OK/);
      expect(text).toContain("partial");
      expect(text).not.toMatch(/\r\n0\r\n\r\n$/); // the chunked body never ends properly
    });
    expect(logged.map((l) => (l.error as Error).message)).toEqual(["midway"]);
  });

  it("passes a successful handler's result through", async () => {
    const { router, seen } = app();
    router.get("/", safely((req, res) => res.expandUtf8("fine")));
    await withServer(router, async (c) => expect((await c.send("GET", "/")).text).toBe("fine"));
    expect(seen).toEqual(["result true"]);
  });

  it("guards a middleware's forward callback, which gets its value", async () => {
    const { router } = app();
    const withValue = (then: ForwardCallback<number>): HandlerCallback => (req, res, next, ctx) => then(req, res, next, ctx, 41);
    router.get("/", withValue(safely((req, res, next, ctx, value) => {
      if (value === 41) throw new Error(`failed with ${value}`);
      return res.expandUtf8(String(value));
    })));
    await withServer(router, async (c) => expect((await c.send("GET", "/")).status).toBe(500));
    expect(logged.map((l) => (l.error as Error).message)).toEqual(["failed with 41"]);
  });

  it("refuses what is not a handler", () => {
    expect(() => safely("x" as never)).toThrow(expect.objectContaining({ code: ERR_INVALID_OPTION }));
  });
});
