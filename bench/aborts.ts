// Memory after clients that go away: N downloads, each aborted by its client after 64 KiB, through
// bare node:http (the control) and each socket backend, each server in its own process (the
// leak app of the tests, test/helpers/leak-app.ts), all at once, and what the process's memory
// is before (just started, nothing served), after (idle again), and after forced GCs.
//   npm run build && node dist/bench/aborts.js                  (1000 downloads)
//   node dist/bench/aborts.js 1000 upload                       (uploads cut after 32 KiB)
//   node dist/bench/aborts.js 1000 download node:http http      (some servers only)
//   MALLOC_ARENA_MAX=1 node dist/bench/aborts.js                (the servers inherit it)
//   LEAK_FLAGS=--max-semi-space-size=1 node dist/bench/aborts.js (node flags for the servers)
// See bench/README.md, "Clients that go away".
import { abortMany, type AbortKind, type AbortProtocol } from "../test/helpers/abort-clients.js";
import { LeakApp } from "../test/helpers/leak-process.js";
import type { LeakStats } from "../test/helpers/leak-app.js";

const ALL: [string, AbortProtocol][] = [
  ["node:http", "http"],
  ["http", "http"],
  ["scgi", "scgi"],
  ["fastcgi", "fastcgi"],
  ["ajp", "ajp"],
];

const count = Number(process.argv[2] ?? 1000);
const chosen = process.argv.slice(4);
const SERVERS = chosen.length > 0 ? ALL.filter(([name]) => chosen.includes(name)) : ALL;
const kind = (process.argv[3] ?? "download") as AbortKind;
const mib = (n: number): string => (n / 1024 / 1024).toFixed(1).padStart(7);

/** Memory without the forced GC: what the process holds as the client left it. */
function line(name: string, start: LeakStats, after: LeakStats): string {
  return (
    name.padEnd(10) +
    mib(start.rssBeforeGc) + mib(after.rssBeforeGc) + mib(after.rss) + mib(after.rss - start.rssBeforeGc) +
    mib(start.heapUsed) + mib(after.heapUsed) + mib(start.heapTotal) + mib(after.heapTotal) + mib(after.external) + `${start.fds}->${after.fds}`.padStart(9)
  );
}

const flags = (process.env.LEAK_FLAGS ?? "").split(" ").filter((f) => f !== "");
const apps = SERVERS.map(([backend]) => LeakApp.start(backend, flags));
try {
  const ports = await Promise.all(apps.map((a) => a.port));
  await new Promise((r) => setTimeout(r, 500));
  const start = await Promise.all(apps.map((a) => a.stats()));
  await Promise.all(SERVERS.map(([, protocol], i) => abortMany(protocol, ports[i]!, count, 16, [kind])));
  const after = await Promise.all(apps.map((a) => a.idle(count)));
  console.log(`${count} ${kind}s aborted by the client, each server in its own process, MiB (node ${process.version}, MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? "unset"}, flags: ${flags.join(" ") || "none"})`);
  console.log("server".padEnd(10) + "  start  after  +GC   growth  heap0  heap1  total0 total1 extern    fds");
  SERVERS.forEach(([backend], i) => console.log(line(backend, start[i]!, after[i]!)));
} finally {
  await Promise.all(apps.map((a) => a.stop()));
}
