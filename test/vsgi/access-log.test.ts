// The access log through run(argv): real processes (test/fixtures/log-app.ts) on each backend,
// real protocol clients, real files in a temporary folder, real signals.
import { describe, it, expect, beforeAll, afterAll, afterEach } from "@jest/globals";
import { mkdtemp, rm, readFile, rename, copyFile, truncate, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { start, distPath, type Program } from "../helpers/process.js";
import { connect } from "node:net";
import { createGzip } from "node:zlib";
import { send, serve, raw, type Served } from "../helpers/http.js";
import { capturingErrors } from "../helpers/log.js";
import { enableAccessLog, disableAccessLog, type HandlerFunction } from "../../vsgi/index.js";
import { httpClient } from "../helpers/http-client.js";
import { scgiClient, scgiRequest } from "../helpers/scgi-client.js";
import { FastcgiClient, fastcgiConformanceClient, nginxParams } from "../helpers/fastcgi-client.js";
import { ajpClient } from "../helpers/ajp-client.js";
import { runCgi } from "../helpers/cgi-client.js";
import type { ConformanceClient } from "../servers/conformance.js";

const APP = distPath("test/fixtures/log-app.js");
// A zone without summer time, whose offset Apache's documentation shows: -0700.
const TZ = "Etc/GMT+7";
let dir = "";
let running: Program[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vsgi-access-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  for (const p of running) p.kill("SIGKILL");
  running = [];
});

function run(args: string[], env: NodeJS.ProcessEnv = {}): Program {
  const p = start(APP, args, { TZ, ...env });
  running.push(p);
  return p;
}

async function portOf(p: Program, scheme = "http"): Promise<number> {
  const [, port] = await p.waitFor(new RegExp(`Listening on '${scheme}://127\\.0\\.0\\.1:(\\d+)/'`));
  return Number(port);
}

async function read(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return "";
  }
}

/** The file's lines once it has `count` of them (the log writes at the end of an event-loop turn). */
async function lines(path: string, count: number): Promise<string[]> {
  for (let i = 0; i < 500; i++) {
    const text = await read(path);
    const all = text.split("\n").slice(0, -1);
    if (all.length >= count) return all;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${path} never had ${count} lines: ${JSON.stringify(await read(path))}`);
}

const CLF = /^(\S+) - (\S+) \[(\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d [-+]\d{4})\] "(.*)" (\d{3}) (\d+|-) "(.*)" "(.*)" (\d+)$/;

describe("--access-log on the http backend", () => {
  it("writes a Combined Log Format line with the referer, the user agent and the query, and the duration", async () => {
    const file = join(dir, "clf.log");
    const p = run(["-p", "0", "--access-log", file]);
    const port = await portOf(p);
    const before = Date.now();
    const res = await send(port, "GET", "/a?b=1&c=%22", { Referer: "http://example.com/start.html", "User-Agent": "test-agent/1.0 (x)" });
    expect(res.status).toBe(200);
    const [line] = await lines(file, 1);
    expect(line).toMatch(/^127\.0\.0\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d -0700\] "GET \/a\?b=1&c=%22 HTTP\/1\.1" 200 5 "http:\/\/example\.com\/start\.html" "test-agent\/1\.0 \(x\)" \d+$/);
    // the time is the request's, in the zone of the process
    const stamp = CLF.exec(line!)![3]!.replace(/^(\d\d)\/(\w{3})\/(\d{4}):/, "$2 $1 $3 ").replace(" -0700", " GMT-0700");
    expect(Math.abs(Date.parse(stamp) - before)).toBeLessThan(60_000);
  });

  it("writes JSON lines with the fields typed, the Basic user and the worker", async () => {
    const file = join(dir, "json.log");
    const p = run(["-p", "0", "--access-log", file, "--log-format", "json"]);
    const port = await portOf(p);
    const before = Date.now();
    await send(port, "GET", "/j?x=1", { Authorization: `Basic ${Buffer.from("alice:secret").toString("base64")}`, "User-Agent": "ua" });
    await send(port, "HEAD", "/missing");
    const [one, two] = (await lines(file, 2)).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(one).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      remoteAddress: "127.0.0.1",
      user: "alice",
      method: "GET",
      target: "/j?x=1",
      protocol: "HTTP/1.1",
      status: 200,
      bytes: 5,
      referer: null,
      userAgent: "ua",
      duration: expect.any(Number),
      worker: 0,
    });
    expect(Math.abs(Date.parse(one!.time as string) - before)).toBeLessThan(60_000);
    expect(Number.isInteger(one!.duration) && (one!.duration as number) >= 0).toBe(true);
    expect(two).toMatchObject({ method: "HEAD", target: "/missing", status: 404, bytes: 0, user: null });
  });

  it("writes to standard output when --access-log has no file (followed by another flag)", async () => {
    const p = run(["--access-log", "-p", "0"]);
    const port = await portOf(p);
    await send(port, "GET", "/out", { "User-Agent": "stdout-test" });
    const [line] = await p.waitFor(/^.*"GET \/out HTTP\/1\.1" 200 5 "-" "stdout-test" \d+$/m, "stdout");
    expect(line).toMatch(CLF);
    expect(p.stderr()).not.toContain("/out");
  });

  it("escapes quotes and backslashes a client sends", async () => {
    const file = join(dir, "quotes.log");
    const p = run(["-p", "0", "--access-log", file]);
    const port = await portOf(p);
    await send(port, "GET", "/q", { "User-Agent": 'a" 200 1 "-" "\\' });
    const [line] = await lines(file, 1);
    expect(line).toContain(' "a\\" 200 1 \\"-\\" \\"\\\\" ');
    expect(line).toMatch(CLF);
  });

  it("writes repeated headers joined, whatever their case, whether or not the app built the header table", async () => {
    const file = join(dir, "repeated.log");
    const p = run(["-p", "0", "--access-log", file]);
    const port = await portOf(p);
    const head = (path: string): string =>
      `GET ${path} HTTP/1.1\r\nHost: x\r\nreferer: http://r/\r\nUSER-AGENT: one\r\nConnection: close\r\nUser-Agent: two\r\n` +
      `authorization: Basic ${Buffer.from("bob:pw").toString("base64")}\r\n\r\n`;
    expect(await raw(port, head("/raw"))).toMatch(/^HTTP\/1\.1 200 /);
    expect(await raw(port, head("/table"))).toMatch(/\r\n\r\n2$/);
    const [scanned, tabled] = await lines(file, 2);
    expect(scanned).toMatch(/^127\.0\.0\.1 - bob \[[^\]]+\] "GET \/raw HTTP\/1\.1" 200 5 "http:\/\/r\/" "one, two" \d+$/);
    expect(tabled).toMatch(/^127\.0\.0\.1 - bob \[[^\]]+\] "GET \/table HTTP\/1\.1" 200 1 "http:\/\/r\/" "one, two" \d+$/);
  });

  it("writes the lines not yet written when the process dies of an uncaught exception", async () => {
    const file = join(dir, "crash.log");
    const p = run(["-p", "0", "--access-log", file]);
    const port = await portOf(p);
    expect((await send(port, "GET", "/before")).status).toBe(200);
    expect((await send(port, "GET", "/crash")).body.toString()).toBe("bye");
    expect(await p.exited).not.toBe(0);
    // queued, not formatted (64 are), the crash 20 ms after the last: what the 100 ms had not
    // written yet, the exit did
    expect((await read(file)).split("\n").slice(0, -1).map((line) => CLF.exec(line)![4])).toEqual(["GET /before HTTP/1.1", "GET /crash HTTP/1.1"]);
  });

  it("exits 1 naming a file it cannot open, before listening", async () => {
    const file = join(dir, "no-such-folder", "access.log");
    const p = run(["-p", "0", "--access-log", file]);
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toBe(`cannot open the access log ${file}: ENOENT: no such file or directory, open '${file}'\n`);
  });
});

describe("logrotate and SIGUSR1", () => {
  it("reopens the file after logrotate moved it: the old file keeps the earlier lines, the new one gets the next, none lost", async () => {
    const file = join(dir, "rotate.log");
    const p = run(["-p", "0", "--access-log", file]);
    const port = await portOf(p);
    let sent = 0;
    const burst = (): Promise<unknown> => Promise.all(Array.from({ length: 10 }, () => send(port, "GET", `/r${sent++}`)));
    await burst();
    await rename(file, file + ".1");
    // Lines batched before the signal is handled go to the moved file: keep requests in flight
    // around it, until one lands in the new file.
    const during = burst();
    p.kill("SIGUSR1");
    await during;
    for (let i = 0; (await read(file)) === ""; i++) {
      if (i === 100) throw new Error("no line reached the new file after SIGUSR1");
      await burst();
    }
    await burst();
    const targets = (text: string): number[] => text.split("\n").slice(0, -1).map((l) => Number(/"GET \/r(\d+) /.exec(l)![1]));
    const moved = await lines(file + ".1", 10);
    const old = targets(moved.join("\n") + "\n");
    const next = targets((await lines(file, sent - old.length)).join("\n") + "\n");
    expect(old.length).toBeGreaterThanOrEqual(10);
    expect(next.length).toBeGreaterThanOrEqual(10);
    expect([...old, ...next].sort((a, b) => a - b)).toEqual(Array.from({ length: sent }, (_, i) => i));
    // each file a run of requests: every line of the old file came before every line of the new one
    expect(Math.max(...old.slice(0, 10))).toBeLessThan(Math.min(...next));
    expect(p.stderr()).not.toMatch(/cannot/);
  });

  it("keeps writing after logrotate's copytruncate (no signal), from the start of the emptied file", async () => {
    const file = join(dir, "copytruncate.log");
    const p = run(["-p", "0", "--access-log", file]);
    const port = await portOf(p);
    await send(port, "GET", "/first");
    await lines(file, 1);
    await copyFile(file, file + ".1");
    await truncate(file, 0); // no signal: copytruncate leaves the process writing to the same file
    await send(port, "GET", "/second");
    const [line] = await lines(file, 1);
    expect(line).toContain('"GET /second HTTP/1.1"');
    expect(await read(file)).not.toContain("\0");
    expect(await read(file + ".1")).toContain('"GET /first HTTP/1.1"');
  });

  it("logs one line and keeps the old file when the path cannot be opened again", async () => {
    const folder = join(dir, "going");
    await mkdir(folder);
    const p = run(["-p", "0", "--access-log", join(folder, "a.log")]);
    const port = await portOf(p);
    await rename(folder, folder + ".moved");
    p.kill("SIGUSR1");
    await p.waitFor(/cannot open the access log .*going\/a\.log: ENOENT.*; still writing to the file it replaced\n/);
    await send(port, "GET", "/after");
    const [line] = await lines(join(folder + ".moved", "a.log"), 1);
    expect(line).toContain('"GET /after HTTP/1.1"');
  });
});

interface Backend {
  name: string;
  env: string;
  scheme: string;
  /** The address the front server gives as the client's (REMOTE_ADDR), or the socket's peer. */
  remote: string;
  client(port: number): ConformanceClient;
}

const none = async (): Promise<void> => undefined;
const BACKENDS: Backend[] = [
  { name: "http", env: "http", scheme: "http", remote: "127.0.0.1", client: (port) => httpClient(port, none) },
  { name: "scgi", env: "scgi", scheme: "scgi", remote: "192.0.2.7", client: (port) => scgiClient({ port }, none, { remoteAddress: "192.0.2.7" }) },
  { name: "fastcgi", env: "fastcgi", scheme: "fastcgi", remote: "127.0.0.1", client: (port) => fastcgiConformanceClient({ port }, "per-request", none) },
  { name: "ajp", env: "ajp", scheme: "ajp", remote: "192.0.2.9", client: (port) => ajpClient(port, none, { remoteAddr: "192.0.2.9" }) },
];

describe.each(BACKENDS)("the $name backend", (backend) => {
  it("logs one line per request, a response cut short by the client with the bytes that went out", async () => {
    const file = join(dir, `${backend.name}.log`);
    const p = run(["-p", "0", "--access-log", file], { FIXTURE_BACKEND: backend.env });
    const port = await portOf(p, backend.scheme);
    const client = backend.client(port);
    try {
      expect((await client.request({ method: "GET", target: "/one?x=1", headers: [["User-Agent", "ua-1"]] })).status).toBe(200);
      expect((await client.request({ method: "GET", target: "/missing", headers: [["Referer", "http://r/"]] })).status).toBe(404);
      await client.request({ method: "GET", target: "/stream", abortAfter: 1000 });
    } finally {
      await client.close();
    }
    const logged = await lines(file, 3);
    expect(logged).toHaveLength(3);
    const [one, missing, stream] = logged.map((l) => CLF.exec(l));
    expect(one!.slice(1, 10)).toEqual([backend.remote, "-", expect.any(String), "GET /one?x=1 HTTP/1.1", "200", "5", "-", "ua-1", expect.stringMatching(/^\d+$/)]);
    expect(missing!.slice(4, 8)).toEqual(["GET /missing HTTP/1.1", "404", "9", "http://r/"]);
    // the bytes that went out: the first 1000, and the bytes of the writes before one failed
    expect(stream!.slice(4, 6)).toEqual(["GET /stream HTTP/1.1", "200"]);
    expect(Number(stream![6])).toBeGreaterThanOrEqual(1000);
  });
});

describe("the other CGI-family inputs", () => {
  it("fastcgi: the client's address is REMOTE_ADDR from the front server", async () => {
    const file = join(dir, "fastcgi-remote.log");
    const p = run(["-p", "0", "--access-log", file], { FIXTURE_BACKEND: "fastcgi" });
    const port = await portOf(p, "fastcgi");
    const c = await FastcgiClient.connect({ port });
    const params = nginxParams("GET", "/remote", [["User-Agent", "u"]]).map(([n, v]): [string, string] => [n, n === "REMOTE_ADDR" ? "198.51.100.4" : v]);
    await c.request({ params, keepConn: false });
    const [line] = await lines(file, 1);
    expect(line).toMatch(/^198\.51\.100\.4 - - \[.*\] "GET \/remote HTTP\/1\.1" 200 5 "-" "u" \d+$/);
  });

  it("scgi: a front server's CR, LF and quotes in a variable stay inside their field", async () => {
    const file = join(dir, "inject.log");
    const p = run(["-p", "0", "--access-log", file], { FIXTURE_BACKEND: "scgi" });
    const port = await portOf(p, "scgi");
    const forged = 'x"\r\n10.0.0.1 - admin [01/Jan/2000:00:00:00 +0000] "GET /admin HTTP/1.1" 200 1 "-" "-" 1';
    await scgiRequest({ port }, { method: "GET", target: "/in", headers: [["User-Agent", forged]] });
    const logged = await lines(file, 1);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(' "x\\"\\r\\n10.0.0.1 - admin [01/Jan/2000:00:00:00 +0000] \\"GET /admin HTTP/1.1\\" 200 1 \\"-\\" \\"-\\" 1" ');
    expect(logged[0]).toMatch(CLF);
  });

  it("cgi: the one request is logged to the file enableAccessLog opened, with REMOTE_USER", async () => {
    const file = join(dir, "cgi.log");
    const { response, exitCode } = await runCgi(
      APP,
      { method: "GET", target: "/cgi?q=1", headers: [["User-Agent", "cgi-ua"]] },
      { env: { FIXTURE_BACKEND: "cgi", ACCESS_LOG_FILE: file, TZ, REMOTE_USER: "carol" }, side: { remoteAddress: "203.0.113.5" } },
    );
    expect(response.status).toBe(200);
    expect(exitCode).toBe(0);
    expect(await lines(file, 1)).toEqual([expect.stringMatching(/^203\.0\.113\.5 - carol \[.* -0700\] "GET \/cgi\?q=1 HTTP\/1\.1" 200 5 "-" "cgi-ua" \d+$/)]);
  });
});

describe("enableAccessLog, in this process", () => {
  let served: Served | null = null;
  afterEach(async () => {
    disableAccessLog();
    await served?.close();
    served = null;
  });

  /** Serves `handler` with the log on to a new file; the file's path. */
  async function logged(name: string, handler: HandlerFunction, format: "clf" | "json" = "clf"): Promise<string> {
    const file = join(dir, name);
    enableAccessLog({ file, format });
    served = await serve(handler);
    return file;
  }

  it("logs a response that fails after its head with the status sent and the bytes that went out", async () => {
    const file = await logged("midway.log", async (req, res) => {
      await res.append("partial");
      throw new Error("the database went away");
    });
    const errors = await capturingErrors(() => send(served!.port, "GET", "/midway").catch(() => undefined));
    expect(errors).toEqual([expect.stringMatching(/^GET \/midway: error after the head was written; closing the connection the database went away$/)]);
    const [line] = await lines(file, 1);
    expect(line).toMatch(/"GET \/midway HTTP\/1\.1" 200 7 "-" "-" \d+$/);
  });

  it("logs 499 when the client leaves before any head was sent", async () => {
    let left: () => void = () => undefined;
    let arrived: () => void = () => undefined;
    const gone = new Promise<void>((resolve) => (left = resolve));
    const handling = new Promise<void>((resolve) => (arrived = resolve));
    const file = await logged("gone.log", async (req) => {
      req.signal.addEventListener("abort", () => left());
      arrived();
      await gone;
      return true;
    });
    const socket = connect(served!.port, "127.0.0.1");
    socket.write("GET /gone HTTP/1.1\r\nHost: x\r\n\r\n");
    await handling;
    socket.destroy();
    await gone;
    const [line] = await lines(file, 1);
    expect(line).toMatch(/"GET \/gone HTTP\/1\.1" 499 - "-" "-" \d+$/);
  });

  it("logs a connection taken over (a protocol switch) as 101 when the application takes it", async () => {
    const file = await logged("switch.log", (req, res) => {
      const taken = res.takeConnection();
      if (taken === null) return false;
      taken.socket.end("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x-test\r\nConnection: Upgrade\r\n\r\n");
      return true;
    }, "json");
    const reply = await raw(served!.port, "GET /switch HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: x-test\r\n\r\n");
    expect(reply).toMatch(/^HTTP\/1\.1 101 /);
    const [line] = await lines(file, 1);
    expect(JSON.parse(line!)).toMatchObject({ method: "GET", target: "/switch", status: 101, bytes: 0, worker: 0 });
  });

  it("counts the bytes after compression, the ones that went out", async () => {
    const file = await logged("gzip.log", (req, res) => {
      res.headers.set("Content-Encoding", "gzip");
      res.convert(createGzip());
      return res.expandUtf8("a".repeat(10_000));
    });
    const res = await send(served!.port, "GET", "/gzip");
    const [line] = await lines(file, 1);
    expect(line).toMatch(new RegExp(`"GET /gzip HTTP/1\\.1" 200 ${res.body.length} "-" "-" \\d+$`));
    expect(res.body.length).toBeLessThan(10_000);
  });

  it("stops when turned off: later requests are not logged", async () => {
    const file = await logged("off.log", (req, res) => res.expandUtf8("x"));
    await send(served!.port, "GET", "/on");
    disableAccessLog();
    await send(served!.port, "GET", "/off");
    const text = await read(file);
    expect(text).toContain('"GET /on HTTP/1.1"');
    expect(text).not.toContain("/off");
  });
});
