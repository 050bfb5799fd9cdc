// The conformance suite: one list of behaviours that every backend must show, each backend
// reaching the echo application (examples/echo) through its own protocol client.
import { createHash } from "node:crypto";
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import type { Headers } from "../../vsgi/index.js";
import { patternByte } from "../../examples/echo/handler.js";

export interface ConformanceRequest {
  method: string;
  /** The request-target, origin-form: `/path?query`. */
  target: string;
  headers?: [string, string][];
  body?: Buffer | AsyncIterable<Buffer>;
  /** Close the connection after receiving this many body bytes (a client that goes away). */
  abortAfter?: number;
}

export interface ConformanceResponse {
  status: number;
  headers: Headers;
  body: Buffer;
}

export interface ConformanceClient {
  request(request: ConformanceRequest): Promise<ConformanceResponse>;
  close(): Promise<void>;
}

export interface Transport {
  name: string;
  /** Starts the backend with the echo application (examples/echo/handler.ts). */
  start(): Promise<ConformanceClient>;
  /** The app runs in another process for each request (cgi): in-process state is not shared. */
  processPerRequest?: boolean;
}

/** `size` bytes of the download pattern, hashed and counted as they arrive. */
export function patternDigest(size: number): string {
  const hash = createHash("sha256");
  const block = Buffer.alloc(Math.min(size, 1 << 16));
  for (let offset = 0; offset < size; offset += block.length) {
    const n = Math.min(block.length, size - offset);
    for (let i = 0; i < n; i++) block[i] = patternByte(offset + i);
    hash.update(block.subarray(0, n));
  }
  return hash.digest("hex");
}

/** A streamed body of `size` bytes in 64 KiB chunks, never held whole in memory. */
export async function* streamedBody(size: number): AsyncGenerator<Buffer> {
  const block = Buffer.alloc(1 << 16, 0x61);
  for (let sent = 0; sent < size; sent += block.length) yield block.subarray(0, Math.min(block.length, size - sent));
}

function sha256OfRepeated(size: number): string {
  const hash = createHash("sha256");
  const block = Buffer.alloc(1 << 16, 0x61);
  for (let sent = 0; sent < size; sent += block.length) hash.update(block.subarray(0, Math.min(block.length, size - sent)));
  return hash.digest("hex");
}

const MiB = 1024 * 1024;

/**
 * Defines the conformance tests for one backend.
 *
 * @example conformance({ name: "scgi", start: startScgi });
 */
export function conformance(transport: Transport): void {
  describe(`conformance: ${transport.name}`, () => {
    let client: ConformanceClient;
    const get = (target: string, headers: [string, string][] = []): Promise<ConformanceResponse> =>
      client.request({ method: "GET", target, headers });

    beforeAll(async () => {
      client = await transport.start();
    });
    afterAll(async () => {
      await client?.close();
    });

    it("answers 200 with the body and a UTF-8 Content-Type", async () => {
      const res = await get("/hello");
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe("hello");
      expect(res.headers.get("content-type")).toBe("text/plain; charset=UTF-8");
    });

    it("answers HEAD with the headers of GET and no body", async () => {
      const res = await client.request({ method: "HEAD", target: "/hello" });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/plain; charset=UTF-8");
      expect(res.body.length).toBe(0);
    });

    it.each([
      [201, "status 201"],
      [404, "status 404"],
      [418, "status 418"],
      [500, "status 500"],
      [503, "status 503"],
    ])("carries status %i and its body", async (status, body) => {
      const res = await get(`/status/${status}`);
      expect(res.status).toBe(status);
      expect(res.body.toString()).toBe(body);
    });

    it("keeps a 201 with its Location", async () => {
      const res = await get("/status/201");
      expect(res.status).toBe(201);
      expect(res.headers.get("location")).toMatch(/\/hello$/);
    });

    it.each([204, 304])("sends no body with %i", async (status) => {
      const res = await get(`/status/${status}`);
      expect(res.status).toBe(status);
      expect(res.body.length).toBe(0);
    });

    it("redirects with 302 and a Location", async () => {
      const res = await get("/redirect");
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toMatch(/\/hello$/);
    });

    it("sends several Set-Cookie headers", async () => {
      const res = await get("/cookies");
      expect(res.headers.getAll("set-cookie")).toEqual(["a=1; Path=/", "b=2; Path=/; HttpOnly"]);
    });

    it("reads cookies from one header and from several", async () => {
      const one = await get("/cookies", [["Cookie", "x=1; y=2"]]);
      expect(JSON.parse(one.body.toString())).toEqual({ x: "1", y: "2" });
      const two = await get("/cookies", [["Cookie", "x=1"], ["Cookie", "y=2; x=3"]]);
      expect(JSON.parse(two.body.toString())).toEqual({ x: "3", y: "2" });
    });

    it("decodes the query string, the last value of a key winning", async () => {
      const res = await get("/query?a=1&b=x%20y+z&a=2&empty=");
      expect(JSON.parse(res.body.toString())).toEqual({ a: "2", b: "x y z", empty: "" });
    });

    it("says there is no query when the target has no ?", async () => {
      const res = await get("/query");
      expect(JSON.parse(res.body.toString())).toBeNull();
    });

    it("keeps percent-encoded paths encoded, %2F included", async () => {
      const res = await get("/echo-path/caf%C3%A9/a%2Fb/x%20y");
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body.toString()).path).toBe("/echo-path/caf%C3%A9/a%2Fb/x%20y");
    });

    it("passes the method, request headers and the URL through", async () => {
      const res = await client.request({
        method: "PATCH",
        target: "/request?x=1",
        headers: [
          ["Host", "example.com"],
          ["X-Custom", "value"],
          ["Accept-Language", "fr"],
        ],
        body: Buffer.from("{}"),
      });
      expect(res.status).toBe(200);
      const seen = JSON.parse(res.body.toString());
      expect(seen.method).toBe("PATCH");
      expect(seen.path).toBe("/request");
      expect(seen.headers["X-Custom"] ?? seen.headers["x-custom"]).toBe("value");
      expect(new URL(seen.uri).pathname).toBe("/request");
      expect(new URL(seen.uri).search).toBe("?x=1");
      expect(new URL(seen.uri).hostname).toBe("example.com");
    });

    it("answers 404 when the application does not handle the request", async () => {
      const res = await get("/nowhere");
      expect(res.status).toBe(404);
    });

    it("streams a 10 MiB upload to the application", async () => {
      const size = 10 * MiB;
      const res = await client.request({
        method: "POST",
        target: "/upload",
        headers: [
          ["Content-Type", "application/octet-stream"],
          ["Content-Length", String(size)],
        ],
        body: streamedBody(size),
      });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body.toString())).toEqual({ length: size, sha256: sha256OfRepeated(size) });
    });

    it("streams a 10 MiB download to the client", async () => {
      const size = 10 * MiB;
      const res = await get(`/download?size=${size}`);
      expect(res.status).toBe(200);
      expect(res.body.length).toBe(size);
      expect(createHash("sha256").update(res.body).digest("hex")).toBe(patternDigest(size));
    });

    it("sends a declared Content-Length body intact", async () => {
      const size = 100000;
      const res = await get(`/download?size=${size}&length=1`);
      expect(res.body.length).toBe(size);
      expect(createHash("sha256").update(res.body).digest("hex")).toBe(patternDigest(size));
    });

    it("survives a client that disconnects mid-response", async () => {
      const partial = await client.request({ method: "GET", target: "/slow", abortAfter: 256 * 1024 });
      expect(partial.body.length).toBeGreaterThanOrEqual(1);
      const res = await get("/hello");
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe("hello");
      if (!transport.processPerRequest) {
        // the application saw the abort and stopped writing
        let aborted = 0;
        for (let i = 0; i < 100 && aborted === 0; i++) {
          aborted = JSON.parse((await get("/seen")).body.toString()).aborted;
          if (aborted === 0) await new Promise((r) => setTimeout(r, 20));
        }
        expect(aborted).toBeGreaterThanOrEqual(1);
      }
    });
  });
}
