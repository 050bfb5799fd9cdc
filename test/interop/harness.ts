// Starts and stops the real front servers (lighttpd, nginx, Apache httpd, HAProxy) and the
// backend processes for the interop suite: unprivileged-style, on free loopback ports, with
// configs written into a temporary folder by the templates of examples/deploy/.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { apacheConfig, haproxyConfig, lighttpdConfig, nginxConfig, type FrontConfig, type Mount } from "../../examples/deploy/templates.js";
import { freePort } from "../helpers/ports.js";
export { freePort };

/** The repository's dist/ folder (this file runs from dist/test/interop/). */
export const DIST = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The echo application's entry point. */
export const ECHO_APP = join(DIST, "examples/echo/app.js");
/** The launcher for backends that need options (ajp secret, scriptName). */
export const LAUNCH = join(DIST, "test/interop/launch.js");

export const FRONT_SERVERS = {
  lighttpd: "/usr/sbin/lighttpd",
  nginx: "/usr/sbin/nginx",
  apache: "/usr/sbin/apache2",
  haproxy: "/usr/sbin/haproxy",
} as const;
export type FrontName = keyof typeof FRONT_SERVERS;

/**
 * Whether a front server is installed. In CI (`CI=true`) a missing one throws: the run fails,
 * it is never skipped silently. Elsewhere the caller skips its tests and says so.
 */
export function frontServerAvailable(name: FrontName): boolean {
  const found = existsSync(FRONT_SERVERS[name]);
  if (!found && process.env.CI === "true") {
    throw new Error(`${name} is not installed (${FRONT_SERVERS[name]}): the interop suite needs it in CI (see .ci/run)`);
  }
  if (!found) console.warn(`interop: ${name} is not installed (${FRONT_SERVERS[name]}): its tests are skipped`);
  return found;
}


/**
 * A temporary folder that the front servers' workers (www-data for Apache CGI) can enter and read.
 */
export function tempFolder(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `valum-interop-${name}-`));
  chmodSync(dir, 0o755);
  return dir;
}

/** A process of the test (front server or backend), in its own process group. */
export class Managed {
  readonly child: ChildProcess;
  private output = "";
  private exited: Promise<number | null>;
  exitCode: number | null | undefined = undefined;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: "ignore" | number } = {},
  ) {
    this.child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.stdin ?? "ignore", "pipe", "pipe"],
      detached: true, // its own process group: stop() kills what it spawned too
    });
    const collect = (chunk: Buffer): void => {
      this.output += chunk.toString();
      if (this.output.length > 256 * 1024) this.output = this.output.slice(-128 * 1024);
    };
    this.child.stdout!.on("data", collect);
    this.child.stderr!.on("data", collect);
    this.exited = new Promise((ok) => {
      this.child.on("exit", (code, signal) => {
        this.exitCode = code ?? (signal !== null ? -1 : null);
        ok(code);
      });
      this.child.on("error", (err) => {
        this.output += `\n[spawn error] ${err.message}`;
        this.exitCode = -1;
        ok(-1);
      });
    });
  }

  /** What the process wrote on stdout and stderr so far. */
  get log(): string {
    return this.output;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** SIGTERM to the whole group, SIGKILL if it lingers; resolves when the leader is gone. */
  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined) return;
    const kill = (signal: NodeJS.Signals): void => {
      try {
        process.kill(-pid, signal);
      } catch {
        // already gone
      }
    };
    kill("SIGTERM");
    const timer = setTimeout(() => kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(timer);
    // Whatever the leader left behind in its group (spawned apps, CGI children).
    kill("SIGKILL");
  }
}

/** Resolves when something accepts TCP connections on `host:port`; rejects if `proc` exits first. */
export async function waitForPort(port: number, proc: Managed, what = proc.name, host = "127.0.0.1"): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (!proc.running) throw new Error(`${what} exited (${proc.exitCode}) before listening on ${host}:${port}:\n${proc.log}`);
    const open = await new Promise<boolean>((ok) => {
      const s = connect(port, host);
      s.once("connect", () => {
        s.destroy();
        ok(true);
      });
      s.once("error", () => ok(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${what} did not listen on ${host}:${port}:\n${proc.log}`);
}

/** Resolves when a UNIX socket file appears; rejects if `proc` exits first. */
export async function waitForFile(path: string, proc: Managed): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (!proc.running) throw new Error(`${proc.name} exited (${proc.exitCode}):\n${proc.log}`);
    if (existsSync(path)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${path} did not appear:\n${proc.log}`);
}

/** A running front server. */
export interface Front {
  name: FrontName;
  port: number;
  dir: string;
  config: string;
  proc: Managed;
  /** The front server's output and error log so far. */
  log(): string;
  stop(): Promise<void>;
}

/** How each front server is run in the foreground with a config file. */
const RUN: Record<FrontName, { file: string; render(c: FrontConfig): string; args(conf: string, dir: string): string[] }> = {
  lighttpd: { file: "lighttpd.conf", render: lighttpdConfig, args: (conf) => ["-D", "-f", conf] },
  nginx: { file: "nginx.conf", render: nginxConfig, args: (conf, dir) => ["-p", dir, "-c", conf, "-g", "daemon off;"] },
  apache: { file: "apache.conf", render: apacheConfig, args: (conf) => ["-DFOREGROUND", "-f", conf] },
  haproxy: { file: "haproxy.cfg", render: haproxyConfig, args: (conf) => ["-db", "-f", conf] },
};

/**
 * Writes the front server's config (from the examples/deploy templates) into `dir`, starts it in
 * the foreground, and waits until it accepts connections. `extra`: more of the config
 * (an `errorLog` file, lighttpd's `breakageLog`), or `edit` to change the rendered text.
 *
 * @example const front = await startFront("nginx", dir, [{ backend: "fastcgi", prefix: "", upstream: { host: "127.0.0.1", port } }]);
 */
export async function startFront(
  name: FrontName,
  dir: string,
  mounts: Mount[],
  extra: Partial<Pick<FrontConfig, "breakageLog" | "errorLog">> & { edit?: (config: string) => string } = {},
): Promise<Front> {
  const port = await freePort();
  const runDir = join(dir, name);
  mkdirSync(runDir, { recursive: true, mode: 0o755 });
  chmodSync(runDir, 0o755);
  const config: FrontConfig = {
    host: "127.0.0.1",
    port,
    runDir,
    // Apache cannot open /dev/stderr when it is a pipe: its errors go to a file read by log().
    errorLog: extra.errorLog ?? (name === "apache" ? join(runDir, "error.log") : "stderr"),
    breakageLog: extra.breakageLog,
    mounts,
    user: process.getuid?.() === 0 && name === "nginx" ? "root" : process.getuid?.() === 0 && name === "apache" ? "www-data" : undefined,
  };
  const run = RUN[name];
  const rendered = run.render(config);
  // A variant of the template (a setting turned back to its default, to show what it does).
  const text = extra.edit !== undefined ? extra.edit(rendered) : rendered;
  const conf = join(runDir, run.file);
  writeFileSync(conf, text);
  const env = { ...process.env };
  // Apache's own settings, else apache2 insists on /etc/apache2/envvars.
  if (name === "apache") Object.assign(env, { APACHE_RUN_DIR: runDir, APACHE_LOCK_DIR: runDir, APACHE_LOG_DIR: runDir, APACHE_PID_FILE: join(runDir, "httpd.pid") });
  const proc = new Managed(name, FRONT_SERVERS[name], run.args(conf, runDir), { cwd: runDir, env });
  try {
    await waitForPort(port, proc);
  } catch (err) {
    await proc.stop();
    const file = join(runDir, "error.log");
    const log = existsSync(file) ? readFileSync(file, "utf8") : "";
    throw new Error(`${name} did not start with\n${text}\n${(err as Error).message}\n${log}`);
  }
  const log = (): string => {
    const file = join(runDir, "error.log");
    return proc.log + (existsSync(file) ? readFileSync(file, "utf8") : "");
  };
  return { name, port, dir: runDir, config: text, proc, log, stop: () => proc.stop() };
}

/** A backend process started by the test (the front server connects to it). */
export interface App {
  port: number;
  proc: Managed;
  stop(): Promise<void>;
}

/**
 * Starts the echo application on `backend`, listening on a free loopback port. With `options`
 * (JSON-able backend options such as `secret` or `scriptName`) it goes through the launcher.
 *
 * @example const app = await startApp("scgi"); // node dist/examples/echo/app.js scgi -p PORT
 */
export async function startApp(backend: string, options?: Record<string, unknown>, flags: string[] = []): Promise<App> {
  const port = await freePort();
  const args =
    options === undefined
      ? [ECHO_APP, backend, "-p", String(port), ...flags]
      : [LAUNCH, backend, JSON.stringify(options), "-p", String(port), ...flags];
  const proc = new Managed(`${backend} app`, process.execPath, args, { cwd: DIST });
  await waitForPort(port, proc);
  return { port, proc, stop: () => proc.stop() };
}

/** The command line that runs the echo app on `backend` (for bin-path and CGI scripts). */
export function appCommand(backend: string, options?: Record<string, unknown>): string[] {
  return options === undefined ? [process.execPath, ECHO_APP, backend] : [process.execPath, LAUNCH, backend, JSON.stringify(options)];
}

/**
 * Writes the CGI script that runs the echo app (`#!/bin/sh` + exec node ... cgi), executable and
 * readable by everyone (Apache runs it as www-data).
 */
export function writeCgiScript(dir: string, options?: Record<string, unknown>): string {
  const cgiDir = join(dir, "cgi-bin");
  mkdirSync(cgiDir, { recursive: true });
  chmodSync(cgiDir, 0o755);
  const script = join(cgiDir, "app.cgi");
  const command = appCommand("cgi", options)
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
    .join(" ");
  writeFileSync(script, `#!/bin/sh\nexec ${command}\n`);
  chmodSync(script, 0o755);
  return script;
}

/** Whether the user www-data can read `path` (Apache CGI): every folder above must be searchable. */
export function readableByOthers(path: string): boolean {
  const r = spawnSync("sh", ["-c", `p=${JSON.stringify(path)}; while [ "$p" != / ]; do m=$(stat -c %a "$p"); case $m in *[1357]) ;; *) exit 1;; esac; p=$(dirname "$p"); done`]);
  return r.status === 0;
}

/**
 * The TCP sockets whose local port is `port` (the app's side of the front server's connections),
 * from /proc/net/tcp and tcp6: `established`, and `other` (TIME_WAIT, closing...). Listening
 * sockets are not counted.
 */
export function socketsOnPort(port: number): { established: number; other: number } {
  const count = { established: 0, other: 0 };
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4) continue;
      const local = parseInt(cols[1]!.slice(cols[1]!.lastIndexOf(":") + 1), 16);
      const state = cols[3];
      if (local !== port || state === "0A") continue; // 0A: LISTEN
      if (state === "01") count.established++;
      else count.other++;
    }
  }
  return count;
}

/** Removes a temporary folder. */
export function removeFolder(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
