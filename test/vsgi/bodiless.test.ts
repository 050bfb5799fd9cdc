import { describe, it, expect, afterEach } from "@jest/globals";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { createGzip } from "node:zlib";
import { serve, raw, type Served } from "../helpers/http.js";
import { statusHasBody, type Request, type Response } from "../../vsgi/index.js";

let served: Served | null = null;
afterEach(async () => {
  await served?.close();
  served = null;
});

async function with1(handler: (req: Request, res: Response) => boolean | Promise<boolean>): Promise<number> {
  served = await serve(handler);
  return served.port;
}

/** Two requests on one connection: the first answered 205, the second 200 "next". */
const PIPELINED = "GET /reset HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/** The bytes after the head of the 205, up to the second response. */
function between(text: string): string {
  const head = text.indexOf("\r\n\r\n");
  const second = text.indexOf("HTTP/1.1 200", head);
  expect(head).toBeGreaterThan(-1);
  expect(second).toBeGreaterThan(-1);
  return text.slice(head + 4, second);
}

describe("which statuses carry a body", () => {
  it("one rule: none for HEAD, 1xx, 204, 205 and 304", () => {
    for (const status of [100, 101, 103, 204, 205, 304]) expect(statusHasBody("GET", status)).toBe(false);
    for (const status of [200, 201, 206, 302, 404, 500]) expect(statusHasBody("GET", status)).toBe(true);
    expect(statusHasBody("HEAD", 200)).toBe(false);
  });
});

describe("205 Reset Content (RFC 9110 15.3.6: no content)", () => {
  const app = (body: (res: Response) => Promise<true>) => (req: Request, res: Response) => {
    if (req.path === "/next") return res.expandUtf8("next");
    res.status = 205;
    return body(res);
  };

  it("sends Content-Length: 0 and no body, even when one is given, and the connection goes on", async () => {
    const port = await with1(app((res) => res.expandUtf8("ignored")));
    const text = await raw(port, PIPELINED);
    expect(text).toMatch(/^HTTP\/1\.1 205 Reset Content\r\n/);
    expect(text.slice(0, text.indexOf("\r\n\r\n"))).toMatch(/\r\nContent-Length: 0\r\n/i);
    expect(text).not.toMatch(/Transfer-Encoding/i);
    expect(between(text)).toBe("");
    expect(text.endsWith("\r\n\r\nnext")).toBe(true);
  });

  it("drops what is streamed", async () => {
    const port = await with1(
      app(async (res) => {
        await res.append("ignored ");
        await res.appendUtf8("too");
        return res.end();
      }),
    );
    const text = await raw(port, PIPELINED);
    expect(text.slice(0, text.indexOf("\r\n\r\n"))).toMatch(/\r\nContent-Length: 0\r\n/i);
    expect(text).not.toMatch(/Transfer-Encoding|ignored/i);
    expect(between(text)).toBe("");
  });

  it("drops what a filter emits on its own (a gzip trailer), and the chain still ends", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vsgi-205-"));
    try {
      const copy = join(dir, "copy");
      // The client has its answers before the copy is written and closed: the read waits for it.
      let copied!: () => void;
      const written = new Promise<void>((resolve) => (copied = resolve));
      const port = await with1(
        app(async (res) => {
          const file = createWriteStream(copy);
          res.tee(file);
          res.headers.set("Content-Encoding", "gzip");
          res.convert(createGzip());
          await res.expandUtf8("ignored");
          if (!file.closed) await once(file, "close"); // the tee below the gzip was ended
          copied();
          return true;
        }),
      );
      const text = await raw(port, PIPELINED);
      expect(text.slice(0, text.indexOf("\r\n\r\n"))).toMatch(/\r\nContent-Length: 0\r\n/i);
      expect(between(text)).toBe("");
      await written;
      expect((await readFile(copy)).length).toBeGreaterThan(0); // the gzip trailer reached the tee, not the client
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it("a HEAD gets the same head", async () => {
    const port = await with1(app((res) => res.expandUtf8("ignored")));
    const text = await raw(port, "HEAD /reset HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(text).toMatch(/^HTTP\/1\.1 205 /);
    expect(text).toMatch(/\r\nContent-Length: 0\r\n/i);
    expect(text.endsWith("\r\n\r\n")).toBe(true);
  });
});
