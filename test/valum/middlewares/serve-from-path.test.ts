import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from "@jest/globals";
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync, utimesSync, statSync, realpathSync, readdirSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync, brotliCompressSync, gunzipSync } from "node:zlib";
import { Router, ClientError, serveFromPath, SERVE_FROM_PATH_DEFAULTS, formatHttpDate } from "../../../valum/index.js";
import { setErrorLogger, VsgiError } from "../../../vsgi/index.js";
import { withServer } from "../util.js";
import { distPath, start } from "../../helpers/process.js";
import { send } from "../../helpers/http.js";

const SECRET = "TOPSECRET-8f3a1c"; // outside the root
const SIBLING_SECRET = "SIBLINGSECRET-77"; // in a folder whose name starts like the root's
const DOT_SECRET = "DOTSECRET-5b2e"; // dot files inside the root
const ADMIN = "ADMINONLY-91d0"; // behind a guard route
const SECRETS = [SECRET, SIBLING_SECRET, DOT_SECRET];

let base: string;
let root: string;
const big = Buffer.alloc(300 * 1024);
for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 8)) & 0xff;
const appJs = "console.log('app');\n".repeat(50);

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "valum-static-"));
  root = join(base, "public");
  mkdirSync(root);
  writeFileSync(join(base, "secret.txt"), SECRET);
  mkdirSync(join(base, "public2"));
  writeFileSync(join(base, "public2", "secret.txt"), SIBLING_SECRET);
  writeFileSync(join(root, "hello.txt"), "hello world\n");
  writeFileSync(join(root, "page.html"), "<p>hi</p>");
  writeFileSync(join(root, "data.unknownext"), "raw");
  writeFileSync(join(root, "empty.txt"), "");
  writeFileSync(join(root, "big.bin"), big);
  writeFileSync(join(root, "café ü.txt"), "unicode name");
  writeFileSync(join(root, "100%.txt"), "percent");
  writeFileSync(join(root, "%2e%2e"), "literal percent name");
  writeFileSync(join(root, "app.js"), appJs);
  writeFileSync(join(root, "app.js.gz"), gzipSync(appJs));
  writeFileSync(join(root, "app.js.br"), brotliCompressSync(appJs));
  writeFileSync(join(root, "onlygz.css"), "body{}");
  writeFileSync(join(root, "onlygz.css.gz"), gzipSync("body{}"));
  writeFileSync(join(root, ".env"), DOT_SECRET);
  mkdirSync(join(root, ".git"));
  writeFileSync(join(root, ".git", "config"), DOT_SECRET);
  mkdirSync(join(root, "dir"));
  writeFileSync(join(root, "dir", "inner.txt"), "inner");
  mkdirSync(join(root, "admin"));
  writeFileSync(join(root, "admin", "x"), ADMIN);
  // symlinks that lead out of the root, and one that stays inside
  symlinkSync(join(base, "secret.txt"), join(root, "link-out"));
  symlinkSync(base, join(root, "dir-out"));
  symlinkSync("../public2", join(root, "dir-sibling"));
  symlinkSync(join(root, "hello.txt"), join(root, "link-in.txt"));
  writeFileSync(join(root, "evil.txt"), "plain evil");
  symlinkSync(join(base, "secret.txt"), join(root, "evil.txt.gz"));
  symlinkSync(join(base, "secret.txt"), join(root, "evil.txt.br"));
  // a fixed modification time well in the past, so Last-Modified is a strong validator
  const past = new Date(Date.UTC(2024, 0, 15, 12, 0, 0));
  for (const name of ["hello.txt", "big.bin", "app.js", "app.js.gz", "app.js.br"]) utimesSync(join(root, name), past, past);
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

let logged: unknown[] = [];
beforeEach(() => {
  logged = [];
  setErrorLogger((message, error) => logged.push(error ?? message));
});
afterEach(() => {
  setErrorLogger((message, error) => console.error(message, error));
  expect(logged).toEqual([]);
});

/** The common mounts: the request path (`use`) and a `<path:path>` capture, each behind a guard on /admin/. */
function apps(options = {}): Router[] {
  const guard = () => {
    throw ClientError.forbidden("guarded");
  };
  const viaPath = new Router();
  viaPath.get("/admin/*", guard);
  viaPath.use(serveFromPath(root, options));
  const viaCapture = new Router();
  viaCapture.get("/admin/*", guard);
  viaCapture.get("/<path:path>", serveFromPath(root, options));
  return [viaPath, viaCapture];
}

function statusOf(raw: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
}

describe("serving files", () => {
  it("sends a file with its type, length, validators and Accept-Ranges", async () => {
    for (const app of apps()) {
      await withServer(app, async (c) => {
        const res = await c.send("GET", "/hello.txt");
        expect(res.status).toBe(200);
        expect(res.text).toBe("hello world\n");
        expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
        expect(res.headers["content-length"]).toBe("12");
        expect(res.headers["accept-ranges"]).toBe("bytes");
        expect(res.headers["etag"]).toMatch(/^"[0-9a-f]+-c"$/);
        expect(res.headers["last-modified"]).toBe("Mon, 15 Jan 2024 12:00:00 GMT");
        expect(res.headers["vary"]).toBe("Accept-Encoding");
        expect(res.headers["cache-control"]).toBeUndefined();
      });
    }
  });

  it("knows types by extension, falls back to octet-stream, and serves empty and unicode-named files", async () => {
    await withServer(apps()[0]!, async (c) => {
      expect((await c.send("GET", "/page.html")).headers["content-type"]).toBe("text/html; charset=utf-8");
      expect((await c.send("GET", "/app.js")).headers["content-type"]).toBe("text/javascript; charset=utf-8");
      expect((await c.send("GET", "/data.unknownext")).headers["content-type"]).toBe("application/octet-stream");
      const empty = await c.send("GET", "/empty.txt");
      expect([empty.status, empty.headers["content-length"], empty.body.length]).toEqual([200, "0", 0]);
      expect((await c.send("GET", "/caf%C3%A9%20%C3%BC.txt")).text).toBe("unicode name");
      expect((await c.send("GET", "/100%25.txt")).text).toBe("percent");
      expect((await c.send("GET", "/%252e%252e")).text).toBe("literal percent name"); // decoded once
      expect((await c.send("GET", "/dir/inner.txt")).text).toBe("inner");
      expect((await c.send("GET", "/link-in.txt")).text).toBe("hello world\n"); // a symlink inside the root
    });
  });

  it("streams a large file whole and intact", async () => {
    await withServer(apps()[1]!, async (c) => {
      const res = await c.send("GET", "/big.bin");
      expect(res.headers["content-length"]).toBe(String(big.length));
      expect(res.body.equals(big)).toBe(true);
    });
  });

  it("a client leaving mid-download: no error logged, the file closed", async () => {
    const huge = join(root, "huge.bin");
    writeFileSync(huge, Buffer.alloc(32 * 1024 * 1024, 7));
    const openFiles = () => readdirSync("/proc/self/fd").length;
    try {
      await withServer(apps()[0]!, async (c) => {
        const before = openFiles();
        for (let i = 0; i < 3; i++) {
          await new Promise<void>((resolve, reject) => {
            const socket = connect(c.port, "127.0.0.1", () => socket.write("GET /huge.bin HTTP/1.1\r\nHost: h\r\n\r\n"));
            socket.once("data", () => {
              socket.destroy(); // after the head, long before the 32 MiB
              resolve();
            });
            socket.on("error", reject);
          });
        }
        // the server notices the closed sockets in its own time: wait for the files to close
        for (let i = 0; i < 200 && openFiles() > before; i++) await new Promise((r) => setTimeout(r, 10));
        expect(openFiles()).toBeLessThanOrEqual(before);
        expect((await c.send("GET", "/hello.txt")).text).toBe("hello world\n"); // still serving
      });
    } finally {
      rmSync(huge);
    }
  });

  it("HEAD: the headers of GET, no body", async () => {
    await withServer(apps()[0]!, async (c) => {
      const get = await c.send("GET", "/big.bin");
      const res = await c.send("HEAD", "/big.bin");
      expect(res.status).toBe(200);
      expect(res.body.length).toBe(0);
      for (const name of ["content-length", "content-type", "etag", "last-modified", "accept-ranges"]) {
        expect(res.headers[name]).toBe(get.headers[name]);
      }
    });
  });

  it("a missing file, a directory or another method calls next", async () => {
    const app = new Router();
    app.use(serveFromPath(root));
    app.use((req, res) => res.expandUtf8(`next ${req.method} ${req.path}`));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/missing.txt")).text).toBe("next GET /missing.txt");
      expect((await c.send("GET", "/dir")).text).toBe("next GET /dir"); // no listing
      expect((await c.send("GET", "/dir/")).text).toBe("next GET /dir/");
      expect((await c.send("GET", "/")).text).toBe("next GET /");
      expect((await c.send("POST", "/hello.txt")).text).toBe("next POST /hello.txt");
      expect((await c.send("GET", "/hello.txt/x")).text).toBe("next GET /hello.txt/x");
    });
    await withServer(apps()[0]!, async (c) => {
      expect((await c.send("GET", "/missing.txt")).status).toBe(404);
    });
  });

  it("Cache-Control from maxAge and immutable, or given whole", async () => {
    const cases: [object, string][] = [
      [{ maxAge: 3600 }, "public, max-age=3600"],
      [{ maxAge: 60, immutable: true }, "public, max-age=60, immutable"],
      [{ immutable: true }, "public, max-age=31536000, immutable"],
      [{ cacheControl: "no-cache" }, "no-cache"],
    ];
    for (const [options, expected] of cases) {
      const app = new Router();
      app.use(serveFromPath(root, options));
      await withServer(app, async (c) => {
        expect((await c.send("GET", "/hello.txt")).headers["cache-control"]).toBe(expected);
      });
    }
  });

  it("etag and lastModified can be turned off", async () => {
    const app = new Router();
    app.use(serveFromPath(root, { etag: false, lastModified: false, precompressed: false }));
    await withServer(app, async (c) => {
      const res = await c.send("GET", "/hello.txt", { "If-None-Match": "*" });
      expect(res.status).toBe(304); // * matches any existing representation
      const plain = await c.send("GET", "/hello.txt", { "If-Modified-Since": "Mon, 15 Jan 2024 12:00:00 GMT" });
      expect(plain.status).toBe(200);
      expect(plain.headers["etag"]).toBeUndefined();
      expect(plain.headers["last-modified"]).toBeUndefined();
      expect(plain.headers["vary"]).toBeUndefined();
    });
  });
});

describe("options are checked at registration", () => {
  it("names the bad option", () => {
    const bad: [string, unknown, RegExp][] = [
      ["/no/such/dir", {}, /option root must be an existing directory/],
      [join(root, "hello.txt"), {}, /option root must be an existing directory/],
      [root, { etag: "yes" }, /option etag must be true or false/],
      [root, { maxAge: -1 }, /option maxAge/],
      [root, { maxAge: "1h" }, /option maxAge/],
      [root, { cacheControl: "a\r\nb" }, /option cacheControl/],
      [root, { cacheControl: "no-store", maxAge: 5 }, /option cacheControl/],
      [root, { dotfiles: "hide" }, /option dotfiles/],
      [root, { sendfile: "x-lighttpd" }, /option sendfile/],
      [root, { accelRedirectPrefix: "internal" }, /option accelRedirectPrefix/],
      [root, { maxRanges: 0 }, /option maxRanges/],
      [root, { maxage: 5 }, /option maxage must be one of/],
    ];
    for (const [dir, options, message] of bad) {
      let caught: unknown = null;
      try {
        serveFromPath(dir, options as never);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(VsgiError);
      expect(String((caught as Error).message)).toMatch(/^serveFromPath: /);
      expect(String((caught as Error).message)).toMatch(message);
    }
    expect(SERVE_FROM_PATH_DEFAULTS.dotfiles).toBe("ignore");
    expect(serveFromPath(root).name).toBe("serveFromPath");
  });
});

describe("traversal never reaches a file outside the root", () => {
  // Raw request targets: node's parser takes them as they are, the router normalizes them.
  const tricks = [
    "/../secret.txt",
    "/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/.%2e/secret.txt",
    "/%2e./secret.txt",
    "/..%2fsecret.txt",
    "/..%2Fsecret.txt",
    "/%2e%2e%2fsecret.txt",
    "/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/..%5csecret.txt",
    "/..%5Csecret.txt",
    "/%2e%2e%5csecret.txt",
    "/..\\secret.txt",
    "/\\..\\secret.txt",
    "/%252e%252e/secret.txt",
    "/%252e%252e%252fsecret.txt",
    "/..%252fsecret.txt",
    "/..%255csecret.txt",
    "/dir/../../secret.txt",
    "/dir/%2e%2e/%2e%2e/secret.txt",
    "/dir/.%2e/.%2e/secret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "/..%c0%afsecret.txt",
    "/%c0%af..%c0%afsecret.txt",
    "/%e0%80%ae%e0%80%ae/secret.txt",
    "/%u002e%u002e/secret.txt",
    "/....//secret.txt",
    "/.../secret.txt",
    "/..;/secret.txt",
    "/..%00/secret.txt",
    "/secret.txt%00.txt",
    "/%00../secret.txt",
    "//../secret.txt",
    "///secret.txt",
    "/link-out",
    "/dir-out/secret.txt",
    "/dir-out/public2/secret.txt",
    "/dir-sibling/secret.txt",
    "/../public2/secret.txt",
    "/%2e%2e/public2/secret.txt",
    "/.env",
    "/.git/config",
    "/%2egit/config",
    "/%2eenv",
    "/dir/../.env",
    "/" + "a/".repeat(3000) + "../".repeat(3001) + "secret.txt",
    "/" + "%2e%2e/".repeat(50) + "secret.txt",
    "/" + "x".repeat(5000),
    "http://localhost/../secret.txt",
    "/hello.txt/../../secret.txt",
    "/secret.txt?/../../secret.txt",
  ];

  it(`${tricks.length} spellings, on both mounts, leak no byte of a secret`, async () => {
    expect(tricks.length).toBeGreaterThanOrEqual(30);
    for (const app of apps()) {
      await withServer(app, async (c) => {
        for (const target of tricks) {
          const answer = await c.raw(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
          for (const secret of SECRETS) expect([target, answer.includes(secret)]).toEqual([target, false]);
          // an answer, never a crash or a silence (414: the longest are past the server's maxUrlLength)
          expect([target, [200, 400, 403, 404, 414].includes(statusOf(answer))]).toEqual([target, true]);
        }
      });
    }
  });

  it("a NUL or a malformed escape is a 400", async () => {
    await withServer(apps()[0]!, async (c) => {
      for (const target of ["/a%00b", "/%c0%ae%c0%ae/secret.txt", "/%zz"]) {
        expect([target, statusOf(await c.raw(`GET ${target} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`))]).toEqual([target, 400]);
      }
    });
  });

  it("a precompressed sibling that is a symlink out of the root is never offered", async () => {
    await withServer(apps()[0]!, async (c) => {
      for (const encoding of ["gzip", "br", "br, gzip", "*"]) {
        const res = await c.send("GET", "/evil.txt", { "Accept-Encoding": encoding });
        expect(res.text).toBe("plain evil");
        expect(res.headers["content-encoding"]).toBeUndefined();
      }
    });
  });

  it("dot files: ignored by default, 403 with deny, served with allow", async () => {
    const deny = new Router();
    deny.use(serveFromPath(root, { dotfiles: "deny" }));
    await withServer(deny, async (c) => {
      const res = await c.send("GET", "/.git/config");
      expect(res.status).toBe(403);
      expect(res.text).not.toContain(DOT_SECRET);
    });
    const allow = new Router();
    allow.use(serveFromPath(root, { dotfiles: "allow" }));
    await withServer(allow, async (c) => {
      expect((await c.send("GET", "/.env")).text).toBe(DOT_SECRET);
    });
  });
});

describe("a guard route in front is never bypassed", () => {
  const spellings = [
    "/admin/x",
    "/admin%2Fx",
    "/admin%2fx",
    "/admin%5Cx",
    "/admin%5cx",
    "/admin\\x",
    "//admin/x",
    "/./admin/x",
    "./admin/x",
    "/dir/../admin/x",
    "/%2e/admin/x",
    "/%61dmin/x",
    "/%41dmin/x",
    "/admi%6e/x",
    "/admin/%78",
    "/admin//x",
    "/admin/./x",
    "/%2561dmin/x",
    "/admin;/x",
    "/ADMIN/x",
    "/admin%00/x",
    "http://localhost/admin/x",
  ];

  it(`${spellings.length} spellings of /admin/x: the guard answers or no file is served`, async () => {
    for (const app of apps()) {
      await withServer(app, async (c) => {
        for (const target of spellings) {
          const answer = await c.raw(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
          expect([target, answer.includes(ADMIN)]).toEqual([target, false]);
        }
        // the plain spelling reaches the guard
        expect(statusOf(await c.raw("GET /admin/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"))).toBe(403);
      });
    }
  });

  it("a capture under a mount prefix is checked the same way", async () => {
    const app = new Router();
    app.get("/static/admin/*", () => {
      throw ClientError.forbidden();
    });
    app.get("/static/<path:path>", serveFromPath(root));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/static/hello.txt")).text).toBe("hello world\n");
      for (const target of ["/static/admin/x", "/static/%61dmin/x", "/static/admin%2Fx", "/static//admin/x", "/static/dir/../admin/x"]) {
        const answer = await c.raw(`GET ${target} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
        expect([target, answer.includes(ADMIN)]).toEqual([target, false]);
      }
    });
  });
});

describe("conditional requests (RFC 9110 section 13.2.2)", () => {
  it("If-None-Match: 304 without a body, keeping ETag, Vary and Cache-Control", async () => {
    const app = new Router();
    app.use(serveFromPath(root, { maxAge: 10 }));
    await withServer(app, async (c) => {
      const etag = (await c.send("GET", "/hello.txt")).headers["etag"] as string;
      for (const value of [etag, `"nope", ${etag}`, `W/${etag}`, "*"]) {
        const res = await c.send("GET", "/hello.txt", { "If-None-Match": value });
        expect([value, res.status]).toEqual([value, 304]);
        expect(res.body.length).toBe(0);
        expect(res.headers["etag"]).toBe(etag);
        expect(res.headers["vary"]).toBe("Accept-Encoding");
        expect(res.headers["cache-control"]).toBe("public, max-age=10");
        expect(res.headers["content-type"]).toBeUndefined();
        expect(res.headers["last-modified"]).toBeUndefined(); // not with an ETag
      }
      expect((await c.send("HEAD", "/hello.txt", { "If-None-Match": etag })).status).toBe(304);
      expect((await c.send("GET", "/hello.txt", { "If-None-Match": '"other"' })).status).toBe(200);
    });
  });

  it("If-Modified-Since: 304 when not modified since, ignored with If-None-Match or a bad date", async () => {
    await withServer(apps()[0]!, async (c) => {
      const lastModified = "Mon, 15 Jan 2024 12:00:00 GMT";
      expect((await c.send("GET", "/hello.txt", { "If-Modified-Since": lastModified })).status).toBe(304);
      expect((await c.send("GET", "/hello.txt", { "If-Modified-Since": "Mon, 15 Jan 2024 11:59:59 GMT" })).status).toBe(200);
      expect((await c.send("GET", "/hello.txt", { "If-Modified-Since": lastModified, "If-None-Match": '"other"' })).status).toBe(200);
      expect((await c.send("GET", "/hello.txt", { "If-Modified-Since": "soon" })).status).toBe(200);
    });
  });

  it("If-Match (strong) and If-Unmodified-Since: 412 when they fail", async () => {
    await withServer(apps()[0]!, async (c) => {
      const etag = (await c.send("GET", "/hello.txt")).headers["etag"] as string;
      expect((await c.send("GET", "/hello.txt", { "If-Match": etag })).status).toBe(200);
      expect((await c.send("GET", "/hello.txt", { "If-Match": "*" })).status).toBe(200);
      const weak = await c.send("GET", "/hello.txt", { "If-Match": `W/${etag}` });
      expect(weak.status).toBe(412);
      expect(weak.text).not.toContain("hello world");
      expect((await c.send("GET", "/hello.txt", { "If-Unmodified-Since": "Mon, 15 Jan 2024 11:00:00 GMT" })).status).toBe(412);
      expect((await c.send("GET", "/hello.txt", { "If-Unmodified-Since": "Mon, 15 Jan 2024 12:00:00 GMT" })).status).toBe(200);
      // If-Match passes, so If-Unmodified-Since is not looked at
      expect((await c.send("GET", "/hello.txt", { "If-Match": etag, "If-Unmodified-Since": "Mon, 15 Jan 2024 11:00:00 GMT" })).status).toBe(200);
    });
  });

  it("a changed file gets a new ETag", async () => {
    const file = join(root, "changing.txt");
    writeFileSync(file, "one");
    await withServer(apps()[0]!, async (c) => {
      const first = (await c.send("GET", "/changing.txt")).headers["etag"];
      writeFileSync(file, "three");
      const second = await c.send("GET", "/changing.txt", { "If-None-Match": first as string });
      expect(second.status).toBe(200);
      expect(second.text).toBe("three");
      expect(second.headers["etag"]).not.toBe(first);
    });
  });
});

describe("ranges (RFC 9110 section 14)", () => {
  it("one range: 206 with Content-Range, never multipart", async () => {
    await withServer(apps()[1]!, async (c) => {
      const res = await c.send("GET", "/big.bin", { Range: "bytes=100-199" });
      expect(res.status).toBe(206);
      expect(res.headers["content-range"]).toBe(`bytes 100-199/${big.length}`);
      expect(res.headers["content-length"]).toBe("100");
      expect(res.headers["content-type"]).toBe("application/octet-stream");
      expect(res.body.equals(big.subarray(100, 200))).toBe(true);
      const suffix = await c.send("GET", "/big.bin", { Range: "bytes=-10" });
      expect(suffix.body.equals(big.subarray(big.length - 10))).toBe(true);
      const large = await c.send("GET", "/big.bin", { Range: "bytes=1000-" });
      expect(large.headers["content-range"]).toBe(`bytes 1000-${big.length - 1}/${big.length}`);
      expect(large.body.equals(big.subarray(1000))).toBe(true);
      // overlapping ranges merged into one: a single part
      const merged = await c.send("GET", "/hello.txt", { Range: "bytes=0-3,2-5" });
      expect([merged.status, merged.headers["content-range"], merged.text]).toEqual([206, "bytes 0-5/12", "hello "]);
    });
  });

  it("several ranges: multipart/byteranges, each part with Content-Type and Content-Range", async () => {
    await withServer(apps()[0]!, async (c) => {
      const res = await c.send("GET", "/big.bin", { Range: "bytes=0-9,200000-270000" });
      expect(res.status).toBe(206);
      const type = res.headers["content-type"] as string;
      const boundary = /^multipart\/byteranges; boundary=(\S+)$/.exec(type)?.[1];
      expect(boundary).toBeDefined();
      expect(res.headers["content-length"]).toBe(String(res.body.length));
      const parts = res.body.toString("latin1").split(`--${boundary}`);
      expect(parts[0]).toBe("");
      expect(parts[3]).toBe("--\r\n");
      const part = (text: string) => {
        const [heads, ...body] = text.split("\r\n\r\n");
        return { heads: heads!.trim().split("\r\n"), body: Buffer.from(body.join("\r\n\r\n").replace(/\r\n$/, ""), "latin1") };
      };
      const one = part(parts[1]!);
      expect(one.heads).toEqual(["Content-Type: application/octet-stream", `Content-Range: bytes 0-9/${big.length}`]);
      expect(one.body.equals(big.subarray(0, 10))).toBe(true);
      const two = part(parts[2]!);
      expect(two.heads).toEqual(["Content-Type: application/octet-stream", `Content-Range: bytes 200000-270000/${big.length}`]);
      expect(two.body.equals(big.subarray(200000, 270001))).toBe(true);
      // RFC 9110 section 14.2: range handling is defined for GET only
      const headOnly = await c.send("HEAD", "/big.bin", { Range: "bytes=0-9,20-29" });
      expect([headOnly.status, headOnly.headers["content-length"], headOnly.body.length]).toEqual([200, String(big.length), 0]);
      expect((await c.send("HEAD", "/hello.txt", { Range: "bytes=100-" })).status).toBe(200);
    });
  });

  it("416 with Content-Range: bytes */size when nothing is satisfiable", async () => {
    await withServer(apps()[0]!, async (c) => {
      for (const range of ["bytes=12-", "bytes=100-200", "bytes=-0"]) {
        const res = await c.send("GET", "/hello.txt", { Range: range });
        expect([range, res.status, res.headers["content-range"]]).toEqual([range, 416, "bytes */12"]);
        expect(res.text).not.toContain("hello");
      }
    });
  });

  it("malformed, other-unit and too many ranges are ignored: 200 whole", async () => {
    await withServer(apps()[0]!, async (c) => {
      const many = "bytes=" + Array.from({ length: 20 }, (_, i) => `${i * 100}-${i * 100 + 1}`).join(",");
      for (const range of ["bytes=5-1", "items=0-1", "bytes=x", many]) {
        const res = await c.send("GET", "/big.bin", { Range: range });
        expect([range, res.status]).toEqual([range, 200]);
        expect(res.body.length).toBe(big.length);
      }
    });
  });

  it("If-Range: the range only when the validator matches strongly or the date exactly", async () => {
    await withServer(apps()[0]!, async (c) => {
      const etag = (await c.send("GET", "/hello.txt")).headers["etag"] as string;
      const date = "Mon, 15 Jan 2024 12:00:00 GMT";
      const cases: [string, number][] = [
        [etag, 206],
        [`W/${etag}`, 200],
        ['"stale"', 200],
        [date, 206],
        ["Mon, 15 Jan 2024 12:00:01 GMT", 200],
        ["Mon, 15 Jan 2024 11:59:59 GMT", 200],
        ["garbage", 200],
      ];
      for (const [ifRange, status] of cases) {
        const res = await c.send("GET", "/hello.txt", { Range: "bytes=0-4", "If-Range": ifRange });
        expect([ifRange, res.status]).toEqual([ifRange, status]);
        expect(res.text).toBe(status === 206 ? "hello" : "hello world\n");
      }
    });
  });
});

describe("precompressed siblings", () => {
  it("offers .br or .gz by Accept-Encoding and q-values, with the original's type", async () => {
    await withServer(apps()[0]!, async (c) => {
      const cases: [string, string | undefined][] = [
        ["gzip", "gzip"],
        ["br", "br"],
        ["gzip, br", "br"],
        ["gzip, deflate, br, zstd", "br"],
        ["br;q=0.5, gzip", "gzip"],
        ["br;q=0, gzip;q=0", undefined],
        ["identity", undefined],
        ["gzip;q=0.5, identity", undefined],
        ["*", "br"],
        ["deflate", undefined],
      ];
      for (const [accept, coding] of cases) {
        const res = await c.send("GET", "/app.js", { "Accept-Encoding": accept });
        expect([accept, res.headers["content-encoding"]]).toEqual([accept, coding]);
        expect(res.headers["content-type"]).toBe("text/javascript; charset=utf-8");
        expect(res.headers["vary"]).toBe("Accept-Encoding");
        expect(res.headers["content-length"]).toBe(String(res.body.length));
      }
      const gz = await c.send("GET", "/app.js", { "Accept-Encoding": "gzip" });
      expect(gunzipSync(gz.body).toString()).toBe(appJs);
      const plain = await c.send("GET", "/app.js");
      expect([plain.headers["content-encoding"], plain.text]).toEqual([undefined, appJs]);
      expect(gz.headers["etag"]).not.toBe(plain.headers["etag"]);
    });
  });

  it("only where one exists; Vary on every answer, 304 and 416 included", async () => {
    await withServer(apps()[0]!, async (c) => {
      const css = await c.send("GET", "/onlygz.css", { "Accept-Encoding": "br, gzip" });
      expect(css.headers["content-encoding"]).toBe("gzip");
      const hello = await c.send("GET", "/hello.txt", { "Accept-Encoding": "br, gzip" });
      expect([hello.headers["content-encoding"], hello.text, hello.headers["vary"]]).toEqual([undefined, "hello world\n", "Accept-Encoding"]);
      const etag = css.headers["etag"] as string;
      const notModified = await c.send("GET", "/onlygz.css", { "Accept-Encoding": "gzip", "If-None-Match": etag });
      expect([notModified.status, notModified.headers["vary"]]).toEqual([304, "Accept-Encoding"]);
      // the identity representation has another ETag: no 304 for it
      expect((await c.send("GET", "/onlygz.css", { "If-None-Match": etag })).status).toBe(200);
      const unsatisfiable = await c.send("GET", "/hello.txt", { Range: "bytes=99-" });
      expect([unsatisfiable.status, unsatisfiable.headers["vary"]]).toEqual([416, "Accept-Encoding"]);
    });
  });

  it("ranges of a sibling count its bytes", async () => {
    const gz = gzipSync(appJs);
    await withServer(apps()[0]!, async (c) => {
      const res = await c.send("GET", "/app.js", { "Accept-Encoding": "gzip", Range: "bytes=0-9" });
      expect(res.status).toBe(206);
      expect(res.headers["content-encoding"]).toBe("gzip");
      expect(res.headers["content-range"]).toBe(`bytes 0-9/${statSync(join(root, "app.js.gz")).size}`);
      expect(res.body.equals(gz.subarray(0, 10))).toBe(true);
    });
  });

  it("Vary merges with what an earlier middleware set, once", async () => {
    const app = new Router();
    app.use((req, res, next) => {
      res.headers.set("Vary", "Origin, accept-encoding");
      return next();
    });
    app.use(serveFromPath(root));
    const other = new Router();
    other.use((req, res, next) => {
      res.headers.set("Vary", "Origin");
      return next();
    });
    other.use(serveFromPath(root));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/app.js", { "Accept-Encoding": "gzip" })).headers["vary"]).toBe("Origin, accept-encoding");
    });
    await withServer(other, async (c) => {
      expect((await c.send("GET", "/app.js")).headers["vary"]).toBe("Origin, Accept-Encoding");
    });
  });

  it("precompressed: false never looks for siblings", async () => {
    const app = new Router();
    app.use(serveFromPath(root, { precompressed: false }));
    await withServer(app, async (c) => {
      const res = await c.send("GET", "/app.js", { "Accept-Encoding": "br, gzip" });
      expect([res.headers["content-encoding"], res.headers["vary"], res.text]).toEqual([undefined, undefined, appJs]);
    });
  });
});

describe("X-Sendfile and X-Accel-Redirect", () => {
  it("x-sendfile: the resolved absolute path, no body, conditionals still answered", async () => {
    const app = new Router();
    app.use(serveFromPath(root, { sendfile: "x-sendfile" }));
    await withServer(app, async (c) => {
      const res = await c.send("GET", "/link-in.txt");
      expect(res.status).toBe(200);
      expect(res.headers["x-sendfile"]).toBe(join(realpathSync(root), "hello.txt")); // the symlink resolved
      expect(res.headers["x-accel-redirect"]).toBeUndefined();
      expect(res.body.length).toBe(0);
      expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
      const etag = res.headers["etag"] as string;
      expect((await c.send("GET", "/link-in.txt", { "If-None-Match": etag })).status).toBe(304);
      const gz = await c.send("GET", "/app.js", { "Accept-Encoding": "gzip" });
      expect(gz.headers["x-sendfile"]).toBe(join(realpathSync(root), "app.js.gz"));
      expect(gz.headers["content-encoding"]).toBe("gzip");
      // the traversal checks come first
      const out = await c.send("GET", "/link-out");
      expect([out.status, out.headers["x-sendfile"]]).toEqual([404, undefined]);
    });
  });

  it("x-accel-redirect: the internal prefix and the path under the root, encoded", async () => {
    const app = new Router();
    app.use(serveFromPath(root, { sendfile: "x-accel-redirect", accelRedirectPrefix: "/protected/" }));
    await withServer(app, async (c) => {
      const res = await c.send("GET", "/caf%C3%A9%20%C3%BC.txt");
      expect(res.headers["x-accel-redirect"]).toBe("/protected/caf%C3%A9%20%C3%BC.txt");
      expect(res.headers["x-sendfile"]).toBeUndefined();
      expect(res.body.length).toBe(0);
      expect((await c.send("GET", "/link-in.txt")).headers["x-accel-redirect"]).toBe("/protected/hello.txt");
      expect((await c.send("GET", "/dir/inner.txt")).headers["x-accel-redirect"]).toBe("/protected/dir/inner.txt");
      // nginx drops Content-Encoding on X-Accel-Redirect: no sibling is named, no Vary promised
      const js = await c.send("GET", "/app.js", { "Accept-Encoding": "br, gzip" });
      expect([js.headers["x-accel-redirect"], js.headers["content-encoding"], js.headers["vary"]]).toEqual(["/protected/app.js", undefined, undefined]);
    });
  });
});

describe("Last-Modified is the file's", () => {
  it("formats the modification time as an IMF-fixdate", async () => {
    await withServer(apps()[0]!, async (c) => {
      const res = await c.send("GET", "/big.bin");
      expect(res.headers["last-modified"]).toBe(formatHttpDate(statSync(join(root, "big.bin")).mtimeMs));
    });
  });
});

describe("the example of the docs (examples/static/app.ts)", () => {
  it("serves public/ under /static/ with its guard", async () => {
    const app = start(distPath("examples/static/app.js"), ["-p", "0"]);
    try {
      const [, port] = await app.waitFor(/Listening on 'http:\/\/127\.0\.0\.1:(\d+)\/'/);
      const hello = await send(Number(port), "GET", "/static/hello.txt");
      expect([hello.status, hello.body.toString(), hello.headers["cache-control"]]).toEqual([200, "Hello from a static file!\n", "public, max-age=3600"]);
      expect((await send(Number(port), "GET", "/static/private/notes.txt")).status).toBe(403);
      expect((await send(Number(port), "GET", "/static/%70rivate/notes.txt")).status).toBe(404);
    } finally {
      app.kill("SIGTERM");
      await app.exited;
    }
  });
});
