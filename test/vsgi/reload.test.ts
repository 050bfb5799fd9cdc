// SIGHUP replaces the code that serves without losing a request: real programs, a client
// sending requests one after another while the test sends SIGHUP, every answer checked.
import { describe, it, expect, afterEach } from "@jest/globals";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { start, distPath, alive, type Program } from "../helpers/process.js";
import { ask, type AskableBackend } from "../helpers/ask.js";
import { steadyLoad, more, count, logged, answersAfterReload } from "../helpers/steady-load.js";
import { until } from "../helpers/limits-clients.js";

const APP = distPath("test/fixtures/runtime-app.js");
let running: Program[] = [];
let dirs: string[] = [];
afterEach(async () => {
  for (const p of running) p.kill("SIGKILL");
  running = [];
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  dirs = [];
});

/** Starts the fixture with its version file holding `version`; resolves once it serves. */
async function program(backend: AskableBackend, version: string, args: string[]): Promise<{ p: Program; port: number; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), "vsgi-reload-"));
  dirs.push(dir);
  const file = join(dir, "version");
  await writeFile(file, version);
  const p = start(APP, ["-p", "0", ...args], { FIXTURE_BACKEND: backend, FIXTURE_VERSION_FILE: file });
  running.push(p);
  const [, port] = await p.waitFor(/Listening on '\w+:\/\/127\.0\.0\.1:(\d+)\/'/);
  const forks = args.indexOf("--forks");
  // Every worker accepts (worker 1 took over, then the others started).
  if (forks !== -1) await p.waitFor(new RegExp(`worker ${Number(args[forks + 1]) + 1} \\(pid \\d+\\) accepts`));
  return { p, port: Number(port), file };
}

describe("SIGHUP under a steady load", () => {
  const cases: [string, number][] = [];
  for (const backend of ["http", "http kept alive", "scgi", "fastcgi", "ajp", "ajp kept alive"]) for (const forks of [0, 1]) cases.push([backend, forks]);

  it.each(cases)("%s with --forks %i: no request lost, the new code answers after each reload, same pid", async (name, forks) => {
    const backend = name.split(" ")[0] as AskableBackend;
    const { p, port, file } = await program(backend, "v0", forks > 0 ? ["--forks", String(forks)] : []);
    const pid = p.child.pid;
    const load = steadyLoad(backend, port, "/version", name !== backend);
    await more(load.answers, 5);
    for (let k = 1; k <= 2; k++) {
      await writeFile(file, `v${k}`);
      p.kill("SIGHUP");
      // Every old worker has stopped once the reload is logged.
      const after = await answersAfterReload(p, load, k);
      expect(after).toEqual(Array(after.length).fill(`200 v${k}`));
    }
    await load.stop();
    expect(load.failures).toEqual([]);
    for (const answer of load.answers) expect(answer).toMatch(/^200 v[012]$/);
    expect(p.child.pid).toBe(pid);
    expect(p.child.exitCode).toBeNull();
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }, 90000);
});

/** Writes `version`, sends SIGHUP, waits for the reload; resolves with what the server answers then. */
async function reloadTo(p: Program, file: string, port: number, version: string): Promise<string> {
  await writeFile(file, version);
  p.kill("SIGHUP");
  await logged(p, /reloaded: /, 1);
  return ask("http", port, "/version");
}

describe("SIGHUP with new code that cannot start", () => {
  it("leaves the running workers serving and logs why", async () => {
    const { p, port, file } = await program("http", "v1", ["--forks", "1"]);
    await writeFile(file, "broken");
    p.kill("SIGHUP");
    await logged(p, /reload failed: /, 1);
    expect(p.stderr()).toMatch(/reload failed: worker 3 \(pid \d+\) exited with code 1 before accepting; the running workers keep serving/);
    for (let i = 0; i < 4; i++) expect(await ask("http", port, "/version")).toBe("200 v1");
    // A later reload with code that starts goes through.
    expect(await reloadTo(p, file, port, "v2")).toBe("200 v2");
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }, 60000);

  it("a new worker that does not accept within --start-timeout is killed; the running workers keep serving meanwhile and after", async () => {
    const { p, port, file } = await program("http", "v1", ["--forks", "1", "--start-timeout", "1"]);
    await writeFile(file, "hang");
    const load = steadyLoad("http", port, "/version");
    p.kill("SIGHUP");
    await logged(p, /reload failed: /, 1);
    await more(load.answers, 5);
    await load.stop();
    expect(load.failures).toEqual([]);
    expect(new Set(load.answers)).toEqual(new Set(["200 v1"]));
    const [, pid] = p.stderr().match(/reload failed: worker 3 \(pid (\d+)\) did not accept within 1 s and was killed; the running workers keep serving\n/)!;
    // A reload's worker that failed is not started again: the reload is over.
    expect(p.stderr()).not.toMatch(/starting another|worker 4/);
    await until(() => !alive(Number(pid)));
    // A later reload with code that starts goes through.
    expect(await reloadTo(p, file, port, "v2")).toBe("200 v2");
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }, 60000);

  it("without --forks: the process keeps serving the old code itself", async () => {
    const { p, port, file } = await program("scgi", "v1", []);
    await writeFile(file, "broken");
    p.kill("SIGHUP");
    await logged(p, /reload failed: /, 1);
    expect(p.stderr()).toMatch(new RegExp(`reload failed: worker 1 \\(pid \\d+\\) exited with code 1 before accepting; this process \\(pid ${p.child.pid}\\) keeps serving`));
    expect(await ask("scgi", port, "/version")).toBe("200 v1");
    expect(await ask("scgi", port, "/pid")).toBe(`200 ${p.child.pid}`);
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }, 60000);

  it("SIGHUPs in a row make one reload after another, one worker at a time, never interleaved", async () => {
    const { p, port, file } = await program("http", "v1", ["--forks", "1"]);
    await writeFile(file, "v2");
    p.kill("SIGHUP");
    // Those that come while a reload runs make one more, after it.
    await p.waitFor(/worker 3 \(pid \d+\) accepts/);
    p.kill("SIGHUP");
    await new Promise((r) => setTimeout(r, 20));
    p.kill("SIGHUP");
    await logged(p, /reloaded: /, 2);
    expect(await ask("http", port, "/version")).toBe("200 v2");
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    expect(count(p, /reloaded: /)).toBe(2);
    // Each new worker accepted before the next one started: 1 and 2, then 3 to 6 in order.
    const accepted = [...p.stderr().matchAll(/worker (\d+) \(pid \d+\) accepts/g)].map((m) => Number(m[1]));
    expect(accepted).toEqual([1, 2, 3, 4, 5, 6]);
  }, 60000);
});

describe("a stopping http server", () => {
  it("answers a request that arrives on a kept-alive connection with Connection: close, then closes the idle ones", async () => {
    const { serve } = await import("../helpers/http.js");
    const { connect } = await import("node:net");
    const served = await serve((_req, res) => res.expandUtf8("ok"));
    const kept = connect(served.port, "127.0.0.1");
    const idle = connect(served.port, "127.0.0.1");
    let text = "";
    kept.setEncoding("latin1").on("data", (c: string) => (text += c));
    const keptClosed = new Promise((resolve) => kept.once("close", resolve));
    const idleClosed = new Promise((resolve) => idle.once("close", resolve));
    idle.on("data", () => undefined);
    for (const s of [kept, idle]) s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    while (!text.endsWith("ok")) await new Promise((r) => setTimeout(r, 10));
    // As a process does when a reload gave its sockets to a new worker.
    served.server.handOver();
    const stopped = served.close();
    // Sent after the stop began, on a connection the client had every reason to reuse.
    kept.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await keptClosed;
    const second = text.slice(text.indexOf("ok") + 2);
    expect(second).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(second).toMatch(/\r\nConnection: close\r\n/i);
    expect(second.endsWith("ok")).toBe(true);
    await idleClosed;
    await stopped;
  }, 30000);
});
