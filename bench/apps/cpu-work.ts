// The unit of CPU work of the scaling benchmark, shared by the application and the calibration
// so that both measure the same thing: SHA-256 hashes of a 1 KiB buffer, each fed the previous
// digest (nothing can be skipped or cached).
import { createHash } from "node:crypto";

const BLOCK = Buffer.alloc(1024, 0x5a);

/**
 * Hashes `iterations` times; returns the last digest in hex.
 *
 * @example work(400); // about 1 ms on a 2020s core
 */
export function work(iterations: number): string {
  let digest = Buffer.alloc(32);
  for (let i = 0; i < iterations; i++) digest = createHash("sha256").update(digest).update(BLOCK).digest();
  return digest.toString("hex");
}

/**
 * How many iterations of `work` take `ms` milliseconds on this machine: the best of a few timed
 * runs (the least disturbed by other processes).
 *
 * @example const iterations = calibrate(1);
 */
export function calibrate(ms: number): number {
  work(2000); // warm-up: the JIT and OpenSSL's first calls
  let best = Infinity;
  const probe = 2000;
  for (let i = 0; i < 5; i++) {
    const start = process.hrtime.bigint();
    work(probe);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
  }
  return Math.max(1, Math.round((probe * ms) / best));
}
