// The unit of CPU work of the scaling benchmark, shared by the application and the calibration
// so that both measure the same thing: one SHA-256 hash fed the same 1 KiB block over and over
// (nothing can be skipped or cached: each block changes the hash's state).
//
// One hash object per call, not one per block: until 2026-12-05 each block got a hash object of
// its own (about 750 a millisecond), and their garbage kept V8's helper threads busy for 14% of
// another core (4.65 s of CPU in a 4.07 s run of `cpu-spin`; 4.08 s since). A single process
// got that core for free and two did not, so the work alone scaled by more than 2 (the ceiling
// measured 2.09 to 2.80) and a served ratio said more about the garbage collector than about
// `--forks`. The work is CPU-bound in the serving thread only now (ceiling 1.99).
import { createHash } from "node:crypto";

const BLOCK = Buffer.alloc(1024, 0x5a);

/**
 * Hashes `iterations` blocks of 1 KiB in a row; returns the digest in hex.
 *
 * @example work(1700); // about 1 ms on a 2020s core
 */
export function work(iterations: number): string {
  const hash = createHash("sha256");
  for (let i = 0; i < iterations; i++) hash.update(BLOCK);
  return hash.digest("hex");
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
