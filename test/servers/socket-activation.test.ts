// Socket activation on every socket backend, under systemd-socket-activate (test/helpers/activate.ts):
// real requests through each protocol, and which processes serve them.
import { describe, it, expect, afterEach } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { distPath } from "../helpers/process.js";
import { activate, activationAvailable, type Activated } from "../helpers/activate.js";
import { freePort } from "../helpers/ports.js";
import { send } from "../helpers/http.js";
import { scgiRequest } from "../helpers/scgi-client.js";
import { fastcgiConformanceClient } from "../helpers/fastcgi-client.js";
import { ajpClient } from "../helpers/ajp-client.js";
import { systemdSockets } from "../../vsgi/index.js";

const APP = distPath("test/fixtures/activation-app.js");
const BIN = distPath("bin/vsgi.js");
const available = activationAvailable();

let running: Activated[] = [];
let folders: string[] = [];
afterEach(async () => {
  await Promise.all(running.map((r) => r.stop()));
  running = [];
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  folders = [];
});

/** `activate` with node running `program`, stopped after the test. */
async function activateNode(listen: string[], program: string[], env: Record<string, string> = {}, fdnames?: string): Promise<Activated> {
  const run = await activate(listen, [process.execPath, ...program], env, fdnames);
  running.push(run);
  return run;
}

type Backend = "http" | "scgi" | "fastcgi" | "ajp";
type Where = { port: number } | { path: string };

/** One request through the backend's protocol on a new connection (so that any process may take it). */
async function request(backend: Backend, where: Where, target: string): Promise<{ status: number; body: string }> {
  const noop = async (): Promise<void> => undefined;
  if (backend === "http") {
    if (!("port" in where)) throw new Error("the http helper speaks TCP only");
    const res = await send(where.port, "GET", target);
    return { status: res.status, body: res.body.toString() };
  }
  const client =
    backend === "scgi"
      ? { request: (r: { method: string; target: string }) => scgiRequest(where, r), close: noop }
      : backend === "fastcgi"
        ? fastcgiConformanceClient(where, "per-request", noop)
        : ajpClient("port" in where ? where.port : NaN, noop);
  try {
    const res = await client.request({ method: "GET", target });
    return { status: res.status, body: res.body.toString() };
  } finally {
    await client.close();
  }
}

/** The pids that served `rounds` rounds of 4 concurrent requests, stopping once `want` are seen. */
async function servingPids(backend: Backend, where: Where, want: number, rounds = 40): Promise<Set<string>> {
  const pids = new Set<string>();
  for (let i = 0; i < rounds && pids.size < want; i++) {
    const answers = await Promise.all([1, 2, 3, 4].map(() => request(backend, where, "/busy")));
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.body).toMatch(/^\d+ \/busy$/);
      pids.add(a.body.split(" ")[0]!);
    }
  }
  return pids;
}

/** The pids of the `count` workers the supervisor reported accepting, once it has reported them all. */
async function acceptingWorkers(run: { stderr(): string }, count: number): Promise<Set<string>> {
  const accepting = (): Set<string> => new Set([...run.stderr().matchAll(/vsgi: worker \d+ \(pid (\d+)\) accepts/g)].map((m) => m[1]!));
  while (accepting().size < count) await new Promise((wait) => setTimeout(wait, 50));
  return accepting();
}

const LONG = 90_000;
const maybe = available ? describe : describe.skip;

maybe("socket activation with systemd-socket-activate", () => {
  for (const backend of ["http", "scgi", "fastcgi", "ajp"] as const) {
    it(`${backend}: serves the socket systemd passes (fd 3), and hides LISTEN_* from what it spawns`, async () => {
      const port = await freePort();
      const run = await activateNode([`127.0.0.1:${port}`], [APP], { FIXTURE_BACKEND: backend });
      const res = await request(backend, { port }, "/hello");
      expect(res.status).toBe(200);
      expect(res.body).toMatch(/^\d+ \/hello$/);
      await run.waitFor(`Listening on '${backend}+fd://3/'`);
      // Taken once, then unset as sd_listen_fds(3) does: a child of the app would not take them.
      const env = await request(backend, { port }, "/env");
      expect(JSON.parse(env.body)).toEqual({});
    }, LONG);

    it(`${backend} --forks 1: two worker processes serve the activated socket`, async () => {
      const port = await freePort();
      const run = await activateNode([`127.0.0.1:${port}`], [APP, "--forks", "1"], { FIXTURE_BACKEND: backend });
      // systemd-socket-activate starts the program at the first connection; the main process
      // serves until its first worker accepts, then supervises only.
      expect((await request(backend, { port }, "/hello")).status).toBe(200);
      await run.waitFor(`Listening on '${backend}+fd://3/'`);
      const workers = await acceptingWorkers(run, 2);
      const pids = await servingPids(backend, { port }, 2);
      expect(pids).toEqual(workers);
      // The workers got the socket from the main process, not from the environment.
      for (let i = 0; i < 4; i++) expect(JSON.parse((await request(backend, { port }, "/env")).body)).toEqual({});
    }, LONG);
  }

  it("names each socket from LISTEN_FDNAMES (--fdname) in its URI", async () => {
    const port = await freePort();
    const run = await activateNode([`127.0.0.1:${port}`], [APP], { FIXTURE_BACKEND: "http" }, "web");
    expect((await request("http", { port }, "/named")).body).toMatch(/ \/named$/);
    await run.waitFor("Listening on 'http+fd://3/?name=web'");
  }, LONG);

  it("serves two sockets (-l twice), each named, in the main process and in the workers", async () => {
    const [a, b] = [await freePort(), await freePort()];
    const run = await activateNode([`127.0.0.1:${a}`, `127.0.0.1:${b}`], [APP, "--forks", "1"], { FIXTURE_BACKEND: "http" }, "web:admin");
    expect((await request("http", { port: a }, "/a")).body).toMatch(/ \/a$/);
    await run.waitFor("Listening on 'http+fd://3/?name=web'");
    await run.waitFor("Listening on 'http+fd://4/?name=admin'");
    // The main process served the first request; from now on the two workers serve both sockets.
    const workers = await acceptingWorkers(run, 2);
    expect(await servingPids("http", { port: a }, 2)).toEqual(workers);
    expect(await servingPids("http", { port: b }, 2)).toEqual(workers);
  }, LONG);

  it("scgi on a UNIX socket, through the vsgi command with --forks 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vsgi-activation-"));
    folders.push(dir);
    const path = join(dir, "scgi.sock");
    const run = await activateNode([path], [BIN, "--server", "scgi", distPath("test/fixtures/router-app.js"), "--", "--forks", "1"]);
    const res = await request("scgi", { path }, "/users/41");
    expect(res).toEqual({ status: 200, body: "user 42" });
    await run.waitFor("Listening on 'scgi+fd://3/'");
  }, LONG);
});

describe("a bad LISTEN_FDNAMES", () => {
  it("stops the program with one line naming it, exit 1", () => {
    // LISTEN_PID must be the program's own pid: a shell sets it and execs node.
    const run = spawnSync("/bin/sh", ["-c", 'LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=web:admin exec "$0" "$@"', process.execPath, APP], {
      env: { ...process.env, FIXTURE_BACKEND: "ajp" },
      encoding: "utf8",
    });
    expect({ status: run.status, stderr: run.stderr }).toEqual({
      status: 1,
      stderr: 'cannot listen: LISTEN_FDNAMES names 2 sockets ("web:admin") but LISTEN_FDS is 1\n',
    });
  });
});

describe("systemdSockets (sd_listen_fds(3))", () => {
  const pid = 4242;
  it("takes LISTEN_FDS sockets from fd 3 when LISTEN_PID is this process", () => {
    expect(systemdSockets({ LISTEN_PID: "4242", LISTEN_FDS: "2" }, pid)).toEqual([{ fd: 3 }, { fd: 4 }]);
  });
  it("names them from LISTEN_FDNAMES, in order", () => {
    expect(systemdSockets({ LISTEN_PID: "4242", LISTEN_FDS: "2", LISTEN_FDNAMES: "web:admin" }, pid)).toEqual([
      { fd: 3, name: "web" },
      { fd: 4, name: "admin" },
    ]);
  });
  it("takes nothing when the variables are meant for another process, or LISTEN_PID is missing", () => {
    expect(systemdSockets({ LISTEN_PID: "1", LISTEN_FDS: "1" }, pid)).toEqual([]);
    expect(systemdSockets({ LISTEN_FDS: "1" }, pid)).toEqual([]);
    expect(systemdSockets({ LISTEN_PID: "4242", LISTEN_FDS: "0" }, pid)).toEqual([]);
    expect(systemdSockets({}, pid)).toEqual([]);
  });
  it("says what is wrong with a bad LISTEN_FDS or a LISTEN_FDNAMES of another length", () => {
    expect(() => systemdSockets({ LISTEN_PID: "4242", LISTEN_FDS: "two" }, pid)).toThrow('LISTEN_FDS must be a number of sockets, got "two"');
    expect(() => systemdSockets({ LISTEN_PID: "4242", LISTEN_FDS: "2", LISTEN_FDNAMES: "web" }, pid)).toThrow(
      'LISTEN_FDNAMES names 1 sockets ("web") but LISTEN_FDS is 2',
    );
  });
});
