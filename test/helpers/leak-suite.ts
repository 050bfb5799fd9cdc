// The leak test (issue 11, "aborts and leaks"), run with a small count by `npm test`
// (test/servers/leaks.test.ts) and with the full count by the interop suite
// (test/interop/leaks.test.ts). See README.md ("Development") and bench/README.md ("Clients
// that go away").
//
// Each socket backend runs the leak app (test/helpers/leak-app.ts) in a child process started
// with --expose-gc, beside a bare node:http server running the same handler in another child.
// Both get the same clients at the same time: `count` requests whose clients go away in the
// middle of their upload or of their download. Then, once idle, the backend's
// - every handler started has finished, and each was told of the abort by its signal;
// - open file descriptors are back to the baseline (a small margin);
// - heap after a forced GC is back to the baseline (a margin of a few MiB);
// - RSS grew no more than bare node:http's on the same run (plus a margin): what the allocator
//   and V8 keep of pages they used is the same for both, what we leak is not.
// The baseline is taken after a warm-up of the same requests, so that code, pools and buffers
// that exist for good are in it.
//
// CGI is one process per request: nothing survives a request, so nothing can pile up over
// thousands of them. What is checked instead, on a smaller count, is that each process is told of
// the abort and exits (no process left hanging on a client that is gone).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it, expect, afterEach } from "@jest/globals";
import { abortMany, READ_BEFORE_LEAVING, STARTED, type AbortProtocol } from "./abort-clients.js";
import { cgiVariables } from "./cgi-client.js";
import type { LeakStats } from "./leak-app.js";
import { LeakApp, LEAK_APP } from "./leak-process.js";

const MiB = 1024 * 1024;
/** Clients at once, per server. */
const CONCURRENCY = 16;
/**
 * Requests of the warm-up, before the baseline: enough for the allocator's pages to reach what
 * this load needs. After 400, node 26's RSS still grew 6-12 MiB over the next 1,000 aborted
 * requests with the heap back where it was (a plateau, not a leak: after 1,000 the same run
 * grows 1-2 MiB), past node:http's growth plus the margin one run in three.
 */
const WARM_UP = 1000;
/**
 * V8's young generation, small and fixed: by default it grows to 2 x 16 MiB under allocation
 * churn and, once touched, its pages stay in RSS: 25-30 MiB that V8 adds in one process and not
 * in the other, at its own moment, the same for bare node:http (bench/README.md, "Clients that
 * go away"). Pinned small, what is left of RSS growth is the allocator's and ours.
 */
const NODE_FLAGS = ["--max-semi-space-size=1"];
/** Margins: descriptors (node's own, opened lazily), heap after GC, RSS beyond node:http's growth. */
const FD_MARGIN = 2;
const HEAP_MARGIN = 4 * MiB;
const RSS_MARGIN = 8 * MiB;

/** What one run measured on one server: the stats before and after. */
export interface LeakRun {
  before: LeakStats;
  after: LeakStats;
}

/**
 * Runs `count` aborted requests (after the warm-up) through `protocols` (split evenly) on `app`
 * and, at the same time, as many over HTTP on `control`.
 */
async function measure(app: LeakApp, control: LeakApp, protocols: AbortProtocol[], count: number): Promise<{ app: LeakRun; control: LeakRun }> {
  const [port, controlPort] = await Promise.all([app.port, control.port]);
  const through = (n: number): Promise<unknown> =>
    Promise.all([
      ...protocols.map((p) => abortMany(p, port, n / protocols.length, CONCURRENCY)),
      abortMany("http", controlPort, n, CONCURRENCY),
    ]);
  await through(WARM_UP);
  await Promise.all([app.idle(WARM_UP), control.idle(WARM_UP)]);
  const before = await Promise.all([app.stats(), control.stats()]);
  await through(count);
  const after = await Promise.all([app.idle(WARM_UP + count), control.idle(WARM_UP + count)]);
  return { app: { before: before[0], after: after[0] }, control: { before: before[1], after: after[1] } };
}

const mib = (n: number): string => `${(n / MiB).toFixed(1)} MiB`;

/** One line of figures, printed when LEAK_REPORT=1 (`npm test` stays quiet). */
function report(backend: string, count: number, r: { app: LeakRun; control: LeakRun }): void {
  if (process.env.LEAK_REPORT !== "1") return;
  const line = (name: string, { before, after }: LeakRun): string =>
    `${name.padEnd(10)} fds ${before.fds} -> ${after.fds}, heap ${mib(before.heapUsed)} -> ${mib(after.heapUsed)}, ` +
    `external ${mib(before.external)} -> ${mib(after.external)}, RSS ${mib(before.rss)} -> ${mib(after.rss)} (${mib(after.rss - before.rss)})`;
  process.stdout.write(`leaks, ${count} aborted requests, node ${process.version}\n  ${line(backend, r.app)}\n  ${line("node:http", r.control)}\n`);
}

/** The protocols each backend is driven with: FastCGI both by closing and by ABORT_REQUEST. */
const BACKENDS: [string, AbortProtocol[]][] = [
  ["http", ["http"]],
  ["scgi", ["scgi"]],
  ["fastcgi", ["fastcgi", "fastcgi-abort"]],
  ["ajp", ["ajp"]],
];

/**
 * One CGI request whose client goes away: the body stops (stdin closed) in the middle of an
 * upload, or the response's reader goes away (stdout closed) after 64 KiB of a download. Resolves
 * with the process's exit code and what it said on stderr.
 */
async function cgiAborted(kind: "upload" | "download"): Promise<{ code: number | string; stderr: string }> {
  const upload = kind === "upload";
  const headers: [string, string][] = [["Host", "127.0.0.1"]];
  const env = Object.fromEntries(cgiVariables({ method: upload ? "POST" : "GET", target: upload ? "/upload" : "/download", headers }, upload ? 1024 * 1024 : null));
  const child = spawn(process.execPath, [LEAK_APP, "cgi"], { env: { PATH: process.env.PATH, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (t: string) => (stderr += t));
  child.stdin!.on("error", () => undefined);
  child.stdout!.on("error", () => undefined);
  const exited = once(child, "exit").then(([code, signal]) => (code ?? signal) as number | string);
  let out = Buffer.alloc(0);
  const leave = new Promise<void>((ok) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      out = Buffer.concat([out, chunk]);
      if (upload ? out.includes(STARTED) : out.length >= READ_BEFORE_LEAVING) ok();
    });
  });
  if (upload) child.stdin!.write(Buffer.alloc(32 * 1024, 0x61));
  await leave;
  if (upload) child.stdin!.end();
  else child.stdout!.destroy();
  return { code: await exited, stderr };
}

/**
 * Defines the leak tests: `count` aborted requests per socket backend, `cgiCount` CGI processes.
 *
 * @example leakSuite(1000, 20);
 */
export function leakSuite(count: number, cgiCount: number): void {
  let apps: LeakApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.map((a) => a.stop()));
    apps = [];
  });

  describe(`${count} clients that go away mid-upload or mid-download`, () => {
    for (const [backend, protocols] of BACKENDS) {
      it(`${backend}: every handler is told; fds and heap back to the baseline, RSS grows no more than node:http's`, async () => {
        const app = LeakApp.start(backend, NODE_FLAGS);
        const control = LeakApp.start("node:http", NODE_FLAGS);
        apps.push(app, control);
        const r = await measure(app, control, protocols, count);
        report(backend, count, r);
        const all = WARM_UP + count;
        expect({ started: r.app.after.started, finished: r.app.after.finished, told: r.app.after.told }).toEqual({ started: all, finished: all, told: all });
        expect(r.control.after.told).toBe(all);
        expect(r.app.after.fds).toBeLessThanOrEqual(r.app.before.fds + FD_MARGIN);
        expect(r.app.after.heapUsed).toBeLessThanOrEqual(r.app.before.heapUsed + HEAP_MARGIN);
        const growth = r.app.after.rss - r.app.before.rss;
        const controlGrowth = r.control.after.rss - r.control.before.rss;
        expect(growth).toBeLessThanOrEqual(Math.max(controlGrowth, 0) + RSS_MARGIN);
        expect(app.stderr).toBe("");
      }, 60000 + count * 60);
    }
  });

  describe(`cgi: ${cgiCount} processes whose client goes away (one process per request: nothing to pile up)`, () => {
    it("each is told of the abort and exits", async () => {
      for (let i = 0; i < cgiCount; i++) {
        const kind = i % 2 === 0 ? "download" : "upload";
        const { code, stderr } = await cgiAborted(kind);
        expect([kind, code, /^leak-app (.*)$/m.exec(stderr)?.[1]]).toEqual([kind, 0, JSON.stringify({ started: 1, finished: 1, told: 1 })]);
      }
    }, 30000 + cgiCount * 2000);
  });
}
