import { describe, it, expect } from "@jest/globals";
import { Router, contentLength } from "../../../valum/index.js";
import { Headers, Request, ERR_INVALID_OPTION } from "../../../vsgi/index.js";
import { PassThrough } from "node:stream";
import { send } from "../../helpers/http.js";
import { withServer, MemoryResponse } from "../util.js";

/** A router that bounds bodies to `limit` and echoes them; `seen` counts the handler's runs. */
function echo(limit: number) {
  const seen = { runs: 0 };
  const app = new Router();
  app.use(contentLength(limit));
  app.post("/", async (req, res) => {
    seen.runs++;
    return res.expandUtf8(await req.flattenUtf8());
  });
  app.post("/wrapped", async (req, res) => {
    try {
      return res.expandUtf8(await req.flattenUtf8());
    } catch {
      throw new Error("the handler's own failure");
    }
  });
  app.get("/ok", (req, res) => res.expandUtf8("ok"));
  return { app, seen };
}

describe("contentLength", () => {
  it("answers 413 before the handler runs when the declared length is over the limit", async () => {
    const { app, seen } = echo(10);
    await withServer(app, async (c) => {
      const res = await send(c.port, "POST", "/", {}, "x".repeat(11));
      expect(res.status).toBe(413);
      expect(res.body.toString()).toContain("larger than 10 bytes");
      expect(seen.runs).toBe(0);
    });
  });

  it("lets a body within the limit through, declared or chunked", async () => {
    const { app } = echo(10);
    await withServer(app, async (c) => {
      expect((await send(c.port, "POST", "/", {}, "0123456789")).body.toString()).toBe("0123456789");
      const chunked = await send(c.port, "POST", "/", { "Transfer-Encoding": "chunked" }, "0123456789");
      expect(chunked.status).toBe(200);
      expect(chunked.body.toString()).toBe("0123456789");
    });
  });

  it("cuts a chunked body past the limit with a 413, even when the handler turns the error into its own", async () => {
    const { app, seen } = echo(10);
    await withServer(app, async (c) => {
      const res = await send(c.port, "POST", "/", { "Transfer-Encoding": "chunked" }, "x".repeat(11));
      expect(res.status).toBe(413);
      expect(seen.runs).toBe(1);
      const wrapped = await send(c.port, "POST", "/wrapped", { "Transfer-Encoding": "chunked" }, "x".repeat(5000));
      expect(wrapped.status).toBe(413);
    });
  });

  it("keeps the connection usable after a 413, declared or counted", async () => {
    const { app } = echo(10);
    await withServer(app, async (c) => {
      const declared = await c.raw(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n" + "y".repeat(20) + "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      );
      expect(declared).toMatch(/^HTTP\/1.1 413 [\s\S]*HTTP\/1.1 200 OK[\s\S]*ok$/);
      const chunk = "y".repeat(4000);
      const counted = await c.raw(
        `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${(4000).toString(16)}\r\n${chunk}\r\n${(4000).toString(16)}\r\n${chunk}\r\n0\r\n\r\n` +
          "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      );
      expect(counted).toMatch(/^HTTP\/1.1 413 [\s\S]*HTTP\/1.1 200 OK[\s\S]*ok$/);
    });
  });

  it("answers 400 for a malformed Content-Length (which only a gateway can pass on)", async () => {
    const { app, seen } = echo(10);
    for (const value of ["abc", "5, 6", "-1"]) {
      const body = new PassThrough();
      body.end("hello");
      const req = new Request({ method: "POST", target: "/", body, headers: new Headers([["Content-Length", value]]) });
      const res = new MemoryResponse(req);
      await app.handle(req, res);
      expect(res.head?.status).toBe(400);
      expect(res.text).toContain("Content-Length");
    }
    expect(seen.runs).toBe(0);
  });

  it("refuses a bad limit at registration, naming it", () => {
    for (const limit of [-1, 1.5, Infinity, "10"]) {
      expect(() => contentLength(limit as number)).toThrow(expect.objectContaining({ code: ERR_INVALID_OPTION, message: expect.stringContaining("contentLength: option limit") }));
    }
  });
});
