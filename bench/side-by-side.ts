// Two servers measured at the same time on the same CPU, for a cost ratio this VM's noise does
// not drown. Measured one after the other, the same server ran at 27,000 to 63,000 req/s from
// one 3 s run to the next, and pair ratios spread from 0.48 to 1.23: the VM's speed moves within
// seconds. Side by side, both servers are pinned to CPU 0 and each is loaded by its own wrk
// (32 connections) on CPU 1 at the same time: whatever slows the machine slows both, and each
// one's CPU time per request (its own user and system time over its own requests) is compared.
// Each round starts both afresh, which one first and which port alternating: a process keeps a
// bias of about 1% of its own (JIT decisions, memory layout) that fresh pairs average out.
// Checked against itself (the same server on both sides, 10 rounds): median 1.008, rounds from
// 0.984 to 1.039.
import { spawn, type ChildProcess } from "node:child_process";
import { cpuSeconds, listening, startNode, stop } from "./wrk.js";

/** One side: a server script and its arguments after the port. */
export interface Side {
  script: string;
  args: string[];
}

/** One round: each side's requests per second and CPU microseconds per request. */
export interface Round {
  a: { rps: number; cpu: number };
  b: { rps: number; cpu: number };
}

/** Runs wrk on CPU 1 (one thread, 32 connections) and resolves with the requests it completed; rejects on errors. */
function wrk(port: number, seconds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("taskset", ["-c", "1", "wrk", "-t1", "-c32", `-d${seconds}s`, `http://127.0.0.1:${port}/`]);
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (out += text));
    child.on("error", reject);
    child.on("exit", () => {
      const done = /(\d+) requests in/.exec(out);
      if (done === null || /Non-2xx|Socket errors/.test(out)) reject(new Error(`wrk on port ${port}: ${out}`));
      else resolve(Number(done[1]));
    });
  });
}

/**
 * Measures `a` and `b` side by side for `rounds` rounds of `seconds`, after a 1 s warm-up in
 * each round, on ports `port` and `port + 1`. Each round's `a.cpu / b.cpu` is the ratio of their
 * costs per request.
 *
 * @example const rounds = await sideBySide({ script, args: [] }, { script, args: ["--access-log", file] }, 5, 12, 3104, print);
 */
export async function sideBySide(a: Side, b: Side, seconds: number, rounds: number, port: number, report: (round: Round, n: number) => void): Promise<Round[]> {
  const results: Round[] = [];
  for (let n = 0; n < rounds; n++) {
    const aFirst = n % 2 === 0;
    const [portA, portB] = aFirst ? [port, port + 1] : [port + 1, port];
    const start = (side: Side, at: number): ChildProcess => startNode(side.script, [String(at), ...side.args]);
    // the one started first alternates too
    const early = aFirst ? start(a, portA) : null;
    const processB = start(b, portB);
    const processA = early ?? start(a, portA);
    try {
      await Promise.all([listening(processA), listening(processB)]);
      await Promise.all([wrk(portA, 1), wrk(portB, 1)]);
      const cpuA = cpuSeconds(processA.pid!);
      const cpuB = cpuSeconds(processB.pid!);
      const [doneA, doneB] = await Promise.all([wrk(portA, seconds), wrk(portB, seconds)]);
      const round: Round = {
        a: { rps: doneA / seconds, cpu: ((cpuSeconds(processA.pid!) - cpuA) * 1e6) / doneA },
        b: { rps: doneB / seconds, cpu: ((cpuSeconds(processB.pid!) - cpuB) * 1e6) / doneB },
      };
      results.push(round);
      report(round, n + 1);
    } finally {
      await Promise.all([stop(processA), stop(processB)]);
    }
  }
  return results;
}

/** The median of some numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
