import { describe, it, expect } from "@jest/globals";
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { Router, contentLength, decode } from "../../../valum/index.js";
import { ERR_INVALID_OPTION, Server } from "../../../vsgi/index.js";
import { send } from "../../helpers/http.js";
import { scgiRequest } from "../../helpers/scgi-client.js";
import { withServer } from "../util.js";

/** Echoes the decoded body, and the Content-Encoding and Content-Length the handler sees. */
function echo(options?: Parameters<typeof decode>[0]) {
  const app = new Router();
  app.use(decode(options));
  app.post("/", async (req, res) => {
    const text = await req.flattenUtf8();
    res.headers.set("X-Seen", `${req.header("content-encoding")} ${req.header("content-length")}`);
    return res.expandUtf8(text);
  });
  return app;
}

const TEXT = "hello, compressed world ".repeat(100);

describe("decode", () => {
  it("decompresses gzip, x-gzip, deflate and br bodies and drops Content-Encoding and Content-Length", async () => {
    const bodies: [string, Buffer][] = [
      ["gzip", gzipSync(TEXT)],
      ["x-gzip", gzipSync(TEXT)],
      ["GZIP", gzipSync(TEXT)],
      ["deflate", deflateSync(TEXT)],
      ["br", brotliCompressSync(TEXT)],
    ];
    await withServer(echo(), async (c) => {
      for (const [coding, body] of bodies) {
        const res = await send(c.port, "POST", "/", { "Content-Encoding": coding }, body);
        expect(res.status).toBe(200);
        expect(res.body.toString()).toBe(TEXT);
        expect(res.headers["x-seen"]).toBe("null null");
      }
    });
  });

  it("undoes several codings from the last one applied, chunked bodies too", async () => {
    await withServer(echo(), async (c) => {
      const res = await send(c.port, "POST", "/", { "Content-Encoding": "deflate, gzip", "Transfer-Encoding": "chunked" }, gzipSync(deflateSync(TEXT)));
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe(TEXT);
    });
  });

  it("leaves a body without Content-Encoding (or with identity) as it is", async () => {
    await withServer(echo(), async (c) => {
      expect((await send(c.port, "POST", "/", {}, "plain")).body.toString()).toBe("plain");
      const identity = await send(c.port, "POST", "/", { "Content-Encoding": "identity" }, "plain");
      expect(identity.body.toString()).toBe("plain");
      expect(identity.headers["x-seen"]).toBe("null 5");
    });
  });

  it("answers 413 for a small bomb in every coding: the limit counts decoded bytes", async () => {
    const zeros = Buffer.alloc(10 << 20);
    const bombs: [string, Buffer][] = [["gzip", gzipSync(zeros)], ["deflate", deflateSync(zeros)], ["br", brotliCompressSync(zeros)]];
    await withServer(echo({ limit: 1 << 20 }), async (c) => {
      for (const [coding, bomb] of bombs) {
        expect(bomb.length).toBeLessThan(20000);
        const res = await send(c.port, "POST", "/", { "Content-Encoding": coding }, bomb);
        expect(res.status).toBe(413);
        expect(res.body.toString()).toContain("once decoded");
      }
    });
  });

  it("counts between stacked codings too: empty gzip members that only the inner stage would see are 413", async () => {
    const members = Buffer.concat(new Array<Buffer>(100000).fill(gzipSync(Buffer.alloc(0))));
    expect(members.length).toBeGreaterThan(1 << 20);
    await withServer(echo({ limit: 1 << 20 }), async (c) => {
      const res = await send(c.port, "POST", "/", { "Content-Encoding": "gzip, gzip" }, gzipSync(members));
      expect(res.status).toBe(413);
    });
  });

  it("answers 415 naming a coding it cannot undo, with the ones it can in Accept-Encoding", async () => {
    await withServer(echo(), async (c) => {
      const res = await send(c.port, "POST", "/", { "Content-Encoding": "zstd" }, "x");
      expect(res.status).toBe(415);
      expect(res.body.toString()).toContain("zstd");
      expect(res.headers["accept-encoding"]).toBe("gzip, deflate, br");
      const stacked = await send(c.port, "POST", "/", { "Content-Encoding": "gzip, gzip, gzip" }, gzipSync(gzipSync(gzipSync("x"))));
      expect(stacked.status).toBe(415);
      expect(stacked.body.toString()).toContain("more than 2 content codings");
    });
  });

  it("answers 400 for a corrupt, truncated or mislabelled stream, and for a malformed header", async () => {
    await withServer(echo(), async (c) => {
      expect((await send(c.port, "POST", "/", { "Content-Encoding": "gzip" }, "not gzip at all")).status).toBe(400);
      const truncated = await send(c.port, "POST", "/", { "Content-Encoding": "gzip" }, gzipSync(TEXT).subarray(0, 20));
      expect(truncated.status).toBe(400);
      expect(truncated.body.toString()).toContain("corrupt gzip request body");
      expect((await send(c.port, "POST", "/", { "Content-Encoding": "deflate" }, deflateRawSync(TEXT))).status).toBe(400);
      const malformed = await send(c.port, "POST", "/", { "Content-Encoding": "gzip;q=1" }, gzipSync(TEXT));
      expect(malformed.status).toBe(400);
      expect(malformed.body.toString()).toContain("Content-Encoding");
    });
  });

  it("takes an empty body as empty, declared or absent", async () => {
    await withServer(echo(), async (c) => {
      const res = await send(c.port, "POST", "/", { "Content-Encoding": "gzip", "Content-Length": "0" });
      expect(res.status).toBe(200);
      expect(res.body.length).toBe(0);
      const none = await c.raw("POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n");
      expect(none).toMatch(/^HTTP\/1.1 200 OK/);
    });
  });

  it("composes with contentLength, which counts the bytes on the wire", async () => {
    const app = new Router();
    app.use(contentLength(100));
    app.use(decode());
    app.post("/", async (req, res) => res.expandUtf8(String((await req.flatten()).length)));
    const small = gzipSync(Buffer.alloc(100000));
    expect(small.length).toBeLessThan(200);
    await withServer(app, async (c) => {
      expect((await send(c.port, "POST", "/", { "Content-Encoding": "gzip" }, small)).status).toBe(413);
      const fits = gzipSync(Buffer.alloc(5000));
      expect(fits.length).toBeLessThan(100);
      const res = await send(c.port, "POST", "/", { "Content-Encoding": "gzip", "Transfer-Encoding": "chunked" }, fits);
      expect(res.body.toString()).toBe("5000");
    });
  });

  it("works the same behind a gateway (SCGI), where the body is the backend's own stream", async () => {
    const app = new Router();
    app.use(contentLength(1 << 20));
    app.use(decode({ limit: 1 << 20 }));
    app.post("/", async (req, res) => res.expandUtf8(`${await req.flattenUtf8()} ${req.header("content-encoding")}`));
    const server = await Server.load("scgi", { handler: app });
    await server.listen({ port: 0, host: "127.0.0.1" });
    try {
      const target = { port: Number(server.uris[0]!.port) };
      const ok = await scgiRequest(target, { method: "POST", target: "/", headers: [["Content-Encoding", "gzip"]], body: gzipSync("over scgi") });
      expect(ok.status).toBe(200);
      expect(ok.body.toString()).toBe("over scgi null");
      const bomb = await scgiRequest(target, { method: "POST", target: "/", headers: [["Content-Encoding", "gzip"]], body: gzipSync(Buffer.alloc(4 << 20)) });
      expect(bomb.status).toBe(413);
    } finally {
      await server.stop();
    }
  });

  it("refuses bad options at registration, naming them", () => {
    expect(() => decode({ limit: -1 })).toThrow(expect.objectContaining({ code: ERR_INVALID_OPTION, message: expect.stringContaining("decode: option limit") }));
    expect(() => decode({ maxCodings: 0 })).toThrow(expect.objectContaining({ message: expect.stringContaining("decode: option maxCodings") }));
    expect(() => decode({ limit: Infinity })).not.toThrow();
  });
});
