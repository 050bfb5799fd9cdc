// The access log's cost: the Router's hello world with `--access-log FILE` against the same
// without, the two measured side by side (side-by-side.ts: both on CPU 0 at the same time, each
// loaded by its own wrk), each one's CPU time per request compared, the median of the rounds.
//   node dist/bench/access-log.js            (5 s per round, 12 rounds)
//   node dist/bench/access-log.js 5 12 json  (--log-format json)
//   node dist/bench/access-log.js instructions [json]
//                                            (what the log adds to a request in instructions,
//                                             under callgrind: instructions.ts; about 4 minutes)
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { haveWrk } from "./wrk.js";
import { median, sideBySide } from "./side-by-side.js";
import { haveValgrind, instructionsPerRequest } from "./instructions.js";

const script = fileURLToPath(new URL("./apps/valum-router.js", import.meta.url));

if (process.argv[2] === "instructions") await instructions(process.argv[3] ?? "clf");
else await rounds(Number(process.argv[2] ?? 5), Number(process.argv[3] ?? 12), process.argv[4] ?? "clf");

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

/**
 * The target's measure: the server's CPU time per request, log off against on, the two
 * servers side by side (side-by-side.ts), the median of the rounds' ratios.
 */
async function rounds(seconds: number, count: number, format: string): Promise<void> {
  if (!haveWrk()) {
    console.error("wrk is not installed (apt-get install -y wrk)");
    process.exit(1);
  }
  const logs = mkdtempSync(join(tmpdir(), "valum-bench-"));
  const file = process.env.ACCESS_LOG_FILE ?? join(logs, "access.log");
  console.log(`access log (${format}) against none, side by side on CPU 0, ${count} rounds of ${seconds} s, each server loaded by wrk -t1 -c32 on CPU 1`);
  console.log("round".padEnd(6) + "off req/s".padStart(11) + "on req/s".padStart(11) + "off µs".padStart(9) + "on µs".padStart(9) + "off/on".padStart(8));
  const off = { script, args: [] };
  const on = { script, args: ["--access-log", file, "--log-format", format] };
  const results = await sideBySide(off, on, seconds, count, 3104, (r, n) =>
    console.log(
      String(n).padEnd(6) + r.a.rps.toFixed(0).padStart(11) + r.b.rps.toFixed(0).padStart(11) + r.a.cpu.toFixed(2).padStart(9) + r.b.cpu.toFixed(2).padStart(9) +
        (r.a.cpu / r.b.cpu).toFixed(3).padStart(8),
    ),
  );
  const written = file.startsWith("/dev/") ? 0 : statSync(file).size;
  rmSync(logs, { recursive: true, force: true });
  console.log(
    `\nmedian, CPU per request without the log / with it: ${median(results.map((r) => r.a.cpu / r.b.cpu)).toFixed(3)} (target >= 0.95); ` +
      `${(written / 1048576).toFixed(0)} MiB of log written`,
  );
}
