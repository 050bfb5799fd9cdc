import { describe, it, expect, afterEach } from "@jest/globals";
import { mkdtemp, writeFile, readFile, rm } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gunzipSync, createGzip } from "node:zlib";
import { once } from "node:events";
import { connect } from "node:net";
import { serve, send, raw, type Served } from "../helpers/http.js";
import { capturingErrors } from "../helpers/log.js";
import { ERR_HEAD_WRITTEN, ERR_REQUEST_ENDED, setErrorLogger, logError, type Request, type Response } from "../../vsgi/index.js";

const DEFAULT_LOGGER = logError;

let served: Served | null = null;
afterEach(async () => {
  await served?.close();
  served = null;
});

async function with1(handler: (req: Request, res: Response) => boolean | Promise<boolean>): Promise<number> {
  served = await serve(handler);
  return served.port;
}

describe("Response helpers", () => {
  it("expandUtf8 sets the length and sends text/plain in UTF-8 by default, which a browser shows", async () => {
    const port = await with1((req, res) => res.expandUtf8("héllo"));
    const res = await send(port, "GET", "/");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/plain; charset=UTF-8");
    expect(res.headers["content-length"]).toBe("6");
    expect(res.body.toString()).toBe("héllo");
  });

  it("expandUtf8 adds the charset to a given type, and keeps one already there", async () => {
    const port = await with1((req, res) => {
      res.headers.set("Content-Type", req.path === "/a" ? "text/html" : "text/html; charset=latin1");
      return res.expandUtf8("x");
    });
    expect((await send(port, "GET", "/a")).headers["content-type"]).toBe("text/html; charset=UTF-8");
    expect((await send(port, "GET", "/b")).headers["content-type"]).toBe("text/html; charset=latin1");
  });

  it("expandJson serializes the value as application/json, keeping a +json type set before", async () => {
    const port = await with1((req, res) => {
      if (req.path === "/problem") res.headers.set("Content-Type", "application/problem+json");
      return res.expandJson(req.path === "/list" ? [1, "é", null] : { status: 400, title: "bad" });
    });
    const list = await send(port, "GET", "/list");
    expect(list.status).toBe(200);
    expect(list.headers["content-type"]).toBe("application/json");
    expect(list.headers["content-length"]).toBe(String(Buffer.byteLength('[1,"é",null]')));
    expect(JSON.parse(list.body.toString("utf8"))).toEqual([1, "é", null]);
    const problem = await send(port, "GET", "/problem");
    expect(problem.headers["content-type"]).toBe("application/problem+json");
    expect(JSON.parse(problem.body.toString())).toEqual({ status: 400, title: "bad" });
  });

  it("expandJson refuses what JSON cannot express before writing the head (a 500, nothing sent)", async () => {
    const errors: string[] = [];
    setErrorLogger((message, error) => errors.push(`${message}: ${(error as Error).message}`));
    try {
      const port = await with1((req, res) => res.expandJson(undefined));
      const res = await send(port, "GET", "/");
      expect(res.status).toBe(500);
      expect(res.headers["content-type"]).toBe("text/plain; charset=UTF-8");
      expect(errors).toEqual(["GET /: unhandled error: expandJson cannot serialize undefined"]);
    } finally {
      setErrorLogger(DEFAULT_LOGGER);
    }
  });

  it("expand sends bytes with their length, but no length under a Content-Encoding", async () => {
    const port = await with1((req, res) => {
      if (req.path === "/gz") res.headers.set("Content-Encoding", "identity");
      return res.expand(Buffer.from([1, 2, 3]));
    });
    const plain = await send(port, "GET", "/");
    expect(plain.headers["content-length"]).toBe("3");
    expect([...plain.body]).toEqual([1, 2, 3]);
    const encoded = await send(port, "GET", "/gz");
    expect(encoded.headers["content-length"]).toBeUndefined();
    expect(encoded.headers["transfer-encoding"]).toBe("chunked");
  });

  it("never sends a body to HEAD, with the headers of GET", async () => {
    const port = await with1((req, res) => res.expandUtf8("twelve bytes"));
    const text = await raw(port, "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).toMatch(/Content-Length: 12\r\n/);
    expect(text.endsWith("\r\n\r\n")).toBe(true);
  });

  it("expandStream streams without a length (chunked on HTTP/1.1)", async () => {
    const port = await with1((req, res) => res.expandStream(Readable.from([Buffer.from("a"), Buffer.from("b")])));
    const res = await send(port, "GET", "/");
    expect(res.headers["transfer-encoding"]).toBe("chunked");
    expect(res.body.toString()).toBe("ab");
  });

  it("expandFile takes the length from the file size", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vsgi-"));
    try {
      await writeFile(join(dir, "f.txt"), "file content");
      await writeFile(join(dir, "empty"), "");
      const port = await with1((req, res) => res.expandFile(join(dir, req.path.slice(1))));
      const res = await send(port, "GET", "/f.txt");
      expect(res.headers["content-length"]).toBe("12");
      expect(res.body.toString()).toBe("file content");
      const empty = await send(port, "GET", "/empty");
      expect(empty.status).toBe(200);
      expect(empty.headers["content-length"]).toBe("0");
      const logged: string[] = [];
      setErrorLogger((message, error) => logged.push(`${message} ${(error as NodeJS.ErrnoException).code}`));
      try {
        const missing = await send(port, "GET", "/missing");
        expect(missing.status).toBe(500);
        expect(missing.body.toString()).toBe("Internal Server Error");
      } finally {
        setErrorLogger(DEFAULT_LOGGER);
      }
      expect(logged).toEqual(["GET /missing: unhandled error ENOENT"]);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it("append streams chunks and end finishes", async () => {
    const port = await with1(async (req, res) => {
      await res.append("one,");
      await res.appendUtf8("two");
      return res.end();
    });
    const res = await send(port, "GET", "/");
    expect(res.body.toString()).toBe("one,two");
  });

  it("the body's first write sends the head; headers cannot change after", async () => {
    let error: unknown = null;
    let before = true;
    const port = await with1(async (req, res) => {
      before = res.headWritten;
      await res.append("x");
      try {
        res.writeHead();
      } catch (err) {
        error = err;
      }
      return res.end();
    });
    await send(port, "GET", "/");
    expect(before).toBe(false);
    expect(error).toEqual(expect.objectContaining({ code: ERR_HEAD_WRITTEN }));
  });

  it("writeHead sends status and reason phrase", async () => {
    const port = await with1((req, res) => {
      res.status = 299;
      res.reasonPhrase = "Custom";
      return res.end();
    });
    const text = await raw(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(text).toMatch(/^HTTP\/1\.1 299 Custom\r\n/);
  });

  it("an invalid status is a 500, never sent", async () => {
    const port = await with1((req, res) => {
      res.status = 42;
      return res.end();
    });
    const logged = await capturingErrors(async () => expect((await send(port, "GET", "/")).status).toBe(500));
    expect(logged).toEqual([expect.stringContaining("invalid status 42")]);
  });

  it("a header value with CR LF is refused and never sent", async () => {
    const port = await with1((req, res) => {
      res.headers.set("X-Evil", "a\r\nSet-Cookie: pwned=1");
      return res.expandUtf8("unreachable");
    });
    let res!: Awaited<ReturnType<typeof send>>;
    const logged = await capturingErrors(async () => void (res = await send(port, "GET", "/")));
    expect(logged).toEqual([expect.stringContaining("invalid value for header X-Evil")]);
    expect(res.status).toBe(500);
    expect(res.headers["set-cookie"]).toBeUndefined();
    expect(res.headers["x-evil"]).toBeUndefined();
  });

  it("convert passes the body through a transform (gzip)", async () => {
    const port = await with1((req, res) => {
      res.headers.set("Content-Encoding", "gzip");
      res.convert(createGzip());
      return res.expandUtf8("compressed ".repeat(100));
    });
    const res = await send(port, "GET", "/");
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(res.headers["content-length"]).toBeUndefined();
    expect(gunzipSync(res.body).toString()).toBe("compressed ".repeat(100));
  });

  it("onHead listeners run once, in order, just before the head, with the length of a whole body", async () => {
    const seen: string[] = [];
    const listener = (name: string) => ({
      headWillBeSent(res: Response, length: number | null): void {
        seen.push(`${name}:${res.status}:${length}:${res.headers.get("content-length")}`);
        res.headers.set(`X-${name}`, "1");
      },
    });
    const port = await with1(async (req, res) => {
      const path = req.uri.pathname;
      res.onHead(listener("a"));
      res.onHead(listener("b"));
      if (path === "/expand") {
        res.status = 201;
        return res.expandUtf8("four");
      }
      if (path === "/end") return res.end();
      if (path === "/convert") {
        res.onHead({
          headWillBeSent(r: Response): void {
            r.headers.set("Content-Encoding", "gzip");
            r.convert(createGzip());
          },
        });
        return res.expandUtf8("compressed ".repeat(100));
      }
      await res.append("ab");
      res.body.write("cd"); // the head is already out: no second call
      return res.end();
    });
    let res = await send(port, "GET", "/expand");
    expect(res.headers["x-a"]).toBe("1");
    expect(res.headers["x-b"]).toBe("1");
    expect(seen).toEqual(["a:201:4:4", "b:201:4:4"]);
    seen.length = 0;
    await send(port, "GET", "/end");
    expect(seen).toEqual(["a:200:0:null", "b:200:0:null"]);
    seen.length = 0;
    res = await send(port, "GET", "/stream");
    expect(res.body.toString()).toBe("abcd");
    expect(res.headers["x-b"]).toBe("1");
    expect(seen).toEqual(["a:200:null:null", "b:200:null:null"]);
    res = await send(port, "GET", "/convert");
    expect(res.headers["content-length"]).toBeUndefined();
    expect(gunzipSync(res.body).toString()).toBe("compressed ".repeat(100));
  });

  it("a converted body whose client goes away fails the writer instead of leaving it waiting", async () => {
    let settle!: (outcome: string) => void;
    const outcome = new Promise<string>((resolve) => (settle = resolve));
    const port = await with1(async (req, res) => {
      res.headers.set("Content-Encoding", "gzip");
      res.convert(createGzip({ level: 0 }));
      try {
        for (let i = 0; i < 100_000; i++) await res.append(Buffer.alloc(65536, i));
        settle("finished");
      } catch (error) {
        settle(`failed: ${(error as Error).message}`);
      }
      return true;
    });
    const socket = connect(port, "127.0.0.1", () => socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    let received = 0;
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > 256 * 1024) socket.destroy();
    });
    expect(await outcome).toMatch(/^failed: /);
  });

  it("append on a body already destroyed and closed fails instead of waiting for ever", async () => {
    // A write on a destroyed stream returns false, and its 'close' is over: waiting for a
    // 'drain', 'close' or 'error' to come would wait for ever, the handler with it.
    let settle!: (outcome: string) => void;
    const outcome = new Promise<string>((resolve) => (settle = resolve));
    const port = await with1(async (req, res) => {
      await res.append("first");
      res.body.destroy();
      await once(res.body, "close");
      try {
        await res.append("second");
        settle("finished");
      } catch (error) {
        settle(`failed: ${(error as { code?: string }).code}`);
      }
      return true;
    });
    const socket = connect(port, "127.0.0.1", () => socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    socket.on("error", () => undefined);
    socket.resume();
    expect(await outcome).toBe(`failed: ${ERR_REQUEST_ENDED}`);
    socket.destroy();
  });

  it("onHead after the head is an error", async () => {
    let message = "";
    const port = await with1(async (req, res) => {
      res.writeHead();
      try {
        res.onHead({ headWillBeSent() {} });
      } catch (error) {
        message = (error as { code: string }).code;
      }
      return res.end();
    });
    await send(port, "GET", "/");
    expect(message).toBe(ERR_HEAD_WRITTEN);
  });

  it("tee copies the body into another stream", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vsgi-"));
    const copy = join(dir, "copy");
    const file = createWriteStream(copy);
    try {
      const port = await with1(async (req, res) => {
        res.tee(file);
        await res.append("abc");
        return res.expandUtf8("def");
      });
      const res = await send(port, "GET", "/");
      expect(res.body.toString()).toBe("abcdef");
      if (!file.closed) await once(file, "close");
      expect(await readFile(copy, "utf8")).toBe("abcdef");
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it("setCookie adds one Set-Cookie per cookie, signed ones readable back", async () => {
    const port = await with1((req, res) => {
      if (req.path === "/read") return res.expandUtf8(String(req.lookupSignedCookie("s", ["new", "k"])));
      res.setCookie("a", "1", { path: "/" });
      res.setCookie("s", "secret value", { signed: "k" });
      return res.end();
    });
    const res = await send(port, "GET", "/");
    const cookies = res.headers["set-cookie"] as string[];
    expect(cookies).toHaveLength(2);
    expect(cookies[0]).toBe("a=1; Path=/");
    const signed = cookies[1]!.split(";")[0]!;
    expect((await send(port, "GET", "/read", { Cookie: signed })).body.toString()).toBe("secret value");
    expect((await send(port, "GET", "/read", { Cookie: "s=s%3Aforged.sig" })).body.toString()).toBe("null");
  });

  it("204 and 304 carry no body even when one is given", async () => {
    const port = await with1((req, res) => {
      res.status = Number(req.path.slice(1));
      return res.expandUtf8("ignored");
    });
    for (const status of [204, 304]) {
      const text = await raw(port, `GET /${status} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(text).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(text.endsWith("\r\n\r\n")).toBe(true);
      expect(text).not.toMatch(/Content-Length/);
    }
  });
});
