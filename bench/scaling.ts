// The scaling benchmark: a CPU-bound handler (about 1 ms of hashing per request, calibrated at
// start) served by one process, then by two (`--forks 1`), on the http backend (loaded by wrk)
// and on the fastcgi backend (behind nginx, configured by the deployment template, loaded by wrk).
// The figure is the ratio of requests per second, two processes over one (target >= 1.8).
//   npm run build && node dist/bench/scaling.js        (5 s per run, 2 rounds)
//   node dist/bench/scaling.js 10 3                    (10 s per run, 3 rounds)
//
// The serving processes and nginx are not pinned: they need every core. wrk runs on CPU 1, as
// `load` runs it for every benchmark here; it and nginx cost little next to 1 ms per request.
// Runs are interleaved round by round; the best round counts. The machine must have two cores
// free for the ratio to mean anything. Each round also prints where the CPU went: the serving
// processes' time on a CPU and runnable without one, and nginx's (`cpuOfTree`).
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { calibrate } from "./apps/cpu-work.js";
import { haveWrk, listening, load, stop } from "./wrk.js";
import { nginxConfig } from "../examples/deploy/templates.js";
import { freePort } from "../test/helpers/ports.js";

const seconds = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 2);
/** wrk's connections: enough to keep two processes busy at 1 ms per request. */
const CONNECTIONS = 16;
const APP = fileURLToPath(new URL("./apps/scaling-app.js", import.meta.url));
const SPIN = fileURLToPath(new URL("./apps/cpu-spin.js", import.meta.url));
/** Seconds of each run of the ceiling's measurement. */
const CEILING_SECONDS = 3;
const NGINX = "/usr/sbin/nginx";

type Backend = "http" | "fastcgi";
interface Run {
  backend: Backend;
  forks: 0 | 1;
}
const runs: Run[] = [
  { backend: "http", forks: 0 },
  { backend: "http", forks: 1 },
  { backend: "fastcgi", forks: 0 },
  { backend: "fastcgi", forks: 1 },
];
const key = (r: Run): string => `${r.backend} ${r.forks === 0 ? "1 process" : "--forks 1"}`;

/** nginx in the foreground with the deployment template's FastCGI configuration. */
async function startNginx(dir: string, port: number, backendPort: number): Promise<ChildProcess> {
  const runDir = join(dir, "nginx");
  mkdirSync(runDir, { recursive: true });
  const conf = join(runDir, "nginx.conf");
  const root = process.getuid?.() === 0;
  writeFileSync(
    conf,
    nginxConfig({
      host: "127.0.0.1",
      port,
      runDir,
      errorLog: "stderr",
      user: root ? "root" : undefined,
      mounts: [{ backend: "fastcgi", prefix: "", upstream: { host: "127.0.0.1", port: backendPort } }],
    }),
  );
  const child = spawn(NGINX, ["-p", runDir, "-c", conf, "-g", "daemon off;"], { stdio: ["ignore", "ignore", "inherit"] });
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode})`);
    const up = await fetch(`http://127.0.0.1:${port}/`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return child;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("nginx did not answer");
}

/** Units of work one `cpu-spin` process does in `CEILING_SECONDS`. */
async function spin(iterations: number): Promise<number> {
  const child = spawn(process.execPath, [SPIN, String(iterations), String(CEILING_SECONDS)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (out += c));
  await once(child, "exit");
  return Number(out.trim());
}

/**
 * What two processes of the work alone do against one, the best of three tries: on a VM whose
 * two vCPUs share a physical core's units or its caches, less than 2 before any server is
 * involved (1.99 on this project's development VM); above 2 if the work kept helper threads busy
 * on the other core (bench/apps/cpu-work.ts says how it once did).
 */
async function machineCeiling(iterations: number): Promise<number> {
  let best = 0;
  for (let i = 0; i < 3; i++) {
    const one = await spin(iterations);
    const [a, b] = await Promise.all([spin(iterations), spin(iterations)]);
    best = Math.max(best, (a! + b!) / one);
  }
  return best;
}

/** Nanoseconds a process tree spent on a CPU, and runnable but waiting for one. */
interface CpuTime {
  onCpu: number;
  waiting: number;
}

/**
 * The CPU time of `pid` and its descendants, every thread, from the scheduler's own accounting
 * (`/proc/<pid>/task/<tid>/schedstat`). What shows where two cores go: a serving process that
 * waits while runnable lacked a CPU, not work.
 */
function cpuOfTree(pid: number): CpuTime {
  const total = { onCpu: 0, waiting: 0 };
  const pending = [pid];
  while (pending.length > 0) {
    const p = pending.pop()!;
    let threads: string[];
    try {
      threads = readdirSync(`/proc/${p}/task`);
    } catch {
      continue; // gone
    }
    for (const t of threads) {
      try {
        const [onCpu, waiting] = readFileSync(`/proc/${p}/task/${t}/schedstat`, "utf8").split(" ").map(Number);
        total.onCpu += onCpu!;
        total.waiting += waiting!;
        const children = readFileSync(`/proc/${p}/task/${t}/children`, "utf8").trim();
        if (children !== "") pending.push(...children.split(" ").map(Number));
      } catch {
        // the thread ended meanwhile
      }
    }
  }
  return total;
}

/** `after - before` as a line: the serving processes' and the front server's CPU seconds. */
function cpuLine(app: [CpuTime, CpuTime], front: [CpuTime, CpuTime] | null): string {
  const s = (ns: number): string => (ns / 1e9).toFixed(2);
  const line = `serving on CPU ${s(app[1].onCpu - app[0].onCpu)} s, runnable but waiting ${s(app[1].waiting - app[0].waiting)} s`;
  return front === null ? line : `${line}; nginx on CPU ${s(front[1].onCpu - front[0].onCpu)} s`;
}

async function measure(run: Run, iterations: number, dir: string): Promise<{ rps: number; cpu: string }> {
  const appPort = await freePort();
  const args = [APP, run.backend, "-p", String(appPort), ...(run.forks > 0 ? ["--forks", String(run.forks)] : [])];
  const app = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WORK_ITERATIONS: String(iterations) } });
  let front: ChildProcess | null = null;
  try {
    await listening(app);
    let port = appPort;
    if (run.backend === "fastcgi") {
      port = await freePort();
      front = await startNginx(dir, port, appPort);
    }
    const url = `http://127.0.0.1:${port}/`;
    // Warm-up: the JIT, and the workers of --forks started and accepting, the main process
    // handing its sockets over under load: no request may fail there either.
    const warm = load(url, 2, CONNECTIONS);
    if (warm.errors > 0) throw new Error(`${key(run)}: ${warm.errors} errors while warming up (the hand-over): ${warm.errorKinds}`);
    const appBefore = cpuOfTree(app.pid!);
    const frontBefore = front === null ? null : cpuOfTree(front.pid!);
    const result = load(url, seconds, CONNECTIONS);
    const cpu = cpuLine([appBefore, cpuOfTree(app.pid!)], frontBefore === null ? null : [frontBefore, cpuOfTree(front!.pid!)]);
    if (result.errors > 0) throw new Error(`${key(run)}: ${result.errors} errors: ${result.errorKinds}`);
    return { rps: result.requestsPerSecond, cpu };
  } finally {
    if (front !== null) {
      front.kill("SIGTERM");
      await once(front, "exit");
    }
    await stop(app);
  }
}

if (!haveWrk()) {
  console.error("wrk is not installed (Debian package wrk)");
  process.exit(1);
}
const load1 = loadavg()[0]!;
const iterations = calibrate(1);
console.log(`node ${process.version}, ${availableParallelism()} CPUs; work: SHA-256 over ${iterations} KiB = about 1 ms here; ${seconds} s per run, ${rounds} rounds, wrk -c${CONNECTIONS}`);
const ceiling = await machineCeiling(iterations);
console.log(`the machine's own ceiling for this work: two processes do ${ceiling.toFixed(2)} times one's (no server)`);
const dir = mkdtempSync(join(tmpdir(), "valum-scaling-"));
const best = new Map<string, number>();
try {
  for (let round = 1; round <= rounds; round++) {
    for (const run of runs) {
      const { rps, cpu } = await measure(run, iterations, dir);
      best.set(key(run), Math.max(best.get(key(run)) ?? 0, rps));
      console.log(`  round ${round}: ${key(run).padEnd(20)} ${rps.toFixed(0).padStart(7)} req/s   ${cpu}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log("\nbackend   1 process   --forks 1   ratio (target >= 1.8)   of the ceiling");
for (const backend of ["http", "fastcgi"] as const) {
  const one = best.get(`${backend} 1 process`)!;
  const two = best.get(`${backend} --forks 1`)!;
  const ratio = two / one;
  console.log(
    `${backend.padEnd(9)} ${one.toFixed(0).padStart(9)}   ${two.toFixed(0).padStart(9)}   ${ratio.toFixed(2)} ${(ratio >= 1.8 ? "met" : "MISSED").padEnd(16)} ${(ratio / ceiling).toFixed(2)}`,
  );
}
// One process at 1 ms per request serves at most about 1,000 req/s: far less means the core was
// shared, and the ratio says little.
console.log(`load average before: ${load1.toFixed(2)}, after: ${loadavg()[0]!.toFixed(2)} (other processes at work make the ratio meaningless)`);
