// Static files: serveFromPath against @fastify/static and express.static, a 1 KiB and a 1 MiB
// file, each server alone on CPU 0 and wrk on CPU 1, one after the other, in one run; reported
// as ratios to the peers measured in the same run.
//   npm run build && node dist/bench/static.js          (5 s per server and file, 2 rounds)
//   node dist/bench/static.js 8 3                        (8 s, 3 rounds)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { haveWrk, load, listening, startNode, stop, type LoadResult } from "./wrk.js";

const seconds = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 2);
const port = 3104;
const app = (name: string): string => fileURLToPath(new URL(`./apps/${name}.js`, import.meta.url));

const contenders = [
  { name: "valum serveFromPath", script: app("static-valum") },
  { name: "@fastify/static", script: app("static-fastify") },
  { name: "express.static", script: app("static-express") },
];
const files = [
  { name: "1 KiB", file: "small.bin", size: 1024 },
  { name: "1 MiB", file: "large.bin", size: 1024 * 1024 },
];

if (!haveWrk()) {
  console.error("wrk is not installed (apt-get install -y wrk)");
  process.exit(1);
}

const root = mkdtempSync(join(tmpdir(), "valum-static-bench-"));
for (const { file, size } of files) writeFileSync(join(root, file), randomBytes(size));

const results = new Map<string, LoadResult[]>();
try {
  for (let round = 0; round < rounds; round++) {
    for (const { name, script } of contenders) {
      const child = startNode(script, [String(port), root]);
      try {
        await listening(child);
        for (const { name: size, file, size: bytes } of files) {
          const url = `http://127.0.0.1:${port}/static/${file}`;
          // the same answer from every server, or the figures compare nothing
          const check = await fetch(url);
          const body = await check.arrayBuffer();
          if (check.status !== 200 || body.byteLength !== bytes) throw new Error(`${name}: ${url} answered ${check.status} with ${body.byteLength} bytes`);
          load(url, 1); // warm-up
          const result = load(url, seconds);
          const key = `${name}|${size}`;
          results.set(key, [...(results.get(key) ?? []), result]);
        }
      } finally {
        await stop(child);
      }
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

const best = (key: string): number => Math.max(...(results.get(key) ?? []).map((r) => r.requestsPerSecond));
console.log(`static files, ${seconds} s x ${rounds} rounds, best round per server, wrk -t1 -c64 on CPU 1, server on CPU 0`);
for (const { name: size } of files) {
  console.log(`\n${size}`);
  console.log("server".padEnd(22) + "req/s".padStart(10) + "  errors");
  for (const { name } of contenders) {
    const key = `${name}|${size}`;
    const errors = (results.get(key) ?? []).reduce((a, r) => a + r.errors, 0);
    console.log(name.padEnd(22) + best(key).toFixed(0).padStart(10) + String(errors).padStart(8));
  }
  const mine = best(`valum serveFromPath|${size}`);
  console.log(
    `serveFromPath / @fastify/static = ${(mine / best(`@fastify/static|${size}`)).toFixed(3)}; ` +
      `serveFromPath / express.static = ${(mine / best(`express.static|${size}`)).toFixed(3)} (target >= 1.0 for both)`,
  );
}
