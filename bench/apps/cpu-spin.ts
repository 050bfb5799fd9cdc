// The scaling benchmark's ceiling (bench/scaling.ts): the same unit of work as the application,
// with no server around it, repeated for SECONDS; prints how many units it did. Run as one
// process, then as two at once: what the machine itself gives two processes of this work.
//   node dist/bench/apps/cpu-spin.js 1700 3
import { work } from "./cpu-work.js";

const iterations = Number(process.argv[2]);
const seconds = Number(process.argv[3] ?? 3);
work(iterations); // warm-up: the JIT and OpenSSL's first calls
const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
let done = 0;
while (process.hrtime.bigint() < end) {
  work(iterations);
  done++;
}
console.log(String(done));
