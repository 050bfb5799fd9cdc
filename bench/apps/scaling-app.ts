// The scaling benchmark's application (bench/scaling.ts): a CPU-bound handler that hashes
// WORK_ITERATIONS blocks of 1 KiB (about 1 ms, calibrated by the benchmark) and answers the
// digest, on any backend, with run(argv)'s flags after the backend's name:
//   WORK_ITERATIONS=1700 node dist/bench/apps/scaling-app.js http -p 3003 --forks 1
import { Server, type Request, type Response } from "valum/vsgi";
import { work } from "./cpu-work.js";

const iterations = Number(process.env.WORK_ITERATIONS ?? 0);
if (!Number.isInteger(iterations) || iterations <= 0) throw new Error("WORK_ITERATIONS must be a positive integer");

function handler(req: Request, res: Response): Promise<boolean> {
  return res.expandUtf8(work(iterations));
}

const [backend = "http", ...rest] = process.argv.slice(2);
await Server.new(backend, { handler }).run([process.argv[0]!, process.argv[1]!, ...rest]);
