// The hello-world benchmark: each server alone on CPU 0, wrk on CPU 1, one after the other in
// one run, reported as ratios to bare node:http measured in the same run; the Router again with
// the access log on (to a file in a temporary folder), reported against the Router without it.
//   npm run bench                 (5 s per server, 2 rounds)
//   node dist/bench/run.js 10 3   (10 s per server, 3 rounds)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { haveWrk, measureServer, type LoadResult } from "./wrk.js";

const seconds = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 2);
const port = 3103;
const app = (name: string): string => fileURLToPath(new URL(`./apps/${name}.js`, import.meta.url));

const logs = mkdtempSync(join(tmpdir(), "valum-bench-"));
const contenders: { name: string; script: string; args?: string[] }[] = [
  { name: "node:http", script: app("node-http") },
  { name: "fastify", script: app("fastify") },
  { name: "vsgi handler", script: app("vsgi-handler") },
  { name: "valum router", script: app("valum-router") },
  { name: "router+log", script: app("valum-router"), args: ["--access-log", join(logs, "access.log")] },
];

if (!haveWrk()) {
  console.error("wrk is not installed (apt-get install -y wrk)");
  process.exit(1);
}

const results = new Map<string, LoadResult[]>();
/** Server CPU microseconds per request, each round. */
const cpu = new Map<string, number[]>();
for (let round = 0; round < rounds; round++) {
  for (const { name, script, args = [] } of contenders) {
    const result = await measureServer(script, port, args, seconds);
    results.set(name, [...(results.get(name) ?? []), result]);
    cpu.set(name, [...(cpu.get(name) ?? []), result.cpuPerRequest]);
  }
}
rmSync(logs, { recursive: true, force: true });

const best = (name: string): number => Math.max(...(results.get(name) ?? []).map((r) => r.requestsPerSecond));
const baseline = best("node:http");
console.log(`hello world, ${seconds} s x ${rounds} rounds, best round per server, wrk -t1 -c64 on CPU 1, server on CPU 0`);
const leastCpu = (name: string): number => Math.min(...(cpu.get(name) ?? []));
console.log("server".padEnd(16) + "req/s".padStart(12) + "  ratio to node:http".padStart(22) + "  errors" + "  CPU µs/req".padStart(13));
for (const { name } of contenders) {
  const errors = (results.get(name) ?? []).reduce((a, r) => a + r.errors, 0);
  console.log(
    name.padEnd(16) + best(name).toFixed(0).padStart(12) + (best(name) / baseline).toFixed(3).padStart(22) + String(errors).padStart(8) +
      leastCpu(name).toFixed(2).padStart(13),
  );
}
const router = best("valum router");
console.log(`\nrouter / node:http = ${(router / baseline).toFixed(3)} (target >= 0.9); router / fastify = ${(router / best("fastify")).toFixed(3)} (target >= 1.0)`);
console.log(
  `router with the access log / without = ${(best("router+log") / router).toFixed(3)} in req/s, ` +
    `${(leastCpu("valum router") / leastCpu("router+log")).toFixed(3)} in CPU per request (target >= 0.95)`,
);
