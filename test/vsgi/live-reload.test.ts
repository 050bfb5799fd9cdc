// `vsgi --live-reload` reloads without a gap: real programs serving a module in a temporary
// folder, a client sending requests one after another while the test rewrites the module, every
// answer checked; a broken save leaves the last good code serving.
import { describe, it, expect, afterEach } from "@jest/globals";
import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { start, startCommand, distPath, type Program } from "../helpers/process.js";
import { ask, type AskableBackend } from "../helpers/ask.js";
import { freePort } from "../helpers/ports.js";
import { steadyLoad as startLoad, more, count, logged, answersAfterReload, type SteadyLoad } from "../helpers/steady-load.js";
import { activate, activationAvailable, type Activated } from "../helpers/activate.js";

const BIN = distPath("bin/vsgi.js");
let running: Program[] = [];
let dirs: string[] = [];
let loads: SteadyLoad[] = [];
let activated: Activated[] = [];
afterEach(async () => {
  for (const load of loads) await load.stop();
  loads = [];
  for (const run of activated) await run.stop();
  activated = [];
  // After a failure: the child `vsgi` too, which SIGKILL leaves behind (its workers follow it).
  for (const p of running) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) continue; // its pid may be another's now
    for (const pid of await children(p).catch(() => [])) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    p.kill("SIGKILL");
  }
  running = [];
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  dirs = [];
});

/** A steady load that stops after the test, whatever its outcome. */
function steadyLoad(...args: Parameters<typeof startLoad>): SteadyLoad {
  const load = startLoad(...args);
  loads.push(load);
  return load;
}

/** The module of version `v`: it answers `v` to every request. */
const version = (v: string): string => `export default (req, res) => res.expandUtf8("${v}");\n`;
/** A save the module cannot load with: it throws at import. */
const BROKEN = `throw new Error("half-saved");\nexport default (req, res) => res.expandUtf8("never");\n`;

/** A temporary folder holding app.mjs at version `v`; resolves with the module's path. */
async function folder(v: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "vsgi-live-"));
  dirs.push(dir);
  await writeFile(join(dir, "app.mjs"), v);
  return join(dir, "app.mjs");
}

/** `vsgi --live-reload --server backend` on `app`, listening on a port of its own. */
async function live(backend: AskableBackend, app: string, args: string[]): Promise<{ p: Program; port: number }> {
  const p = start(BIN, ["--live-reload", "--server", backend, app, "--", "-p", "0", ...args]);
  running.push(p);
  const [, port] = await p.waitFor(/Listening on '\w+:\/\/127\.0\.0\.1:(\d+)\/'/);
  return { p, port: Number(port) };
}

/** `vsgi --live-reload --server scgi` on `app` as spawn-fcgi starts it: the socket on fd 0. */
async function liveOnFd0(app: string, args: string[]): Promise<{ p: Program; port: number }> {
  const port = await freePort();
  const command = [process.execPath, BIN, "--live-reload", "--server", "scgi", app, ...(args.length > 0 ? ["--", ...args] : [])];
  const p = startCommand("spawn-fcgi", ["-n", "-a", "127.0.0.1", "-p", String(port), "--", ...command]);
  running.push(p);
  await p.waitFor(/Listening on 'scgi\+fd:\/\/0\/'/);
  return { p, port };
}

/** The pids of a program's children (Linux's list of them). */
async function children(p: Program): Promise<number[]> {
  const pid = p.child.pid!;
  return (await readFile(`/proc/${pid}/task/${pid}/children`, "utf8")).trim().split(" ").filter(Boolean).map(Number);
}

/** The pid of the child `vsgi` that `--live-reload` runs. */
async function childOf(p: Program): Promise<number> {
  const pids = await children(p);
  expect(pids).toHaveLength(1);
  return pids[0]!;
}

describe("vsgi --live-reload under a steady load", () => {
  const cases: [string, number][] = [];
  for (const name of ["http", "http kept alive", "scgi", "scgi on fd 0"]) for (const forks of [0, 1]) cases.push([name, forks]);

  it.each(cases)("%s with --forks %i: no request fails, the new version answers once the reload is logged", async (name, forks) => {
    const backend = name.split(" ")[0] as AskableBackend;
    const app = await folder(version("v0"));
    const args = forks > 0 ? ["--forks", String(forks)] : [];
    const { p, port } = name.endsWith("fd 0") ? await liveOnFd0(app, args) : await live(backend, app, args);
    // Every worker accepts (worker 1 took over, then the others started).
    if (forks > 0) await p.waitFor(new RegExp(`worker ${forks + 1} \\(pid \\d+\\) accepts`));
    const child = await childOf(p);
    const load = steadyLoad(backend, port, "/", name.endsWith("kept alive"));
    await more(load.answers, 5);
    for (let k = 1; k <= 2; k++) {
      await writeFile(app, version(`v${k}`));
      // The old code has stopped once the reload is logged.
      const after = await answersAfterReload(p, load, k);
      expect(after).toEqual(Array(after.length).fill(`200 v${k}`));
    }
    await load.stop();
    expect(load.failures).toEqual([]);
    for (const answer of load.answers) expect(answer).toMatch(/^200 v[012]$/);
    // Each change reloaded the same child; none was restarted.
    expect(count(p, /app\.mjs changed, reloading/)).toBe(2);
    expect(count(p, /restarting|Listening on/)).toBe(1);
    expect(await childOf(p)).toBe(child);
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }, 120000);
});

describe("vsgi --live-reload with a broken save", () => {
  it.each([0, 1])("with --forks %i: the last good version answers, the reason is logged, and a fix takes effect", async (forks) => {
    const app = await folder(version("v1"));
    const { p, port } = await live("http", app, forks > 0 ? ["--forks", String(forks)] : []);
    if (forks > 0) await p.waitFor(new RegExp(`worker ${forks + 1} \\(pid \\d+\\) accepts`));
    const load = steadyLoad("http", port, "/");
    await more(load.answers, 3);
    await writeFile(app, BROKEN);
    await logged(p, /reload failed: /, 1);
    // Why: the new worker's own line, then the reload's.
    expect(p.stderr()).toMatch(/^vsgi: cannot load [^\n]*app\.mjs: half-saved$/m);
    const keeps = forks > 0 ? "the running workers keep serving" : `this process \\(pid ${await childOf(p)}\\) keeps serving`;
    expect(p.stderr()).toMatch(new RegExp(`reload failed: worker \\d+ \\(pid \\d+\\) exited with code 1 before accepting; ${keeps}`));
    const mark = load.answers.length;
    await more(load.answers, 5);
    expect(load.answers.slice(mark)).toEqual(Array(load.answers.length - mark).fill("200 v1"));
    await writeFile(app, version("v2"));
    await logged(p, /reloaded: /, 1);
    const fixed = load.answers.length + 1;
    await more(load.answers, 5);
    expect(load.answers.slice(fixed)).toEqual(Array(load.answers.length - fixed).fill("200 v2"));
    await load.stop();
    expect(load.failures).toEqual([]);
    expect(count(p, /restarting/)).toBe(0);
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }, 120000);
});

describe("vsgi --live-reload when the application is not running", () => {
  it("starts it afresh on a change once it exited, and waits for the next change when that one fails", async () => {
    const app = await folder(version("v1"));
    const { p } = await live("http", app, []);
    await writeFile(app, version("v2"));
    await logged(p, /reloaded: /, 1);
    // The application goes (as a crash would): after a change, that is not the command's end.
    process.kill(await childOf(p), "SIGTERM");
    await logged(p, /the application exited \(0\); waiting for a change/, 1);
    await writeFile(app, BROKEN);
    await logged(p, /app\.mjs changed, restarting/, 1);
    await logged(p, /the application exited \(1\); waiting for a change/, 1);
    expect(p.stderr()).toMatch(/^vsgi: cannot load [^\n]*app\.mjs: half-saved$/m);
    await writeFile(app, version("v3"));
    await logged(p, /app\.mjs changed, restarting/, 2);
    // A new child, a new port (-p 0): the second listening line.
    await logged(p, /Listening on/, 2);
    const port = [...p.stderr().matchAll(/Listening on 'http:\/\/127\.0\.0\.1:(\d+)\/'/g)][1]![1];
    expect(await ask("http", Number(port), "/")).toBe("200 v3");
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }, 120000);

  it("starts the application again when a change comes while it is still loading", async () => {
    // A module that says it is loading (in node_modules, which is not watched) and then takes
    // its time: the change comes before the child handles SIGHUP, which then ends it.
    const app = await folder(
      `import { writeFileSync } from "node:fs";\n` +
        `writeFileSync(new URL("./node_modules/loading", import.meta.url), "");\n` +
        `await new Promise((resolve) => setTimeout(resolve, 60000));\n` +
        version("slow"),
    );
    const marker = join(app, "..", "node_modules", "loading");
    await mkdir(join(app, "..", "node_modules"));
    const p = start(BIN, ["--live-reload", app, "--", "-p", "0"]);
    running.push(p);
    while (!existsSync(marker)) {
      if (p.child.exitCode !== null) throw new Error(`exited while loading:\n${p.stderr()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await writeFile(app, version("v2"));
    await logged(p, /app\.mjs changed, reloading/, 1);
    await logged(p, /the application was still starting; starting it again/, 1);
    const [, port] = await p.waitFor(/Listening on 'http:\/\/127\.0\.0\.1:(\d+)\/'/);
    expect(await ask("http", Number(port), "/")).toBe("200 v2");
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }, 120000);
});

(activationAvailable() ? describe : describe.skip)("vsgi --live-reload under systemd-socket-activate", () => {
  it("the application serves the socket systemd passed, and a change reloads it without a failed request", async () => {
    const app = await folder(version("v0"));
    const port = await freePort();
    const run = await activate([`127.0.0.1:${port}`], [process.execPath, BIN, "--live-reload", app]);
    activated.push(run);
    // started at the first connection, which waits in the socket's backlog meanwhile
    const load = steadyLoad("http", port, "/");
    await more(load.answers, 5);
    await run.waitFor("Listening on 'http+fd://3/'");
    await writeFile(app, version("v1"));
    await run.waitFor("reloaded: ");
    const mark = load.answers.length + 1;
    await more(load.answers, 6);
    expect(load.answers.slice(mark)).toEqual(Array(load.answers.length - mark).fill("200 v1"));
    await load.stop();
    expect(load.failures).toEqual([]);
    expect(run.stderr()).not.toMatch(/restarting/);
  }, 60000);
});
