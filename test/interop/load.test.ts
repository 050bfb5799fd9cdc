// Nothing lost under load (issue 11): through each front server of the interop suite and each
// backend it speaks to, concurrent uploads of random sizes (0 to 3 MiB, some chunked where the
// pair takes chunked uploads) whose bodies the handler hashes (load-app.ts). Every response
// carries the right hash for its own request, none fails, each request is answered once and
// handled once (the handler logs each invocation to a file, which CGI processes share too), and
// the front server's and the app's logs show no error while the load runs.
import { randomBytes, createHash } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it, expect } from "@jest/globals";
import type { Backend } from "../../examples/deploy/templates.js";
import { random, int } from "../helpers/random.js";
import type { FrontName } from "./harness.js";
import { LOAD_DIR_PREFIX } from "./load-app.js";
import { frontServerAvailable, startPair, type PairOptions } from "./pairs.js";

const MiB = 1024 * 1024;
/** Socket backends: requests per pair, and how many at once. */
const REQUESTS = 200;
const CONCURRENCY = 64;
/** CGI starts a node process per request: fewer, fewer at once (2 cores shared). */
const CGI_REQUESTS = 40;
const CGI_CONCURRENCY = 8;
/** Where the bodies are cut from: random bytes, so that a misplaced piece changes the hash. */
const POOL = randomBytes(3 * MiB);

interface LoadPair {
  front: FrontName;
  backend: Backend;
  options?: PairOptions;
  /** Whether the pair passes chunked uploads on (the interop suite's "chunked-upload" check). */
  chunked: boolean;
}

/**
 * Apache's event MPM with a fixed set of processes: with its defaults (3 processes, more started
 * as the load comes) 1 to 15 of these requests failed with a fresh connection closed unanswered
 * ("socket hang up" at the client, nothing in Apache's log), whatever the backend; with the
 * processes fixed, none (docs/deployment.md, "Apache httpd").
 */
const apacheFixedProcesses = (config: string): string =>
  `${config}\n<IfModule mpm_event_module>\n  StartServers 2\n  ServerLimit 2\n  ThreadsPerChild 100\n  MaxRequestWorkers 200\n  MinSpareThreads 1\n  MaxSpareThreads 200\n</IfModule>\n`;

// The pairs of the interop suite (lighttpd/nginx/apache/haproxy.test.ts), one per front server
// and protocol, at the root.
const PAIRS: LoadPair[] = [
  // Listening on its own: a bin-path command line cannot carry the launcher's JSON options.
  { front: "lighttpd", backend: "scgi", chunked: false },
  { front: "lighttpd", backend: "fastcgi", chunked: false },
  { front: "lighttpd", backend: "ajp", chunked: false },
  { front: "lighttpd", backend: "cgi", chunked: false },
  { front: "lighttpd", backend: "http", chunked: true },
  { front: "nginx", backend: "scgi", chunked: true },
  { front: "nginx", backend: "fastcgi", chunked: true },
  { front: "nginx", backend: "http", chunked: true },
  { front: "apache", backend: "ajp", options: { secret: "s3cr3t-load", edit: apacheFixedProcesses }, chunked: true },
  { front: "apache", backend: "fastcgi", options: { edit: apacheFixedProcesses }, chunked: true },
  { front: "apache", backend: "scgi", options: { edit: apacheFixedProcesses }, chunked: false },
  { front: "apache", backend: "cgi", options: { edit: apacheFixedProcesses }, chunked: true },
  { front: "apache", backend: "http", options: { edit: apacheFixedProcesses }, chunked: true },
  // The template's "http-reuse safe": with "always", HAProxy 2.6.12 answers 500 itself to some of
  // these requests (docs/deployment.md, "HAProxy"), a bug of its FastCGI mux, not of the backend.
  { front: "haproxy", backend: "fastcgi", chunked: false },
  { front: "haproxy", backend: "http", chunked: true },
];

/** One upload: its id, its body (a piece of POOL), sent with Content-Length or chunked. */
interface Upload {
  id: number;
  body: Buffer;
  chunked: boolean;
  sha256: string;
}

/** Mostly small bodies, some large: 0 to 3 MiB, a few empty. */
function uploads(count: number, chunked: boolean, seed: number): Upload[] {
  const rand = random(seed);
  return Array.from({ length: count }, (_, id) => {
    const r = rand();
    const size = r < 0.05 ? 0 : r < 0.5 ? int(rand, 16 * 1024) : r < 0.9 ? int(rand, 512 * 1024) : int(rand, POOL.length);
    const start = int(rand, POOL.length - size);
    const body = POOL.subarray(start, start + size);
    return { id, body, chunked: chunked && rand() < 0.3, sha256: createHash("sha256").update(body).digest("hex") };
  });
}

/** The body in pieces of random sizes, sent chunked (no Content-Length). */
async function* pieces(body: Buffer, seed: number): AsyncGenerator<Buffer> {
  const rand = random(seed);
  for (let at = 0; at < body.length; ) {
    const n = 1 + int(rand, 128 * 1024);
    yield body.subarray(at, at + n);
    at += n;
  }
}

type Answer = { status: number; text: string } | { error: string; retry?: boolean };

/**
 * Sends one upload; resolves with what came back, or the error, never rejects. A kept-alive
 * connection that the front server closed as the request went out (Apache's event MPM does when
 * it retires a process) fails with no byte of answer: that request is sent again once, on a new
 * connection, as node's documentation advises (`reusedSocket`). It never reached the backend (or
 * the handled-once check fails).
 */
async function send(port: number, agent: Agent, dir: string, u: Upload): Promise<Answer> {
  const first = await sendOnce(port, agent, dir, u);
  if (!("retry" in first) || first.retry !== true) return first;
  const again = await sendOnce(port, false, dir, u);
  return "error" in again ? { error: `${again.error} (sent again after: ${first.error})` } : again;
}

function sendOnce(port: number, agent: Agent | false, dir: string, u: Upload): Promise<Answer> {
  return new Promise((ok) => {
    const headers: Record<string, string> = { "Content-Type": "application/octet-stream", "X-Load-Id": String(u.id), "X-Load-Dir": dir };
    if (!u.chunked) headers["Content-Length"] = String(u.body.length);
    const req = httpRequest({ host: "127.0.0.1", port, method: "POST", path: "/upload", headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => ok({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on("error", (e) => ok({ error: e.message }));
    });
    let answered = false;
    req.on("response", () => (answered = true));
    req.on("error", (e: NodeJS.ErrnoException) => ok({ error: `${e.message}${req.reusedSocket ? " (reused connection)" : ""}`, retry: req.reusedSocket && !answered && e.code === "ECONNRESET" }));
    if (u.chunked) Readable.from(pieces(u.body, u.id)).pipe(req);
    else req.end(u.body);
  });
}

/** What is wrong with the answer to `u` (null: the right hash for the right request). */
function problem(u: Upload, got: Answer): string | null {
  const what = `${u.id} (${u.body.length} bytes${u.chunked ? ", chunked" : ""})`;
  if ("error" in got) return `${what}: ${got.error}`;
  let seen: unknown;
  try {
    seen = JSON.parse(got.text);
  } catch {
    return `${what}: ${got.status} ${got.text.slice(0, 100)}`;
  }
  const expected = { id: u.id, length: u.body.length, sha256: u.sha256 };
  return got.status === 200 && JSON.stringify(seen) === JSON.stringify(expected) ? null : `${what}: ${got.status} ${got.text.slice(0, 100)}`;
}

/** What a front server logs at a warning level under load, as it should: not a problem. */
const EXPECTED_WARNINGS = [
  // nginx spools request bodies larger than client_body_buffer_size (16 KiB) to a file.
  /\[warn\] .* a client request body is buffered to a temporary file/,
];

/** Lines of a log that say something went wrong. */
function errorLines(log: string): string[] {
  return log
    .split("\n")
    .filter((line) => /\b(error|crit|alert|emerg|warn(ing)?|unhandled)\b/i.test(line) && !EXPECTED_WARNINGS.some((w) => w.test(line)));
}

describe("nothing lost under load: concurrent uploads hashed by the handler", () => {
  for (const p of PAIRS) {
    const cgi = p.backend === "cgi";
    const count = cgi ? CGI_REQUESTS : REQUESTS;
    const concurrency = cgi ? CGI_CONCURRENCY : CONCURRENCY;
    const title = `${p.front} + ${p.backend}: ${count} uploads, ${concurrency} at once${p.chunked ? ", some chunked" : ""}: each answered once with its hash, handled once, no error logged`;
    if (!frontServerAvailable(p.front)) {
      it.skip(title, () => undefined);
      continue;
    }
    it(title, async () => {
      // Apache runs CGI scripts as www-data: the log folder and file must be writable by it.
      const dir = mkdtempSync(LOAD_DIR_PREFIX);
      chmodSync(dir, 0o777);
      const invocations = join(dir, "invocations");
      writeFileSync(invocations, "");
      chmodSync(invocations, 0o666);
      const options = p.options ?? {};
      const pair = await startPair(p.front, p.backend, "", { ...options, appOptions: { ...options.appOptions, app: "load" } });
      const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
      try {
        const errorsBefore = errorLines(pair.log());
        const all = uploads(count, p.chunked, count + p.front.length * 31 + p.backend.length);
        const answers = await Promise.all(all.map((u) => send(pair.port, agent, dir, u)));
        const problems = all.map((u, i) => problem(u, answers[i]!)).filter((x) => x !== null);
        if (problems.length > 0) {
          const log = pair.log();
          throw new Error(`${problems.length} of ${count} uploads failed, the first ones:\n${problems.slice(0, 5).join("\n")}\n--- log (end) ---\n${log.slice(-6000)}`);
        }
        const handled = new Map<string, number>();
        for (const id of readFileSync(invocations, "utf8").split("\n").filter((l) => l !== "")) handled.set(id, (handled.get(id) ?? 0) + 1);
        const wrong = all.map((u) => [u.id, handled.get(String(u.id)) ?? 0] as const).filter(([, n]) => n !== 1);
        expect({ handledOtherThanOnce: wrong, invocations: [...handled.values()].reduce((a, b) => a + b, 0) }).toEqual({ handledOtherThanOnce: [], invocations: count });
        const errorsAfter = errorLines(pair.log());
        for (const line of errorsBefore) errorsAfter.splice(errorsAfter.indexOf(line), 1);
        expect(errorsAfter).toEqual([]);
      } finally {
        agent.destroy();
        await pair.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 240000);
  }
});
