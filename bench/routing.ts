// Routing time against the number of routes: the Router and find-my-way (Fastify's router) on
// the same route set, no sockets, one lookup per iteration.
//   npm run build && node dist/bench/routing.js          (about 1 s per cell)
//   node dist/bench/routing.js 3                          (3 s per cell)
//
// The route set, for N routes: N/4 resources, each with
//   /api/r<i>                      static
//   /api/r<i>/<id>                 one parameter            find-my-way: /api/r<i>/:id
//   /api/r<i>/<id>/items/<name>    two parameters           find-my-way: /api/r<i>/:id/items/:name
//   /files<i>/<path:p>             a multi-segment tail      find-my-way: /files<i>/*
// and the requests cycle through 1,024 paths spread over all of them. The Router runs its whole
// `handle` (method flags, lookup, rule match, decoded captures in a new context, the handler);
// find-my-way runs `find` (lookup and parameters).
import { PassThrough } from "node:stream";
import FindMyWay from "find-my-way";
import { Router } from "../valum/index.js";
import { Request, Response, type Headers } from "../vsgi/index.js";

const seconds = Number(process.argv[2] ?? 1);
const sizes = [10, 100, 1_000, 10_000];

class NullResponse extends Response {
  protected sendHead(_status: number, _reason: string, _headers: Headers): void {}
  protected get sink(): never {
    throw new Error("the benchmark handlers do not write");
  }
  destroy(): void {}
}

interface Contender {
  name: string;
  build(n: number): (path: string) => unknown;
}

const resources = (n: number): number => Math.max(1, Math.floor(n / 4));

const valum: Contender = {
  name: "valum Router",
  build(n) {
    const app = new Router();
    const handler = (_req: unknown, _res: unknown, _next: unknown, ctx: unknown): boolean => ctx !== null;
    for (let i = 0; i < resources(n); i++) {
      app.get(`/api/r${i}`, handler);
      app.get(`/api/r${i}/<id>`, handler);
      app.get(`/api/r${i}/<id>/items/<name>`, handler);
      app.get(`/files${i}/<path:p>`, handler);
    }
    const req = new Request({ method: "GET", target: "/", body: new PassThrough() });
    const res = new NullResponse(req);
    return (path) => {
      req.path = path;
      return app.handle(req, res);
    };
  },
};

const findMyWay: Contender = {
  name: "find-my-way",
  build(n) {
    const router = FindMyWay();
    const handler = (): void => {};
    for (let i = 0; i < resources(n); i++) {
      router.on("GET", `/api/r${i}`, handler);
      router.on("GET", `/api/r${i}/:id`, handler);
      router.on("GET", `/api/r${i}/:id/items/:name`, handler);
      router.on("GET", `/files${i}/*`, handler);
    }
    return (path) => router.find("GET", path);
  },
};

function paths(n: number): string[] {
  const out: string[] = [];
  const count = resources(n);
  for (let k = 0; k < 1024; k++) {
    const i = (k * 7919) % count; // spread over every resource
    switch (k % 4) {
      case 0:
        out.push(`/api/r${i}`);
        break;
      case 1:
        out.push(`/api/r${i}/${k}`);
        break;
      case 2:
        out.push(`/api/r${i}/u${k}/items/n${k}`);
        break;
      default:
        out.push(`/files${i}/docs/${k}/readme.txt`);
    }
  }
  return out;
}

/** Nanoseconds per lookup, the best of three runs of `seconds / 3`. */
function measure(lookup: (path: string) => unknown, list: string[]): number {
  for (let i = 0; i < 200_000; i++) lookup(list[i & 1023]!); // warm-up
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    let iterations = 0;
    const start = process.hrtime.bigint();
    const budget = BigInt(Math.round((seconds / 3) * 1e9));
    let elapsed = 0n;
    while (elapsed < budget) {
      for (let i = 0; i < 10_000; i++) lookup(list[i & 1023]!);
      iterations += 10_000;
      elapsed = process.hrtime.bigint() - start;
    }
    best = Math.min(best, Number(elapsed) / iterations);
  }
  return best;
}

// sanity: both find every path of the set
for (const n of sizes) {
  const list = paths(n);
  const v = valum.build(n);
  const f = findMyWay.build(n);
  for (const path of list) {
    if (v(path) !== true) throw new Error(`the Router misses ${path} (${n} routes)`);
    if (f(path) === null) throw new Error(`find-my-way misses ${path} (${n} routes)`);
  }
}

const rows: string[][] = [["routes", `${valum.name} (ns)`, `${findMyWay.name} (ns)`, "ratio"]];
for (const n of sizes) {
  const list = paths(n);
  const v = measure(valum.build(n), list);
  const f = measure(findMyWay.build(n), list);
  rows.push([n.toLocaleString("en-US"), v.toFixed(0), f.toFixed(0), (v / f).toFixed(2)]);
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
console.log(`node ${process.version}, one lookup per iteration, best of 3 (${seconds} s per cell)\n`);
for (const [i, row] of rows.entries()) {
  console.log("| " + row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(" | ") + " |");
  if (i === 0) console.log("|" + widths.map((w, c) => (c === 0 ? "-".repeat(w + 1) + "-" : "-".repeat(w + 1) + ":")).join("|") + "|");
}
