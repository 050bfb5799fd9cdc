import { describe, it, expect, beforeAll, afterAll, afterEach } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { PassThrough, Readable, Writable } from "node:stream";
import { conformance, patternDigest } from "./conformance.js";
import { cgiTransport, runCgi, parseCgiResponse, CGI_APP } from "../helpers/cgi-client.js";
import { Server, logError, setErrorLogger, type HandlerLike, type Request } from "../../vsgi/index.js";
import { createHash } from "node:crypto";

conformance(cgiTransport);

describe("cgi backend, as a process started by a front server", () => {
  it("writes nothing but the response on stdout and exits 0", async () => {
    const run = await runCgi(CGI_APP, { method: "GET", target: "/hello" });
    expect(run.exitCode).toBe(0);
    expect(run.stdout.toString()).toBe("Content-Type: text/plain; charset=UTF-8\r\nContent-Length: 5\r\nStatus: 200 OK\r\n\r\nhello");
    expect(run.stderr).toBe("");
  });

  it("removes HTTP_PROXY from the process environment before the application runs (httpoxy)", async () => {
    const run = await runCgi(CGI_APP, { method: "GET", target: "/httpoxy", headers: [["Proxy", "http://evil.example:8080"]] });
    expect(run.exitCode).toBe(0);
    // nor is it a request variable or header: test/security/httpoxy.test.ts
    expect(JSON.parse(run.response.body.toString())).toEqual({ processEnv: null, header: null, environment: null });
  });

  it("ignores the command line under a front server (Apache passes a query without '=' as arguments)", async () => {
    for (const args of [["--help"], ["-p", "80"], ["--forks", "2"], ["--version"]]) {
      const run = await runCgi(CGI_APP, { method: "GET", target: `/argv?${args.join("+")}` }, { args });
      expect(run.exitCode).toBe(0);
      expect(run.response.status).toBe(200);
      expect(JSON.parse(run.response.body.toString())).toEqual(args);
    }
  });

  it("reads the body to the end of stdin when there is no CONTENT_LENGTH", async () => {
    const body = Buffer.alloc(300000, 0x61);
    const run = await runCgi(CGI_APP, { method: "POST", target: "/upload", body: Readable.from([body.subarray(0, 1000), body.subarray(1000)]) }, { noContentLength: true });
    expect(JSON.parse(run.response.body.toString())).toEqual({ length: body.length, sha256: createHash("sha256").update(body).digest("hex") });
  });

  it("reads exactly CONTENT_LENGTH bytes when stdin holds more", async () => {
    const run = await runCgi(CGI_APP, { method: "POST", target: "/upload", headers: [["Content-Length", "3"]], body: Buffer.from("abcdef") });
    expect(JSON.parse(run.response.body.toString()).length).toBe(3);
  });

  it("answers 400 when stdin ends before CONTENT_LENGTH bytes", async () => {
    const run = await runCgi(CGI_APP, { method: "POST", target: "/upload", headers: [["Content-Length", "10"]], body: Buffer.from("abc") });
    expect(run.exitCode).toBe(0);
    expect(run.response.status).toBe(400);
    expect(run.response.body.toString()).toMatch(/7 bytes short of CONTENT_LENGTH/);
    expect(run.stderr).toMatch(/7 bytes short of CONTENT_LENGTH/);
  });

  it("exits 0 when the front server stops reading (its client went away)", async () => {
    const run = await runCgi(CGI_APP, { method: "GET", target: "/slow", abortAfter: 64 * 1024 });
    expect(run.exitCode).toBe(0);
    expect(run.response.status).toBe(200);
    expect(run.stderr).toBe("");
  });

  it("answers 400 to a malformed environment, and says why on stderr", async () => {
    const run = await runCgi(CGI_APP, { method: "GET", target: "/hello" }, { env: { REQUEST_METHOD: "G(T" } });
    expect(run.exitCode).toBe(0);
    expect(run.response.status).toBe(400);
    expect(run.stderr).toMatch(/cgi: refused the request: invalid REQUEST_METHOD "G\(T"/);
  });

  it("refuses to start outside a CGI environment: exit 1, a message on stderr, nothing on stdout", () => {
    const run = spawnSync(process.execPath, [CGI_APP], { env: { PATH: process.env.PATH }, encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/not run as a CGI script: REQUEST_METHOD is not set/);
  });

  it("serves a mount prefix from SCRIPT_NAME and PATH_INFO (lighttpd, Apache mod_cgi)", async () => {
    const run = await runCgi(CGI_APP, { method: "GET", target: "/app/echo-path/x%20y" }, { side: { scriptName: "/app" } });
    expect(JSON.parse(run.response.body.toString())).toEqual({ path: "/echo-path/x%20y", scriptName: "/app" });
    const redirect = await runCgi(CGI_APP, { method: "GET", target: "/app/redirect" }, { side: { scriptName: "/app" } });
    expect(redirect.response.headers.get("location")).toBe("/app/hello");
  });
});

/** A stdout that collects what is written, optionally holding writes until released. */
class Collector extends Writable {
  chunks: Buffer[] = [];
  private held: (() => void)[] = [];
  hold: boolean;

  constructor(hold = false) {
    super({ highWaterMark: 64 * 1024 });
    this.hold = hold;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    if (this.hold) this.held.push(() => callback());
    else callback();
  }

  release(): void {
    this.hold = false;
    for (const callback of this.held.splice(0)) callback();
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function cgiEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { GATEWAY_INTERFACE: "CGI/1.1", REQUEST_METHOD: "GET", REQUEST_URI: "/", SERVER_NAME: "localhost", SERVER_PORT: "80", ...extra };
}

async function serveOnce(
  handler: HandlerLike,
  environment: Record<string, string>,
  stdin: Readable = Readable.from([]),
  options: Record<string, unknown> = {},
): Promise<{ server: Server; stdout: Collector }> {
  const stdout = new Collector();
  const server = await Server.load("cgi", { handler, environment, stdin, stdout, ...options });
  await server.listen();
  await server.done;
  return { server, stdout };
}

describe("cgi backend, with injected streams", () => {
  let logged: string[] = [];
  const originalLogger = logError;
  beforeAll(() => setErrorLogger((message) => logged.push(message)));
  afterAll(() => setErrorLogger(originalLogger));
  afterEach(() => {
    logged = [];
  });

  it("has no URI and no address; listens once", async () => {
    const server = await Server.load("cgi", { handler: () => false, environment: cgiEnv(), stdout: new Collector() });
    expect(server.scheme).toBe("cgi");
    expect(server.uris).toEqual([]);
    await expect(server.listen({ port: 0 })).rejects.toThrow(/takes no address/);
    await server.listen();
    await expect(server.listen()).rejects.toThrow(/listen\(\) was already called/);
    await server.done;
  });

  it("settles done once the response is flushed, and ends an injected stdout", async () => {
    const { stdout } = await serveOnce((req, res) => res.expandUtf8("hi"), cgiEnv());
    expect(stdout.writableFinished).toBe(true);
    expect(parseCgiResponse(stdout.bytes).body.toString()).toBe("hi");
  });

  it("run() returns 0 after the one request, ignoring the command line under a front server", async () => {
    const stdout = new Collector();
    const server = await Server.load("cgi", { handler: (req: Request, res) => res.expandUtf8(req.path), environment: cgiEnv({ REQUEST_URI: "/run" }), stdout });
    expect(await server.run(["node", "app.js", "--help"])).toBe(0);
    expect(stdout.bytes.toString()).toBe("Content-Type: text/plain; charset=UTF-8\r\nContent-Length: 4\r\nStatus: 200 OK\r\n\r\n/run");
  });

  it("never reads stdin for a request without a body", async () => {
    let reads = 0;
    const stdin = new Readable({
      read() {
        reads++;
        this.push(null);
      },
    });
    const { stdout } = await serveOnce(async (req, res) => res.expandUtf8(`${(await req.flatten()).length}`), cgiEnv({ CONTENT_LENGTH: "0" }), stdin);
    expect(parseCgiResponse(stdout.bytes).body.toString()).toBe("0");
    expect(reads).toBe(0);
  });

  it("reads CONTENT_LENGTH bytes and leaves the rest of stdin unread", async () => {
    const stdin = new PassThrough();
    stdin.end("0123456789");
    const { stdout } = await serveOnce(async (req, res) => res.expandUtf8(await req.flattenUtf8()), cgiEnv({ REQUEST_METHOD: "POST", CONTENT_LENGTH: "4" }), stdin);
    expect(parseCgiResponse(stdout.bytes).body.toString()).toBe("0123");
    let rest = "";
    for await (const chunk of stdin) rest += chunk;
    expect(rest.length).toBeLessThanOrEqual(6);
  });

  it("reads the declared body the application left unread before it is done (Apache mod_cgid)", async () => {
    // stdin stays open, as mod_cgid's socket does: only the declared bytes may be read.
    const stdin = new PassThrough();
    stdin.write("0123456789");
    stdin.write("after");
    const { stdout } = await serveOnce((req, res) => res.expandUtf8("ignored the body"), cgiEnv({ REQUEST_METHOD: "POST", CONTENT_LENGTH: "10" }), stdin);
    expect(parseCgiResponse(stdout.bytes).body.toString()).toBe("ignored the body");
    stdin.end();
    let rest = "";
    for await (const chunk of stdin) rest += chunk;
    expect(rest).toBe("after");
  });

  it("leaves a declared body larger than maxDiscard unread", async () => {
    const stdin = new PassThrough();
    stdin.write("0123456789");
    await serveOnce((req, res) => res.expandUtf8("x"), cgiEnv({ REQUEST_METHOD: "POST", CONTENT_LENGTH: "10" }), stdin, { maxDiscard: 4 });
    stdin.end();
    let rest = "";
    for await (const chunk of stdin) rest += chunk;
    expect(rest).toBe("0123456789");
  });

  it("sees a short stdin as an aborted request", async () => {
    let aborted = false;
    const stdin = new PassThrough();
    stdin.end("ab");
    const { stdout } = await serveOnce(
      async (req, res) => {
        try {
          await req.flatten();
        } finally {
          aborted = req.aborted;
        }
        return res.end();
      },
      cgiEnv({ REQUEST_METHOD: "POST", CONTENT_LENGTH: "5" }),
      stdin,
    );
    expect(aborted).toBe(true);
    expect(parseCgiResponse(stdout.bytes).status).toBe(400);
    // A client that went away is normal traffic: one line, no stack.
    expect(logged).toEqual(["POST /: the request body ended 3 bytes short of CONTENT_LENGTH"]);
  });

  it("sends no body for HEAD, with the headers of GET", async () => {
    const handler: HandlerLike = async (req, res) => {
      res.headers.set("Content-Type", "text/plain");
      await res.append("streamed ");
      await res.append("body");
      return res.end();
    };
    const { stdout } = await serveOnce(handler, cgiEnv({ REQUEST_METHOD: "HEAD" }));
    expect(stdout.bytes.toString()).toBe("Content-Type: text/plain\r\nStatus: 200 OK\r\n\r\n");
    const get = await serveOnce(handler, cgiEnv());
    expect(get.stdout.bytes.toString()).toBe("Content-Type: text/plain\r\nStatus: 200 OK\r\n\r\nstreamed body");
  });

  it("waits for a slow front server instead of buffering the response", async () => {
    const stdout = new Collector(true);
    let appended = 0;
    const block = Buffer.alloc(64 * 1024, 0x61);
    const server = await Server.load("cgi", {
      handler: async (req, res) => {
        for (let i = 0; i < 64; i++) {
          await res.append(block);
          appended++;
        }
        return res.end();
      },
      environment: cgiEnv(),
      stdout,
    });
    await server.listen();
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    // Held writes are never acknowledged: the application is kept waiting after a few blocks.
    expect(appended).toBeLessThanOrEqual(3);
    stdout.release();
    await server.done;
    expect(appended).toBe(64);
    expect(parseCgiResponse(stdout.bytes).body.length).toBe(64 * block.length);
  });

  it("aborts the request and settles when stdout fails (EPIPE)", async () => {
    let signalled = false;
    const stdout = new Writable({
      write(chunk, encoding, callback) {
        callback(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      },
    });
    const server = await Server.load("cgi", {
      handler: async (req: Request, res) => {
        req.signal.addEventListener("abort", () => (signalled = true));
        try {
          for (let i = 0; i < 10; i++) await res.append("x".repeat(1000));
        } catch {
          // the write failed
        }
        return true;
      },
      environment: cgiEnv(),
      stdout,
    });
    await server.listen();
    await server.done;
    expect(signalled).toBe(true);
  });

  it("streams a download through stdout intact", async () => {
    const size = 1024 * 1024 + 7;
    const { stdout } = await serveOnce(async (req, res) => {
      const block = Buffer.alloc(size);
      for (let i = 0; i < size; i++) block[i] = i % 251;
      for (let offset = 0; offset < size; offset += 65536) await res.append(block.subarray(offset, offset + 65536));
      return res.end();
    }, cgiEnv());
    const body = parseCgiResponse(stdout.bytes).body;
    expect(createHash("sha256").update(body).digest("hex")).toBe(patternDigest(size));
  });

  it("stop() lets the request finish up to stopTimeout, then gives up on it", async () => {
    const stdout = new Collector();
    let aborted = false;
    const server = await Server.load("cgi", {
      handler: (req: Request) => {
        req.signal.addEventListener("abort", () => (aborted = true));
        return new Promise<boolean>(() => undefined);
      },
      environment: cgiEnv(),
      stdout,
      stopTimeout: 20,
    });
    await server.listen();
    await server.stop();
    await server.done;
    expect(aborted).toBe(true);
    expect(stdout.destroyed).toBe(true);
  });

  it("refuses a wrong scriptName option at construction", async () => {
    await expect(Server.load("cgi", { handler: () => false, scriptName: "app/" })).rejects.toThrow(/scriptName/);
  });

  it("serves through Server.new by name", async () => {
    const stdout = new Collector();
    const server = Server.new("cgi", { handler: (req, res) => res.expandUtf8("by name"), environment: cgiEnv(), stdout });
    await server.listen();
    await server.done;
    expect(parseCgiResponse(stdout.bytes).body.toString()).toBe("by name");
  });
});
