// Instructions per request, counted by valgrind's callgrind: a count, not a time. V8 runs with
// --predictable and --predictable-gc-schedule (no background threads, a heap that grows by a
// fixed rule) and ApacheBench keeps the same eight connections: two runs of the same server then
// agree within 0.2% on an otherwise idle machine, where requests per second on this machine's
// shared vCPUs drift by ±25%. Not immune to load: other jobs change how many requests one
// event-loop turn serves, and the count with it. What a count leaves out: the kernel (a hello
// world's socket calls are much of its time), cache misses and stalls. It compares two versions
// of the same code; it does not replace wrk's ratio.
import { spawn, execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listening, stop } from "./wrk.js";

const run = async (command: string, args: string[]): Promise<string> => (await promisify(execFile)(command, args)).stdout;

/** Whether valgrind and ab are on the PATH (Debian's packages `valgrind` and `apache2-utils`). */
export function haveValgrind(): boolean {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
    execFileSync("ab", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Sends `count` GETs of `/` with ApacheBench (Debian's `apache2-utils`): 8 connections kept
 * open, one request at a time on each. Not node's Agent: its sockets are sometimes replaced
 * between requests, a new connection costs the server more than a request, and the count
 * differed by up to a quarter from run to run.
 */
async function send(port: number, count: number): Promise<void> {
  const out = await run("ab", ["-q", "-k", "-n", String(count), "-c", "8", `http://127.0.0.1:${port}/`]);
  const failed = /Failed requests:\s+(\d+)/.exec(out);
  const non2xx = /Non-2xx responses:\s+(\d+)/.exec(out);
  if (failed === null || failed[1] !== "0" || non2xx !== null) throw new Error(`ab: ${out}`);
}

/** The instructions `node script PORT args` executes in all, from its start to its stop after `count` requests. */
async function total(script: string, port: number, args: string[], count: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "valum-callgrind-"));
  const child = spawn(
    "valgrind",
    [
      "--tool=callgrind",
      "--cache-sim=no",
      // V8 writes code where valgrind must see it change
      "--smc-check=all-non-file",
      `--log-file=${join(dir, "valgrind.log")}`,
      `--callgrind-out-file=${join(dir, "callgrind.%p")}`,
      process.execPath,
      "--predictable",
      "--predictable-gc-schedule",
      script,
      String(port),
      ...args,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  try {
    await listening(child);
    await send(port, count);
  } finally {
    await stop(child);
  }
  try {
    const out = readdirSync(dir).find((name) => name.startsWith("callgrind."));
    const totals = out === undefined ? null : /^totals: (\d+)/m.exec(readFileSync(join(dir, out), "utf8"));
    if (totals === null) throw new Error(`callgrind wrote no totals in ${dir}`);
    return Number(totals[1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Instructions per request of `node script PORT args` once warm: the difference between a
 * server stopped after `warm` requests and one stopped after `warm + measured`, divided by
 * `measured`, so that start, JIT warm-up and stop cancel out. Slow: about 150 requests a
 * second under valgrind.
 *
 * @example const off = await instructionsPerRequest(app, 3120, []);
 */
export async function instructionsPerRequest(script: string, port: number, args: string[], warm = 4000, measured = 16000): Promise<number> {
  const short = await total(script, port, args, warm);
  const long = await total(script, port, args, warm + measured);
  return (long - short) / measured;
}
