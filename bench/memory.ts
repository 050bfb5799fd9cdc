// The memory benchmark: a large upload and a large download through every backend, measuring how
// much the backend process's resident memory grows (target: under 32 MiB for 1 GiB).
//   npm run build && node dist/bench/memory.js          (1024 MiB each way)
//   node dist/bench/memory.js 64                        (64 MiB: a quick run)
//   node dist/bench/memory.js 1024 fastcgi ajp          (some backends only)
//
// The first row, node:http, is the control: bare node:http doing the same work
// (apps/gateway-memory-control.ts), what Node itself costs for a stream of that size.
//
// The backend is the echo application (examples/echo/): POST /upload reads the body and answers
// its length and SHA-256, GET /download?size=N&length streams N bytes of a known pattern. Each
// socket backend (http, scgi, fastcgi, ajp) runs in its own process; this process plays the
// front server over a real loopback socket, with its protocol's framing, and with back-pressure
// both ways (it sends only when the socket drains, reads as fast as it can, and checks every
// byte). The cgi backend is a new process per request, the body on its stdin, the response on
// its stdout, as lighttpd or Apache run it.
//
// Growth = the highest resident set size during the transfer (VmHWM of /proc/<pid>/status after
// resetting it through /proc/<pid>/clear_refs, cross-checked by sampling VmRSS every 10 ms) minus
// VmRSS just before it, once the process is warm (socket backends: an 8 MiB upload and download
// went through first) and its memory steady (CGI: the process loaded and waiting on its pipe).
//
// The multipart row is an upload only: the same pattern as the one file of a
// multipart/form-data body, over node:http, to the http backend running the `multipart`
// middleware (apps/multipart-memory.ts), which answers the file's length and SHA-256.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeHead } from "../servers/scgi/wire.js";
import { beginRequestRecord, encodePairs, encodeRecord, PARAMS, STDIN, STDOUT, STDERR, END_REQUEST } from "../servers/fastcgi/records.js";
import { bodyPacket, forwardRequest } from "../test/helpers/ajp-client.js";
import { cgiVariables } from "../test/helpers/cgi-client.js";
import { freePort } from "../test/helpers/ports.js";
import { listening } from "./wrk.js";

const MiB = 1024 * 1024;
const DIST = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ECHO_APP = join(DIST, "examples/echo/app.js");
const CONTROL_APP = join(DIST, "bench/apps/gateway-memory-control.js");
const MULTIPART_APP = join(DIST, "bench/apps/multipart-memory.js");
// "node:http" is the control: bare node:http doing the same (apps/gateway-memory-control.ts).
const BACKENDS = ["node:http", "http", "scgi", "fastcgi", "ajp", "cgi", "multipart"] as const;
type Backend = (typeof BACKENDS)[number];

// ------------------------------------------------------------------------------------------------
// The pattern (the echo app's: byte i is i % 251), its source and its check

const BLOCK = Buffer.alloc(64 * 1024);
for (let i = 0; i < BLOCK.length; i++) BLOCK[i] = i % 251;
/** The largest piece of the pattern taken from BLOCK at once (any start offset fits). */
const PIECE = BLOCK.length - 251;

/** `n` bytes of the pattern starting at `offset` (a view of BLOCK: no allocation). */
function patternAt(offset: number, n: number): Buffer {
  const start = offset % 251;
  return BLOCK.subarray(start, start + Math.min(n, PIECE));
}

/** A response body: counted and checked against the pattern, or kept (small ones) for reading. */
class Body {
  length = 0;
  mismatch = -1;
  private kept: Buffer[] = [];

  constructor(readonly pattern: boolean) {}

  push(chunk: Buffer): void {
    if (this.pattern) {
      for (let i = 0; i < chunk.length && this.mismatch < 0; ) {
        const expected = patternAt(this.length + i, chunk.length - i);
        if (expected.compare(chunk, i, i + expected.length) !== 0) this.mismatch = this.length + i;
        i += expected.length;
      }
    } else if (this.length < MiB) {
      this.kept.push(Buffer.from(chunk));
    }
    this.length += chunk.length;
  }

  text(): string {
    return Buffer.concat(this.kept).toString("utf8");
  }
}

/** Feeds the CGI-style response (head, blank line, body) of scgi, fastcgi stdout and cgi. */
class CgiResponseReader {
  status = 0;
  private head: Buffer | null = Buffer.alloc(0);

  constructor(readonly body: Body) {}

  push(chunk: Buffer): void {
    if (this.head === null) return this.body.push(chunk);
    const all = Buffer.concat([this.head, chunk]);
    let end = all.indexOf("\r\n\r\n");
    let skip = 4;
    if (end < 0) {
      end = all.indexOf("\n\n");
      skip = 2;
    }
    if (end < 0) {
      if (all.length > 64 * 1024) throw new Error("no end of the response head in 64 KiB");
      this.head = all;
      return;
    }
    const head = all.subarray(0, end).toString("latin1");
    const status = /^Status:\s*(\d{3})/im.exec(head);
    this.status = status ? Number(status[1]) : 200;
    this.head = null;
    if (all.length > end + skip) this.body.push(all.subarray(end + skip));
  }
}

/** What one transfer gave: the status and the body as received. */
interface Outcome {
  status: number;
  body: Body;
}

/** Writes the pattern (`size` bytes) through `write`, pieces of at most `max`, waiting for drains. */
async function sendPattern(socket: NodeJS.WritableStream & { writableNeedDrain: boolean }, size: number, max: number, frame: (piece: Buffer) => Buffer | Buffer[]): Promise<void> {
  for (let offset = 0; offset < size; ) {
    const piece = patternAt(offset, Math.min(max, size - offset));
    const framed = frame(piece);
    let ok = true;
    if (Array.isArray(framed)) for (const b of framed) ok = socket.write(b) && ok;
    else ok = socket.write(framed);
    offset += piece.length;
    if (!ok) await once(socket, "drain");
  }
}

/** The SHA-256 of `size` bytes of the pattern, as the echo app reports it for an upload. */
function patternSha256(size: number): string {
  const hash = createHash("sha256");
  for (let offset = 0; offset < size; ) {
    const piece = patternAt(offset, size - offset);
    hash.update(piece);
    offset += piece.length;
  }
  return hash.digest("hex");
}

// ------------------------------------------------------------------------------------------------
// The front-server side of each protocol

type Transfer = { kind: "upload" | "download"; size: number };
const target = (t: Transfer): string => (t.kind === "upload" ? "/upload" : `/download?size=${t.size}&length=1`);

function open(port: number): Promise<Socket> {
  return new Promise((ok, fail) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.off("error", fail);
      socket.setNoDelay(true);
      ok(socket);
    });
    socket.once("error", fail);
  });
}

function variables(t: Transfer): [string, string][] {
  const method = t.kind === "upload" ? "POST" : "GET";
  const headers: [string, string][] = [["Host", "127.0.0.1"]];
  if (t.kind === "upload") headers.push(["Content-Type", "application/octet-stream"], ["Content-Length", String(t.size)]);
  return cgiVariables({ method, target: target(t), headers }, t.kind === "upload" ? t.size : 0);
}

/** Resolves when the socket closed, with an error if it failed. */
function closed(socket: Socket): Promise<void> {
  return new Promise((ok, fail) => {
    socket.once("error", fail);
    socket.once("close", () => ok());
  });
}

async function overHttp(port: number, t: Transfer): Promise<Outcome> {
  const body = new Body(t.kind === "download");
  const req = httpRequest({
    host: "127.0.0.1",
    port,
    path: target(t),
    method: t.kind === "upload" ? "POST" : "GET",
    agent: false,
    headers: t.kind === "upload" ? { "Content-Type": "application/octet-stream", "Content-Length": String(t.size) } : {},
  });
  const response = new Promise<Outcome>((ok, fail) => {
    req.on("response", (res) => {
      res.on("data", (chunk: Buffer) => body.push(chunk));
      res.on("end", () => ok({ status: res.statusCode ?? 0, body }));
      res.on("error", fail);
    });
    req.on("error", fail);
  });
  if (t.kind === "upload") await sendPattern(req, t.size, PIECE, (p) => p);
  req.end();
  return response;
}

const BOUNDARY = "----valum-memory-benchmark";

/** The pattern as the one file part of a multipart/form-data body, to the `multipart` app. */
async function overMultipart(port: number, t: Transfer): Promise<Outcome> {
  if (t.kind !== "upload") throw new Error("the multipart row is an upload only");
  const head = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="pattern.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  const body = new Body(false);
  const req = httpRequest({
    host: "127.0.0.1",
    port,
    path: "/upload",
    method: "POST",
    agent: false,
    headers: { "Content-Type": `multipart/form-data; boundary=${BOUNDARY}`, "Content-Length": String(head.length + t.size + tail.length) },
  });
  const response = new Promise<Outcome>((ok, fail) => {
    req.on("response", (res) => {
      res.on("data", (chunk: Buffer) => body.push(chunk));
      res.on("end", () => ok({ status: res.statusCode ?? 0, body }));
      res.on("error", fail);
    });
    req.on("error", fail);
  });
  req.write(head);
  await sendPattern(req, t.size, PIECE, (p) => p);
  req.end(tail);
  return response;
}

async function overScgi(port: number, t: Transfer): Promise<Outcome> {
  const socket = await open(port);
  const reader = new CgiResponseReader(new Body(t.kind === "download"));
  socket.on("data", (chunk: Buffer) => reader.push(chunk));
  const done = closed(socket);
  const vars = variables(t).filter(([n]) => n !== "CONTENT_LENGTH");
  socket.write(encodeHead(vars, t.kind === "upload" ? t.size : 0));
  if (t.kind === "upload") await sendPattern(socket, t.size, PIECE, (p) => p);
  await done; // SCGI: the backend closes when the response is done
  return { status: reader.status, body: reader.body };
}

/** Cuts a byte stream into records or packets: `headerLength` bytes, then what `length` says. */
class Framer {
  private pending: Buffer | null = null;

  constructor(
    private readonly headerLength: number,
    private readonly length: (b: Buffer, at: number) => number,
    private readonly onFrame: (frame: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    const buf = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    while (buf.length - at >= this.headerLength) {
      const total = this.headerLength + this.length(buf, at);
      if (buf.length - at < total) break;
      this.onFrame(buf.subarray(at, at + total));
      at += total;
    }
    this.pending = at < buf.length ? Buffer.from(buf.subarray(at)) : null;
  }
}

async function overFastcgi(port: number, t: Transfer): Promise<Outcome> {
  const socket = await open(port);
  const reader = new CgiResponseReader(new Body(t.kind === "download"));
  let ended = false;
  let stderr = "";
  const framer = new Framer(8, (b, at) => b.readUInt16BE(at + 4) + b[at + 6]!, (record) => {
    const type = record[1];
    const content = record.subarray(8, 8 + record.readUInt16BE(4));
    if (type === STDOUT && content.length > 0) reader.push(content);
    else if (type === STDERR) stderr += content.toString();
    else if (type === END_REQUEST) {
      ended = true;
      socket.end();
    }
  });
  socket.on("data", (chunk: Buffer) => framer.push(chunk));
  const done = closed(socket);
  // As nginx sends it: BEGIN_REQUEST, PARAMS, the empty PARAMS, STDIN records, the empty STDIN.
  socket.write(Buffer.concat([beginRequestRecord(1), encodeRecord(PARAMS, 1, encodePairs(variables(t))), encodeRecord(PARAMS, 1)]));
  if (t.kind === "upload") {
    const header = (n: number): Buffer => {
      const h = Buffer.from([1, STDIN, 0, 1, 0, 0, 0, 0]);
      h.writeUInt16BE(n, 4);
      return h;
    };
    await sendPattern(socket, t.size, PIECE, (p) => [header(p.length), p]);
  }
  socket.write(encodeRecord(STDIN, 1));
  await done;
  if (!ended) throw new Error(`the fastcgi connection closed before END_REQUEST ${stderr}`);
  return { status: reader.status, body: reader.body };
}

async function overAjp(port: number, t: Transfer): Promise<Outcome> {
  const socket = await open(port);
  const body = new Body(t.kind === "download");
  let status = 0;
  let sent = 0;
  let ended = false;
  const MAX = 8192 - 6; // what Apache puts in one body packet at the default packet size
  const next = (asked: number): Buffer => {
    const n = Math.min(asked, MAX, t.size - sent);
    const piece = patternAt(sent, n);
    sent += piece.length;
    return bodyPacket(piece);
  };
  const framer = new Framer(4, (b, at) => b.readUInt16BE(at + 2), (packet) => {
    const type = packet[4];
    if (type === 3) {
      const n = packet.readUInt16BE(5);
      body.push(packet.subarray(7, 7 + n));
    } else if (type === 4) {
      status = packet.readUInt16BE(5);
    } else if (type === 6) {
      socket.write(next(packet.readUInt16BE(5))); // an empty chunk once all is sent: the end
    } else if (type === 5) {
      ended = true;
      socket.end();
    }
  });
  socket.on("data", (chunk: Buffer) => framer.push(chunk));
  const done = closed(socket);
  const headers: [string, string][] = [["Host", "127.0.0.1"]];
  if (t.kind === "upload") headers.push(["Content-Type", "application/octet-stream"], ["Content-Length", String(t.size)]);
  const [uri, query] = target(t).split("?") as [string, string | undefined];
  socket.write(forwardRequest({ method: t.kind === "upload" ? "POST" : "GET", uri, query: query ?? null, headers }));
  if (t.kind === "upload") socket.write(next(MAX)); // Apache sends the first body packet unasked
  await done;
  if (!ended) throw new Error("the ajp connection closed before END_RESPONSE");
  return { status, body };
}

const CLIENTS: Record<Exclude<Backend, "cgi">, (port: number, t: Transfer) => Promise<Outcome>> = {
  "node:http": overHttp,
  http: overHttp,
  scgi: overScgi,
  fastcgi: overFastcgi,
  ajp: overAjp,
  multipart: overMultipart,
};

// ------------------------------------------------------------------------------------------------
// Memory of a process

function status(pid: number): { rss: number; hwm: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) * 1024;
    const rss = kib("VmRSS");
    const hwm = kib("VmHWM");
    return Number.isNaN(rss) || Number.isNaN(hwm) ? null : { rss, hwm }; // a zombie has no Vm lines

  } catch {
    return null; // exited
  }
}

/** Waits until the RSS stays within 256 KiB for 300 ms (at most 5 s), and returns it. */
async function steadyRss(pid: number): Promise<number> {
  let last = status(pid)?.rss ?? 0;
  let since = Date.now();
  const start = Date.now();
  while (Date.now() - since < 300 && Date.now() - start < 5000) {
    await new Promise((r) => setTimeout(r, 25));
    const now = status(pid)?.rss ?? last;
    if (Math.abs(now - last) > 256 * 1024) {
      last = now;
      since = Date.now();
    }
  }
  return status(pid)?.rss ?? last;
}

/** The peak RSS over a transfer: VmHWM reset at the start, VmRSS sampled every 10 ms. */
class PeakWatch {
  readonly baseline: number;
  readonly hwmReset: boolean;
  private sampled = 0;
  private hwm = 0;
  private timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    baseline: number,
  ) {
    this.baseline = baseline;
    let reset = true;
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, "5"); // resets VmHWM to the current RSS
    } catch {
      reset = false;
    }
    this.hwmReset = reset;
    this.sample();
    this.timer = setInterval(() => this.sample(), 10);
  }

  private sample(): void {
    const s = status(this.pid);
    if (s === null) return;
    this.sampled = Math.max(this.sampled, s.rss);
    if (this.hwmReset) this.hwm = Math.max(this.hwm, s.hwm);
  }

  /** Stops sampling: the peak (the larger of VmHWM and the samples) and the growth over the baseline. */
  stop(): { peak: number; growth: number } {
    this.sample();
    clearInterval(this.timer);
    const peak = Math.max(this.sampled, this.hwm);
    return { peak, growth: peak - this.baseline };
  }
}

// ------------------------------------------------------------------------------------------------
// Running the backends


async function startBackend(backend: string, port: number): Promise<ChildProcess> {
  const args =
    backend === "node:http"
      ? [CONTROL_APP, String(port)]
      : backend === "multipart"
        ? [MULTIPART_APP, "http", "--port", String(port)]
        : [ECHO_APP, backend, "--port", String(port)];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  try {
    await listening(child);
  } catch (err) {
    throw new Error(`the ${backend} backend: ${(err as Error).message}`);
  }
  return child;
}

/** One CGI request: a new process; the transfer starts once it is loaded and steady. */
async function overCgi(t: Transfer): Promise<{ outcome: Outcome; baseline: number; peak: number; growth: number }> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  for (const [name, value] of variables(t)) env[name] = value;
  const child = spawn(process.execPath, [ECHO_APP, "cgi"], { env, stdio: ["pipe", "pipe", "inherit"] });
  const exited = once(child, "exit");
  const stdout = child.stdout!;
  stdout.pause(); // a download fills the pipe and waits: nothing flows before the baseline
  const baseline = await steadyRss(child.pid!);
  const watch = new PeakWatch(child.pid!, baseline);
  const reader = new CgiResponseReader(new Body(t.kind === "download"));
  stdout.on("data", (chunk: Buffer) => reader.push(chunk));
  const ended = once(stdout, "end");
  stdout.resume();
  if (t.kind === "upload") await sendPattern(child.stdin!, t.size, PIECE, (p) => p);
  child.stdin!.end();
  await ended;
  const { peak, growth } = watch.stop();
  await exited;
  return { outcome: { status: reader.status, body: reader.body }, baseline, peak, growth };
}

/** Throws unless the outcome is the echo app's right answer. */
function check(backend: string, t: Transfer, o: Outcome, sha: string): void {
  const what = `${backend} ${t.kind} of ${t.size} bytes`;
  if (o.status !== 200) throw new Error(`${what}: status ${o.status} ${o.body.text().slice(0, 200)}`);
  if (t.kind === "download") {
    if (o.body.mismatch >= 0) throw new Error(`${what}: wrong byte at ${o.body.mismatch}`);
    if (o.body.length !== t.size) throw new Error(`${what}: received ${o.body.length} bytes`);
  } else {
    const answer = JSON.parse(o.body.text()) as { length: number; sha256: string };
    if (answer.length !== t.size || answer.sha256 !== sha) throw new Error(`${what}: the app saw ${JSON.stringify(answer)}`);
  }
}

interface Row {
  backend: string;
  kind: string;
  baseline: number;
  peak: number;
  growth: number;
  seconds: number;
}

async function measureBackend(backend: Backend, size: number, sha: string): Promise<Row[]> {
  const rows: Row[] = [];
  if (backend === "cgi") {
    for (const kind of ["upload", "download"] as const) {
      const t = { kind, size };
      const start = process.hrtime.bigint();
      const r = await overCgi(t);
      check(backend, t, r.outcome, sha);
      rows.push({ backend, kind, baseline: r.baseline, peak: r.peak, growth: r.growth, seconds: Number(process.hrtime.bigint() - start) / 1e9 });
    }
    return rows;
  }
  const port = await freePort();
  const child = await startBackend(backend, port);
  const client = CLIENTS[backend];
  try {
    // Warm-up: the code paths run and the buffers exist before the baseline is taken.
    const warm = 8 * MiB;
    const kinds = backend === "multipart" ? (["upload"] as const) : (["upload", "download"] as const);
    check(backend, { kind: "upload", size: warm }, await client(port, { kind: "upload", size: warm }), patternSha256(warm));
    if (kinds.length > 1) check(backend, { kind: "download", size: warm }, await client(port, { kind: "download", size: warm }), "");
    for (const kind of kinds) {
      const t = { kind, size };
      const baseline = await steadyRss(child.pid!);
      const watch = new PeakWatch(child.pid!, baseline);
      const start = process.hrtime.bigint();
      const outcome = await client(port, t);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const { peak, growth } = watch.stop();
      check(backend, t, outcome, sha);
      rows.push({ backend, kind, baseline, peak, growth, seconds });
    }
  } finally {
    child.kill("SIGTERM");
    await once(child, "exit");
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sizeMiB = Number(process.argv[2] ?? 1024);
  const chosen = process.argv.slice(3);
  const backends = chosen.length > 0 ? (chosen as Backend[]) : [...BACKENDS];
  for (const b of backends) if (!BACKENDS.includes(b)) throw new Error(`unknown backend ${b}: one of ${BACKENDS.join(", ")}`);
  const size = sizeMiB * MiB;
  const sha = patternSha256(size);
  const mib = (n: number): string => (n / MiB).toFixed(1);
  console.log(`${sizeMiB} MiB up and down through each backend (the echo app), RSS of the backend process (node ${process.version})`);
  console.log("backend".padEnd(11) + "transfer".padEnd(10) + "before MiB".padStart(11) + "peak MiB".padStart(10) + "growth MiB".padStart(12) + "MiB/s".padStart(8) + "  target < 32 MiB");
  let failed = false;
  for (const backend of backends) {
    for (const r of await measureBackend(backend, size, sha)) {
      const ok = r.growth < 32 * MiB;
      failed ||= !ok;
      console.log(
        r.backend.padEnd(11) + r.kind.padEnd(10) + mib(r.baseline).padStart(11) + mib(r.peak).padStart(10) + mib(r.growth).padStart(12) + (sizeMiB / r.seconds).toFixed(0).padStart(8) + (ok ? "  met" : "  MISSED"),
      );
    }
  }
  if (failed) process.exitCode = 1;
}
