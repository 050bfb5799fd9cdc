import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { once } from "node:events";

/** One load run: requests per second and latency as wrk reports them. */
export interface LoadResult {
  requestsPerSecond: number;
  latencyAverage: string;
  errors: number;
  /** What the errors were, as wrk counts them: "non-2xx 3, connect 0, read 1, write 0, timeout 0". */
  errorKinds: string;
}

/** Whether wrk is on the PATH (Debian's package `wrk`). */
export function haveWrk(): boolean {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
    return true;
  } catch (err) {
    // wrk --version exits 1 after printing its version
    return (err as { status?: number }).status === 1;
  }
}

/** Runs `node script args` pinned to CPU 0 (the one core the target is measured on). */
export function startNode(script: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn("taskset", ["-c", "0", process.execPath, script, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
}

/**
 * Resolves once the child printed its `Listening on` line: on standard error for valum (the
 * framework logs there), on standard output for the reference apps. Afterwards standard output
 * is drained and standard error passed through, so that errors stay visible.
 */
export function listening(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: string): void => {
      text += chunk;
      if (!text.includes("Listening on")) return;
      finish();
      child.stdout!.resume();
      child.stderr!.pipe(process.stderr);
      resolve();
    };
    const onExit = (): void => {
      finish();
      reject(new Error(`the server exited before listening: ${text}`));
    };
    const finish = (): void => {
      child.stdout!.off("data", onData);
      child.stderr!.off("data", onData);
      child.off("exit", onExit);
    };
    child.stdout!.setEncoding("utf8").on("data", onData);
    child.stderr!.setEncoding("utf8").on("data", onData);
    child.once("exit", onExit);
  });
}

/** Stops a child and waits for it. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  await once(child, "exit");
}

/**
 * Loads `url` with wrk on CPU 1 (one thread, `connections` connections) for `seconds`.
 * The figures are only compared with a peer measured in the same run, never with a constant.
 */
export function load(url: string, seconds: number, connections = 64): LoadResult {
  const out = execFileSync("taskset", ["-c", "1", "wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--latency", url], {
    encoding: "utf8",
  });
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const latency = /Latency\s+([\d.]+\w+)/.exec(out);
  const errors = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requestsPerSecond: rps ? Number(rps[1]) : 0,
    latencyAverage: latency ? latency[1]! : "?",
    errors: (errors ? Number(errors[1]) : 0) + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
    errorKinds:
      `non-2xx ${errors ? errors[1] : 0}, ` +
      (socketErrors ? `connect ${socketErrors[1]}, read ${socketErrors[2]}, write ${socketErrors[3]}, timeout ${socketErrors[4]}` : "no socket errors"),
  };
}

/**
 * CPU seconds (user and system) a process used so far, from /proc (Linux): around a load run,
 * the server's CPU time per request, a figure that other processes on a shared machine disturb
 * less than requests per second (a server whose load generator is starved is idle, not slower).
 */
export function cpuSeconds(pid: number): number {
  // the fields after the command name's closing parenthesis: utime and stime are the 12th and 13th
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** One server's run: what wrk measured, and the server's CPU microseconds per request. */
export interface ServerRun extends LoadResult {
  cpuPerRequest: number;
}

/**
 * Starts `node script PORT args` pinned to CPU 0, warms it up for 1 s (the JIT), loads
 * `http://127.0.0.1:PORT/` for `seconds` with wrk on CPU 1, and stops it: the hello-world
 * benchmarks' one run of one server.
 *
 * @example const run = await measureServer(app("node-http"), 3103, [], 5);
 */
export async function measureServer(script: string, port: number, args: string[], seconds: number): Promise<ServerRun> {
  const child = startNode(script, [String(port), ...args]);
  try {
    await listening(child);
    load(`http://127.0.0.1:${port}/`, 1);
    const before = cpuSeconds(child.pid!);
    const result = load(`http://127.0.0.1:${port}/`, seconds);
    const used = cpuSeconds(child.pid!) - before;
    return { ...result, cpuPerRequest: (used * 1e6) / (result.requestsPerSecond * seconds) };
  } finally {
    await stop(child);
  }
}
