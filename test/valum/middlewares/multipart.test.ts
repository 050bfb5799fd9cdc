import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { request as httpRequest } from "node:http";
import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import { describe, it, expect, beforeEach, afterEach } from "@jest/globals";
import { Router, multipart, safeFilename, MULTIPART_DEFAULTS, ClientError, type MultipartLimits, type MultipartPart } from "../../../valum/index.js";
import { ERR_ABORTED, Server, VsgiError, setErrorLogger, type Request } from "../../../vsgi/index.js";
import { scgiRequest } from "../../helpers/scgi-client.js";
import { withServer, type Client } from "../util.js";

let logged: { message: string; error: unknown }[] = [];
beforeEach(() => {
  logged = [];
  setErrorLogger((message, error) => logged.push({ message, error }));
});
afterEach(() => setErrorLogger((message, error) => console.error(message, error)));

const BOUNDARY = "----valum-test-boundary";
const TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

interface PartSpec {
  name?: string;
  filename?: string;
  type?: string;
  headers?: string[];
  body: string | Buffer;
}

function partHead(p: PartSpec): string {
  let disposition = "form-data";
  if (p.name !== undefined) disposition += `; name="${p.name}"`;
  if (p.filename !== undefined) disposition += `; filename="${p.filename}"`;
  let head = `--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n`;
  if (p.type !== undefined) head += `Content-Type: ${p.type}\r\n`;
  for (const h of p.headers ?? []) head += h + "\r\n";
  return head + "\r\n";
}

/** A whole multipart/form-data body. */
function form(parts: PartSpec[], end = true): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) chunks.push(Buffer.from(partHead(p), "utf8"), Buffer.from(p.body), Buffer.from("\r\n"));
  if (end) chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

function post(c: Client, path: string, body: Buffer, type = TYPE) {
  return c.send("POST", path, { "Content-Type": type, "Content-Length": String(body.length) }, body as unknown as string);
}

/** What the test app reports of each part. */
interface Seen {
  name: string;
  filename: string | null;
  type: string;
  contentType: string | null;
  size: number;
  sha256: string;
  text?: string;
}

async function describePart(part: MultipartPart): Promise<Seen> {
  const seen: Seen = { name: part.name, filename: part.filename, type: part.type, contentType: part.headers.get("content-type"), size: 0, sha256: "" };
  if (part.filename === null) {
    seen.text = await part.text();
    seen.size = Buffer.byteLength(seen.text);
    seen.sha256 = createHash("sha256").update(seen.text).digest("hex");
    return seen;
  }
  const hash = createHash("sha256");
  await pipeline(
    part,
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        seen.size += chunk.length;
        cb();
      },
    }),
  );
  seen.sha256 = hash.digest("hex");
  return seen;
}

/** An app whose /form route answers what it saw of each part, in order. */
function app(limits?: MultipartLimits): Router {
  const router = new Router();
  router.post(
    "/form",
    multipart(
      async (req, res, next, ctx, parts) => {
        expect(ctx.multipart).toBe(parts);
        const seen: Seen[] = [];
        for await (const part of parts) seen.push(await describePart(part));
        res.headers.set("Content-Type", "application/json");
        return res.expandUtf8(JSON.stringify(seen));
      },
      { limits },
    ),
  );
  return router;
}

const sha = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");

describe("multipart: parts", () => {
  it("gives fields and files in order, with their name, filename as sent, type and headers", async () => {
    const file = randomBytes(100_000);
    const body = form([
      { name: "title", body: "héllo wörld" },
      { name: "photo", filename: "../../etc/passwd", type: "image/PNG", headers: ["X-Extra: 1"], body: file },
      { name: "empty", body: "" },
      { name: "raw", type: "application/octet-stream", body: "abc" },
    ]);
    await withServer(app(), async (c) => {
      const res = await post(c, "/form", body);
      expect(res.status).toBe(200);
      const seen = JSON.parse(res.text) as Seen[];
      expect(seen.map((s) => s.name)).toEqual(["title", "photo", "empty", "raw"]);
      expect(seen[0]).toMatchObject({ filename: null, type: "text/plain", text: "héllo wörld", contentType: null });
      expect(seen[1]).toMatchObject({ filename: "../../etc/passwd", type: "image/png", contentType: "image/PNG", size: file.length, sha256: sha(file) });
      expect(seen[2]).toMatchObject({ filename: null, text: "" });
      // busboy counts an application/octet-stream part as a file, even without a filename
      expect(seen[3]).toMatchObject({ filename: null, size: 3, sha256: sha("abc") });
    });
    expect(logged).toEqual([]);
  });

  it("passes part headers through and decodes UTF-8 file names", async () => {
    const router = new Router();
    router.post(
      "/",
      multipart(async (req, res, next, ctx, parts) => {
        const out: unknown[] = [];
        for await (const part of parts) out.push({ filename: part.filename, extra: part.headers.getAll("x-extra"), text: await part.text() });
        return res.expandUtf8(JSON.stringify(out));
      }),
    );
    await withServer(router, async (c) => {
      const body = form([{ name: "f", filename: "été.txt", headers: ["X-Extra: a", "X-Extra: b"], body: "file text" }]);
      const res = await post(c, "/", body);
      expect(JSON.parse(res.text)).toEqual([{ filename: "été.txt", extra: ["a", "b"], text: "file text" }]);
    });
  });

  it("skips (drains) a part the handler did not read, and parts stay in order", async () => {
    const router = new Router();
    router.post(
      "/",
      multipart(async (req, res, next, ctx, parts) => {
        const out: string[] = [];
        for await (const part of parts) {
          if (part.name.startsWith("skip")) {
            out.push(`${part.name}:skipped`);
            continue;
          }
          out.push(`${part.name}:${sha(await part.text()).slice(0, 8)}`);
        }
        return res.expandUtf8(out.join(","));
      }),
    );
    const big = randomBytes(3 * 1024 * 1024).toString("base64");
    const body = form([
      { name: "skip1", filename: "a.bin", body: big },
      { name: "kept", filename: "b.bin", body: "bbb" },
      { name: "skip2", body: "field" },
      { name: "last", body: "zzz" },
    ]);
    await withServer(router, async (c) => {
      const res = await post(c, "/", body);
      expect(res.status).toBe(200);
      expect(res.text).toBe(`skip1:skipped,kept:${sha("bbb").slice(0, 8)},skip2:skipped,last:${sha("zzz").slice(0, 8)}`);
    });
  });

  it("yields the next part only once the previous one is read: the parser waits for the reader", async () => {
    const router = new Router();
    let pending = "";
    router.post(
      "/",
      multipart(async (req, res, next, ctx, parts) => {
        const first = (await parts.next()).value as MultipartPart;
        // nothing read of the first file yet: asking for the next part drains it only if unread;
        // here a reader is attached, so next() waits for it to finish
        const chunks: Buffer[] = [];
        first.on("data", (c: Buffer) => chunks.push(c));
        first.pause();
        let second: MultipartPart | undefined;
        const asked = parts.next().then((r) => (second = r.value as MultipartPart));
        await new Promise((r) => setTimeout(r, 50));
        pending = second === undefined ? "waiting" : "early";
        first.resume();
        await asked;
        return res.expandUtf8(`${pending} ${Buffer.concat(chunks).length} ${second!.name} ${await second!.text()}`);
      }),
    );
    await withServer(router, async (c) => {
      const body = form([
        { name: "a", filename: "a", body: Buffer.alloc(1024 * 1024, 1) },
        { name: "b", body: "second" },
      ]);
      const res = await post(c, "/", body);
      expect(res.text).toBe(`waiting ${1024 * 1024} b second`);
    });
  });

  it("streams a 20 MiB file byte for byte (SHA-256) ", async () => {
    const file = randomBytes(20 * 1024 * 1024);
    const body = form([{ name: "f", filename: "big.bin", body: file }]);
    await withServer(app({ fileSize: file.length }), async (c) => {
      const res = await post(c, "/form", body);
      const seen = JSON.parse(res.text) as Seen[];
      expect(seen).toEqual([{ name: "f", filename: "big.bin", type: "text/plain", contentType: null, size: file.length, sha256: sha(file) }]);
    });
  });
});

describe("multipart: limits", () => {
  it("has finite defaults", () => {
    for (const value of Object.values(MULTIPART_DEFAULTS.limits)) expect(Number.isFinite(value)).toBe(true);
  });

  const cases: [keyof MultipartLimits, number, (n: number) => PartSpec[], RegExp][] = [
    ["parts", 3, (n) => Array.from({ length: n }, (_, i) => ({ name: `p${i}`, body: "x" })), /more than 3 parts/],
    ["fields", 2, (n) => [{ name: "f", filename: "f", body: "x" }, ...Array.from({ length: n }, (_, i) => ({ name: `p${i}`, body: "x" }))], /more than 2 fields/],
    ["files", 2, (n) => Array.from({ length: n }, (_, i) => ({ name: `p${i}`, filename: `f${i}`, body: "x" })), /more than 2 files/],
    ["fileSize", 1000, (n) => [{ name: "f", filename: "f", body: Buffer.alloc(n, 7) }], /the file "f" is larger than 1000 bytes/],
    ["fieldSize", 1000, (n) => [{ name: "f", body: "y".repeat(n) }], /the field "f" is longer than 1000 bytes/],
    ["headerPairs", 4, (n) => [{ name: "f", body: "x", headers: Array.from({ length: n - 1 }, (_, i) => `X-H${i}: v`) }], /more than 4 header lines/],
  ];

  it.each(cases)("%s: at the limit is fine, one over is a 413 naming it, never a truncated part", async (limit, value, make, message) => {
    await withServer(app({ [limit]: value }), async (c) => {
      const at = await post(c, "/form", form(make(value)));
      expect(at.status).toBe(200);
      const over = await post(c, "/form", form(make(value + 1)));
      expect(over.status).toBe(413);
      expect(over.text).toMatch(message);
    });
    expect(logged).toEqual([]);
  });

  it("a part header block over busboy's 16 KiB is a 413", async () => {
    await withServer(app(), async (c) => {
      const res = await post(c, "/form", form([{ name: "f", body: "x", headers: [`X-Long: ${"a".repeat(17 * 1024)}`] }]));
      expect(res.status).toBe(413);
      expect(res.text).toMatch(/header is longer than 16384 bytes/);
    });
  });

  it("a handler that swallows the 413 does not turn it into a success", async () => {
    const router = new Router();
    router.post(
      "/",
      multipart(
        async (req, res, next, ctx, parts) => {
          try {
            for await (const part of parts) await part.text();
          } catch {
            // ignored on purpose
          }
          return true;
        },
        { limits: { fieldSize: 10 } },
      ),
    );
    await withServer(router, async (c) => {
      const res = await post(c, "/", form([{ name: "f", body: "0123456789ABC" }]));
      expect(res.status).toBe(413);
    });
  });

  it("closes the connection when the head is already sent: the part's stream errors", async () => {
    let streamError: unknown = null;
    const router = new Router();
    router.post(
      "/",
      multipart(
        async (req, res, next, ctx, parts) => {
          res.headers.set("Content-Type", "text/plain");
          await res.append("started ");
          for await (const part of parts) {
            try {
              await part.text();
            } catch (error) {
              streamError = error;
              throw error;
            }
          }
          return res.end();
        },
        { limits: { fileSize: 10 } },
      ),
    );
    await withServer(router, async (c) => {
      const body = form([{ name: "f", filename: "f", body: "0123456789ABC" }]);
      const outcome = await new Promise<string>((resolve) => {
        const req = httpRequest({ host: "127.0.0.1", port: c.port, method: "POST", path: "/", headers: { "Content-Type": TYPE, "Content-Length": body.length }, agent: false }, (res) => {
          let text = "";
          res.on("data", (d: Buffer) => (text += d.toString()));
          res.on("end", () => resolve(`end ${text}`));
          res.on("error", (e) => resolve(`error ${e.message} ${text}`));
        });
        req.on("error", (e) => resolve(`request error ${e.message}`));
        req.end(body);
      });
      expect(outcome).toMatch(/^error aborted started $/);
    });
    expect(streamError).toBeInstanceOf(ClientError);
    expect((streamError as ClientError).code).toBe(413);
    // the router logs the status it could not send; nothing else
    expect(logged.map((l) => l.message)).toEqual([expect.stringMatching(/status 413 thrown after the head was written/)]);
  });

  it.each([
    [{ parts: -1 }, /limits.parts must be a non-negative integer, got -1/],
    [{ fileSize: 1.5 }, /limits.fileSize must be a non-negative integer/],
    [{ fieldSize: "1" }, /limits.fieldSize must be a non-negative integer, got "1"/],
    [{ headerPairs: 0 }, /limits.headerPairs must be an integer from 1 to 1000/],
    [{ headerPairs: 5000 }, /limits.headerPairs must be an integer from 1 to 1000/],
    [{ fileSize: Infinity }, /limits.fileSize/],
    [{ size: 1 }, /limits.size must be a known limit/],
  ])("checks the limits at registration: %j", (limits, message) => {
    let error: unknown;
    try {
      multipart(() => true, { limits: limits as MultipartLimits });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(VsgiError);
    expect((error as Error).message).toMatch(message);
  });

  it("checks the forward and the options object", () => {
    expect(() => multipart(42 as never)).toThrow(/multipart: option forward must be a function/);
    expect(() => multipart(() => true, { limit: {} } as never)).toThrow(/option limit must be a known option/);
  });
});

describe("multipart: malformed requests", () => {
  it.each([
    ["application/json", 415, /expected multipart\/form-data, got application\/json/],
    ["multipart/mixed; boundary=x", 415, /got multipart\/mixed/],
    ["multipart/form-data", 400, /without a boundary/],
    ["multipart/form-data; boundary=", 400, /malformed Content-Type/],
    [`multipart/form-data; boundary="${"x".repeat(71)}"`, 400, /boundary is not 1 to 70/],
    ["multipart/form-data; boundary=a; boundary=b", 400, /repeated/],
  ])("Content-Type %s is a %i", async (type, status, message) => {
    await withServer(app(), async (c) => {
      const res = await post(c, "/form", form([{ name: "a", body: "x" }]), type);
      expect(res.status).toBe(status);
      expect(res.text).toMatch(message);
    });
  });

  it("a field in a charset the parser does not know is a 415", async () => {
    await withServer(app(), async (c) => {
      const res = await post(c, "/form", form([{ name: "a", type: "text/plain; charset=x-unknown", body: "x" }]));
      expect(res.status).toBe(415);
      expect(res.text).toMatch(/the field "a" is in an unknown charset/);
    });
  });

  it("no Content-Type is a 415", async () => {
    await withServer(app(), async (c) => {
      const res = await c.send("POST", "/form", { "Content-Length": "1" }, "x");
      expect(res.status).toBe(415);
    });
  });

  it.each([
    ["a header line without a colon", Buffer.from(`--${BOUNDARY}\r\nContent-Disposition form-data; name="a"\r\n\r\nx\r\n--${BOUNDARY}--\r\n`), /malformed multipart body: malformed part header/],
    ["a part without Content-Disposition", Buffer.from(`--${BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${BOUNDARY}--\r\n`), /without Content-Disposition: form-data/],
    ["an attachment part", Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n--${BOUNDARY}--\r\n`), /without Content-Disposition: form-data/],
    ["a part without a name", Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--${BOUNDARY}--\r\n`), /without a name/],
    ["a filename* busboy cannot decode", Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"; filename*=utf-8''%ZZ\r\n\r\nx\r\n--${BOUNDARY}--\r\n`), /malformed Content-Disposition/],
    ["an empty name= in the middle", Buffer.concat([form([{ name: "a", body: "1" }], false), Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name=\r\n\r\nx\r\n`), form([{ name: "c", body: "3" }])]), /malformed Content-Disposition/],
    ["no closing boundary", form([{ name: "a", body: "x" }], false), /ends before its closing boundary/],
    ["a body cut in a file", Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"; filename="a"\r\n\r\nxyz`), /ends before its closing boundary/],
    ["a body cut in the part header", Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-da`), /malformed part header|closing boundary/],
  ])("%s is a 400", async (_what, body, message) => {
    await withServer(app(), async (c) => {
      const res = await post(c, "/form", body);
      expect(res.status).toBe(400);
      expect(res.text).toMatch(message);
    });
    expect(logged).toEqual([]);
  });
});

describe("multipart: a client that goes away", () => {
  it("ends the handler's iteration with an error, and nothing is logged", async () => {
    let outcome: { error: unknown; aborted: boolean; bytes: number } | null = null;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const router = new Router();
    router.post(
      "/",
      multipart(
        async (req: Request, res, next, ctx, parts) => {
          let bytes = 0;
          try {
            for await (const part of parts) for await (const chunk of part) bytes += (chunk as Buffer).length;
            outcome = { error: null, aborted: req.aborted, bytes };
          } catch (error) {
            outcome = { error, aborted: req.aborted, bytes };
            throw error;
          } finally {
            done();
          }
          return res.expandUtf8("unexpected");
        },
        { limits: { fileSize: 1 << 30 } },
      ),
    );
    await withServer(router, async (c) => {
      const head = Buffer.from(partHead({ name: "f", filename: "f", body: "" }));
      const req = httpRequest({ host: "127.0.0.1", port: c.port, method: "POST", path: "/", headers: { "Content-Type": TYPE, "Content-Length": String(100 * 1024 * 1024) }, agent: false });
      req.on("error", () => undefined);
      req.write(head);
      for (let i = 0; i < 16; i++) if (!req.write(Buffer.alloc(64 * 1024, 1))) await once(req, "drain");
      await new Promise((r) => setTimeout(r, 100));
      req.destroy();
      await finished;
    });
    expect(outcome).not.toBeNull();
    const { error, aborted, bytes } = outcome!;
    // the request's own abort error: ERR_VSGI_ABORTED, which the router answers as a 400
    expect(error).toBeInstanceOf(VsgiError);
    expect((error as VsgiError).code).toBe(ERR_ABORTED);
    expect((error as VsgiError).status).toBe(400);
    expect(aborted).toBe(true);
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(100 * 1024 * 1024);
    expect(logged).toEqual([]);
  });
});

describe("multipart: through a gateway backend", () => {
  it("streams an upload through scgi byte for byte", async () => {
    const file = randomBytes(8 * 1024 * 1024);
    const body = form([
      { name: "title", body: "scgi" },
      { name: "f", filename: "f.bin", body: file },
    ]);
    const server = await Server.load("scgi", { handler: app({ fileSize: file.length }) });
    await server.listen({ port: 0, host: "127.0.0.1" });
    try {
      const port = Number(server.uris[0]!.port);
      async function* pieces(): AsyncIterable<Buffer> {
        for (let i = 0; i < body.length; i += 60_000) yield body.subarray(i, i + 60_000);
      }
      const res = await scgiRequest({ port }, { method: "POST", target: "/form", headers: [["Content-Type", TYPE], ["Content-Length", String(body.length)]], body: pieces() });
      expect(res.status).toBe(200);
      const seen = JSON.parse(res.body.toString()) as Seen[];
      expect(seen.map((s) => [s.name, s.size, s.sha256])).toEqual([
        ["title", 4, sha("scgi")],
        ["f", file.length, sha(file)],
      ]);
    } finally {
      await server.stop();
    }
  });
});

describe("safeFilename", () => {
  it.each([
    ["photo.jpg", "photo.jpg"],
    ["../../etc/passwd", "passwd"],
    ["C:\\Users\\ana\\photo.jpg", "photo.jpg"],
    ["a/b\\c", "c"],
    ["nul\u0000.txt", "nul.txt"],
    ["new\nline.txt", "newline.txt"],
    ["..", null],
    [".", null],
    ["dir/", null],
    ["", null],
    ["  ", null],
    [".hidden", ".hidden"],
  ])("%j gives %j", (input, expected) => {
    expect(safeFilename(input)).toBe(expected);
  });
});
