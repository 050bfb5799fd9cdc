// The access log's cost: the Router's hello world with `--access-log FILE` against the same
// without, in pairs run back to back (off, on, off, on...), each pair's ratio kept, and the
// median reported. Pairs, because this machine's speed drifts by ±25% over minutes: two runs
// next to each other see the same machine, two best-of figures minutes apart do not.
//   node dist/bench/access-log.js            (4 s per run, 8 pairs)
//   node dist/bench/access-log.js 5 12 json  (5 s, 12 pairs, --log-format json)
//   node dist/bench/access-log.js instructions [json]
//                                            (what the log adds to a request in instructions,
//                                             under callgrind: instructions.ts; about 4 minutes)
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { haveWrk, measureServer } from "./wrk.js";
import { haveValgrind, instructionsPerRequest } from "./instructions.js";

const script = fileURLToPath(new URL("./apps/valum-router.js", import.meta.url));

if (process.argv[2] === "instructions") await instructions(process.argv[3] ?? "clf");
else await pairs(Number(process.argv[2] ?? 4), Number(process.argv[3] ?? 8), process.argv[4] ?? "clf");

/**
 * The log's own cost as a count: what it adds to a request in instructions. Not the target's
 * ratio: callgrind counts user space only, and a hello world spends much of its time in the
 * kernel (its socket calls), so the log's share of the count is larger than its share of time.
 */
async function instructions(format: string): Promise<void> {
  if (!haveValgrind()) {
    console.error("valgrind or ab is not installed (apt-get install -y valgrind apache2-utils)");
    process.exit(1);
  }
  const logs = mkdtempSync(join(tmpdir(), "valum-bench-"));
  console.log(`access log (${format}): instructions per request under callgrind, 16,000 requests after 4,000`);
  // side by side: a count does not depend on what else runs
  const [off, on] = await Promise.all([
    instructionsPerRequest(script, 3105, []),
    instructionsPerRequest(script, 3106, ["--access-log", join(logs, "access.log"), "--log-format", format]),
  ]);
  rmSync(logs, { recursive: true, force: true });
  console.log(`off ${off.toFixed(0)}, on ${on.toFixed(0)}: the log adds ${(on - off).toFixed(0)} instructions to a request (user space only)`);
}

/** The target's measure: requests per second and CPU time, log on against off, in pairs. */
async function pairs(seconds: number, count: number, format: string): Promise<void> {
  if (!haveWrk()) {
    console.error("wrk is not installed (apt-get install -y wrk)");
    process.exit(1);
  }
  const port = 3104;
  const logs = mkdtempSync(join(tmpdir(), "valum-bench-"));
  const file = process.env.ACCESS_LOG_FILE ?? join(logs, "access.log");

  /** One run: requests per second and the server's CPU microseconds per request. */
  const measure = async (args: string[]): Promise<{ rps: number; cpu: number }> => {
    const result = await measureServer(script, port, args, seconds);
    if (result.errors > 0) throw new Error(`${result.errors} errors with ${args.join(" ") || "no log"}: ${result.errorKinds}`);
    return { rps: result.requestsPerSecond, cpu: result.cpuPerRequest };
  };

  console.log(`access log (${format}) against none, ${count} pairs of ${seconds} s runs, wrk -t1 -c64 on CPU 1, server on CPU 0`);
  console.log("pair".padEnd(6) + "off req/s".padStart(11) + "on req/s".padStart(11) + "ratio".padStart(8) + "off µs".padStart(9) + "on µs".padStart(9) + "ratio".padStart(8));
  const rpsRatios: number[] = [];
  const cpuRatios: number[] = [];
  for (let pair = 0; pair < count; pair++) {
    // alternate which runs first, so that a drift within a pair favours neither side
    const order = pair % 2 === 0 ? [false, true] : [true, false];
    const runs = new Map<boolean, { rps: number; cpu: number }>();
    for (const on of order) runs.set(on, await measure(on ? ["--access-log", file, "--log-format", format] : []));
    const off = runs.get(false)!;
    const on = runs.get(true)!;
    rpsRatios.push(on.rps / off.rps);
    cpuRatios.push(off.cpu / on.cpu);
    console.log(
      String(pair + 1).padEnd(6) + off.rps.toFixed(0).padStart(11) + on.rps.toFixed(0).padStart(11) + (on.rps / off.rps).toFixed(3).padStart(8) +
        off.cpu.toFixed(2).padStart(9) + on.cpu.toFixed(2).padStart(9) + (off.cpu / on.cpu).toFixed(3).padStart(8),
    );
  }
  const written = file.startsWith("/dev/") ? 0 : statSync(file).size;
  rmSync(logs, { recursive: true, force: true });
  console.log(
    `\nmedian, log on / off: ${median(rpsRatios).toFixed(3)} in req/s, ${median(cpuRatios).toFixed(3)} in CPU per request (target >= 0.95); ` +
      `${(written / 1048576).toFixed(0)} MiB of log written`,
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
