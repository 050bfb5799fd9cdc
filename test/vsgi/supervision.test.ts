// The supervisor of `run(argv)` with --forks: a crashing worker is replaced while the others
// serve; workers that cannot start (or do not accept within --start-timeout), and workers that
// crash soon after they accept, are retried with a growing delay, then given up on; stops wait
// for requests in flight up to --stop-timeout; SIGUSR1 reaches the workers harmlessly; the
// application's own server.stop() ends the run of the process that called it.
import { describe, it, expect, afterEach } from "@jest/globals";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { start, distPath, alive, type Program } from "../helpers/process.js";
import { ask } from "../helpers/ask.js";
import { parseCommandLine, usage } from "../../vsgi/index.js";

const APP = distPath("test/fixtures/runtime-app.js");
let running: Program[] = [];
afterEach(() => {
  for (const p of running) p.kill("SIGKILL");
  running = [];
});

function run(args: string[], env: NodeJS.ProcessEnv = {}): Program {
  const p = start(APP, args, env);
  running.push(p);
  return p;
}

async function serving(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ p: Program; port: number }> {
  const p = run(["-p", "0", ...args], env);
  const [, port] = await p.waitFor(/Listening on '\w+:\/\/127\.0\.0\.1:(\d+)\/'/);
  if (args.includes("--forks")) await p.waitFor(/supervises/);
  return { p, port: Number(port) };
}

/** Sends `GET path` over http on a raw connection; resolves with all that came back before the close. */
function rawGet(port: number, path: string): { sent: Promise<void>; answer: Promise<string> } {
  const socket = connect(port, "127.0.0.1");
  let text = "";
  socket.setEncoding("latin1").on("data", (c: string) => (text += c));
  socket.on("error", () => undefined);
  const sent = new Promise<void>((resolve) => socket.once("connect", () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`, () => resolve())));
  return { sent, answer: new Promise((resolve) => socket.once("close", () => resolve(text))) };
}

describe("worker supervision", () => {
  it("an uncaught exception in a handler ends only its worker: the others answer, and a new worker replaces it", async () => {
    const { p, port } = await serving(["--forks", "1"]);
    expect(await ask("http", port, "/crash")).toBe("200 crashing");
    const [, id, pid, code] = await p.waitFor(/worker (\d+) \(pid (\d+)\) exited with code (\d+); starting another in 100 ms/);
    expect(code).toBe("1");
    expect(alive(Number(pid))).toBe(false);
    // The service answers all along, while the replacement (worker 3) starts.
    for (let i = 0; i < 10; i++) expect(await ask("http", port, "/version")).toBe("200 none");
    await p.waitFor(/worker 3 \(pid \d+\) accepts/);
    expect(id === "1" || id === "2").toBe(true);
    for (let i = 0; i < 5; i++) expect(await ask("http", port, "/version")).toBe("200 none");
    expect(p.child.exitCode).toBeNull();
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }, 60000);

  it("workers that fail at import are retried with a doubling delay, then the supervisor gives up: exit 1 and one line", async () => {
    const p = run(["-p", "0", "--forks", "1"], { FIXTURE_FAIL_IN_WORKER: "1" });
    expect(await p.exited).toBe(1);
    const delays = [...p.stderr().matchAll(/exited with code 1 before accepting; starting another in (\d+) ms/g)].map((m) => Number(m[1]));
    expect(delays).toEqual([100, 200, 400, 800]);
    expect(p.stderr()).toMatch(/exited with code 1 before accepting; giving up: 5 workers in a row exited before accepting; stopping\n/);
  }, 60000);

  it("workers that never accept are killed after --start-timeout and retried with a doubling delay, the main process serving meanwhile; then it gives up: exit 1 and one line", async () => {
    const p = run(["-p", "0", "--forks", "1", "--start-timeout", "1"], { FIXTURE_HANG_IN_WORKER: "1" });
    const [, port] = await p.waitFor(/Listening on 'http:\/\/127\.0\.0\.1:(\d+)\/'/);
    // No worker took over: the main process answers itself.
    expect(await ask("http", Number(port), "/pid")).toBe(`200 ${p.child.pid}`);
    expect(await p.exited).toBe(1);
    const stderr = p.stderr();
    const killed = [...stderr.matchAll(/worker (\d+) \(pid (\d+)\) did not accept within 1 s and was killed; (?:starting another in (\d+) ms|giving up: (.*))\n/g)];
    expect(killed.map((m) => Number(m[1]))).toEqual([1, 2, 3, 4, 5]);
    expect(killed.slice(0, 4).map((m) => Number(m[3]))).toEqual([100, 200, 400, 800]);
    expect(killed[4]![4]).toBe("5 workers in a row exited before accepting; stopping");
    for (const m of killed) expect(alive(Number(m[2]))).toBe(false);
    expect(stderr).not.toMatch(/accepts|supervises/);
  }, 60000);

  it("workers that die soon after they accept, by an exception or a signal, are restarted with a doubling delay, each death logged; then it gives up: exit 1 and one line", async () => {
    // Two workers, each dying 300 ms after it accepts; worker 3 by SIGKILL.
    const p = run(["-p", "0", "--forks", "1"], { FIXTURE_CRASH_AFTER: "300", FIXTURE_KILLED_WORKER: "3" });
    expect(await p.exited).toBe(1);
    const stderr = p.stderr();
    const deaths = [...stderr.matchAll(/vsgi: worker (\d+) \(pid (\d+)\) (exited with code \d+|was killed by \w+)(.*)\n/g)];
    // Every worker accepted before it died: none died "before accepting".
    expect(deaths.map((m) => Number(m[1])).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const [, id, , fate] of deaths) expect(fate).toBe(id === "3" ? "was killed by SIGKILL" : "exited with code 1");
    for (const m of deaths) expect(stderr).toMatch(new RegExp(`worker ${m[1]} \\(pid ${m[2]}\\) accepts`));
    // The delay doubles at each death in a row, up to 5 s; the 10th (5 × 2 workers) gives up.
    expect(deaths.slice(0, 9).map((m) => m[4])).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000].map((ms) => `; starting another in ${ms} ms`));
    expect(deaths[9]![4]).toBe("; giving up: 10 workers in a row exited within 10 s of accepting; stopping");
    for (const m of deaths) expect(alive(Number(m[2]))).toBe(false);
  }, 60000);

  it("SIGUSR1 is forwarded to the workers, which neither die nor start an inspector", async () => {
    const { p, port } = await serving(["--forks", "1"]);
    await p.waitFor(/worker 2 \(pid \d+\) accepts/);
    const pids = [...p.stderr().matchAll(/worker \d+ \(pid (\d+)\) accepts/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(2);
    p.kill("SIGUSR1");
    p.kill("SIGUSR1");
    await new Promise((r) => setTimeout(r, 300));
    expect(await ask("http", port, "/version")).toBe("200 none");
    for (const pid of pids) expect(alive(pid)).toBe(true);
    expect(p.stderr()).not.toMatch(/Debugger listening|exited|killed/);
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }, 60000);

  it("SIGTERM stops every worker and the supervisor exits 0; its UNIX socket is removed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vsgi-supervise-"));
    try {
      const path = join(dir, "app.sock");
      const p = run(["-s", path, "--forks", "2"], { FIXTURE_BACKEND: "scgi" });
      await p.waitFor(/supervises/);
      await p.waitFor(/worker 3 \(pid \d+\) accepts/);
      const pids = [...p.stderr().matchAll(/worker \d+ \(pid (\d+)\) accepts/g)].map((m) => Number(m[1]));
      const { scgiRequest } = await import("../helpers/scgi-client.js");
      expect((await scgiRequest({ path }, { method: "GET", target: "/version" })).body.toString()).toBe("none");
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
      for (const pid of pids) expect(alive(pid)).toBe(false);
      const { existsSync } = await import("node:fs");
      expect(existsSync(path)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60000);
});

describe("the application's own server.stop() under run()", () => {
  it("ends run() without --forks: the request answered, the process exits 0", async () => {
    const { p, port } = await serving([]);
    expect(await ask("http", port, "/stop")).toBe("200 stopping");
    expect(await p.exited).toBe(0);
    // node's "unsettled top-level await" (exit 13) when run() never resolved
    expect(p.stderr()).not.toMatch(/Warning/);
  });

  it("with --forks, ends that worker only: it exits 0 and is replaced, the others answering meanwhile", async () => {
    const { p, port } = await serving(["--forks", "1"]);
    expect(await ask("http", port, "/stop")).toBe("200 stopping");
    const [, pid] = await p.waitFor(/worker \d+ \(pid (\d+)\) exited with code 0; starting another/);
    expect(alive(Number(pid))).toBe(false);
    expect(await ask("http", port, "/version")).toBe("200 none");
    expect(alive(p.child.pid!)).toBe(true);
  });
});

describe("--start-timeout", () => {
  it("is read in seconds, decimals allowed, into the start timeout in ms, and --help lists it", () => {
    expect(parseCommandLine(["--start-timeout", "120"]).startTimeout).toBe(120000);
    expect(parseCommandLine(["--start-timeout=2.5"]).startTimeout).toBe(2500);
    expect(parseCommandLine(["--start-timeout", "0"]).startTimeout).toBe(0);
    expect(parseCommandLine([]).startTimeout).toBeUndefined();
    expect(() => parseCommandLine(["--start-timeout", "-1"])).toThrow(/option --start-timeout takes a number of seconds/);
    expect(() => parseCommandLine(["--start-timeout", "90000"])).toThrow(/from 0 to 86400, got "90000"/);
    expect(() => parseCommandLine(["--start-timeout"])).toThrow(/from 0 to 86400, got ""/);
    expect(usage(["node", "app.js"])).toMatch(/--start-timeout SECONDS/);
  });

  it("is refused when it is no number of seconds, with exit 2", async () => {
    const p = run(["--start-timeout", "1m"]);
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toMatch(/^option --start-timeout takes a number of seconds from 0 to 86400, got "1m"\n/);
  });
});

describe("UNIX socket paths", () => {
  it("a path that exists already is refused as node refuses it: cannot listen, exit 1, the file left alone", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vsgi-supervise-"));
    try {
      const path = join(dir, "app.sock");
      const { writeFileSync, readFileSync } = await import("node:fs");
      writeFileSync(path, "not a socket");
      const p = run(["-s", path]);
      expect(await p.exited).toBe(1);
      expect(p.stderr()).toMatch(/cannot listen: listen EADDRINUSE: address already in use .*app\.sock/);
      expect(readFileSync(path, "utf8")).toBe("not a socket");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("--stop-timeout", () => {
  it.each([[[]], [["--forks", "1"]]])("with %j: a request still in flight is cut after it, and the program exits 0", async (args) => {
    const { p, port } = await serving(["--stop-timeout", "0.5", ...args]);
    const slow = rawGet(port, "/slow");
    await slow.sent;
    // The request is in the handler, which answers only after two minutes.
    await new Promise((r) => setTimeout(r, 200));
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    expect(await slow.answer).toBe("");
  }, 60000);

  it("is read in seconds, decimals allowed, into the stop timeout in ms", () => {
    expect(parseCommandLine(["--stop-timeout", "1.5"]).stopTimeout).toBe(1500);
    expect(parseCommandLine(["--stop-timeout=0"]).stopTimeout).toBe(0);
    expect(parseCommandLine([]).stopTimeout).toBeUndefined();
    expect(() => parseCommandLine(["--stop-timeout", "-1"])).toThrow(/option --stop-timeout takes a number of seconds/);
    expect(() => parseCommandLine(["--stop-timeout", "90000"])).toThrow(/from 0 to 86400, got "90000"/);
  });

  it("is refused when it is no number of seconds, with exit 2", async () => {
    const p = run(["--stop-timeout", "soon"]);
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toMatch(/option --stop-timeout takes a number of seconds from 0 to 86400, got "soon"/);
  });
});
