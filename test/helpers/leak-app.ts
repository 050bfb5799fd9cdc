// The server of the leak test (test/helpers/leak-suite.ts), run in a child process with
// --expose-gc so that the test can see its file descriptors, heap and RSS:
//   node --expose-gc dist/test/helpers/leak-app.js http        (a vsgi backend, or node:http)
//   node dist/test/helpers/leak-app.js cgi                      (one request from the CGI environment)
//
// Its handler writes a download until the client goes away (GET /download), or writes a marker
// and then reads an upload slowly (POST /upload), and counts what it saw: handlers started,
// handlers finished, and handlers told of the abort (their request's abort signal fired, or for
// bare node:http, the request's 'close' before its end). Over IPC it answers `stats` with those
// counts and its memory after a forced GC.
import { readdirSync, readFileSync, writeSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { Server, type Request, type Response } from "../../vsgi/index.js";
import { STARTED } from "./abort-clients.js";

/** The download is this many blocks at most (the client leaves long before). */
const DOWNLOAD_BLOCKS = 1024;
const BLOCK = Buffer.alloc(64 * 1024, 0x62);

/** The counts and memory of the server process, as `stats` reports them. */
export interface LeakStats {
  started: number;
  finished: number;
  told: number;
  fds: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  rss: number;
  /** RSS before the forced collections. */
  rssBeforeGc: number;
}

const counts = { started: 0, finished: 0, told: 0 };

async function vsgiHandler(req: Request, res: Response): Promise<boolean> {
  counts.started++;
  let told = false;
  req.signal.addEventListener("abort", () => {
    if (!told) counts.told++;
    told = true;
  });
  res.headers.set("Content-Type", "application/octet-stream");
  try {
    if (req.path === "/download") {
      for (let i = 0; i < DOWNLOAD_BLOCKS && !req.aborted; i++) await res.append(BLOCK);
    } else {
      await res.append(STARTED);
      for await (const _ of req.body) await sleep(1); // a slow reader
    }
    if (!req.aborted) await res.end();
  } catch {
    // the client went away: the write or the read failed
  }
  counts.finished++;
  return true;
}

async function nodeHandler(req: IncomingMessage, res: ServerResponse): Promise<void> {
  counts.started++;
  let told = false;
  // node:http's abort signal: the response closes before it finished.
  res.once("close", () => {
    if (!res.writableFinished && !told) counts.told++;
    told = true;
  });
  res.writeHead(200, { "Content-Type": "application/octet-stream" });
  try {
    if (req.url === "/download") {
      for (let i = 0; i < DOWNLOAD_BLOCKS && !res.destroyed; i++) {
        if (!res.write(BLOCK)) await new Promise<void>((ok) => (res.once("drain", ok), res.once("close", ok)));
      }
    } else {
      res.write(STARTED);
      for await (const _ of req) await sleep(1);
    }
    if (!res.destroyed) res.end();
  } catch {
    // aborted: the read failed
  }
  counts.finished++;
}

function statusBytes(name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"));
  return Number(m?.[1] ?? NaN) * 1024;
}

/** The counts, and the memory after full collections (given time for finalizers to run). */
async function stats(): Promise<LeakStats> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run the leak app with --expose-gc");
  const rssBeforeGc = statusBytes("VmRSS");
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(20);
  }
  const m = process.memoryUsage();
  return { ...counts, fds: readdirSync("/proc/self/fd").length, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, rss: statusBytes("VmRSS"), rssBeforeGc };
}

const backend = process.argv[2] ?? "http";
if (backend === "cgi") {
  // At exit: `run` returns once the response is over, the handler may still be unwinding.
  process.on("exit", () => writeSync(2, `leak-app ${JSON.stringify(counts)}\n`));
  await Server.new("cgi", { handler: vsgiHandler }).run(process.argv);
} else {
  let port: number;
  if (backend === "node:http") {
    const server = createServer((req, res) => void nodeHandler(req, res));
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    port = (server.address() as { port: number }).port;
  } else {
    const server = await Server.load(backend, { handler: vsgiHandler });
    await server.listen({ port: 0, host: "127.0.0.1" });
    port = Number(server.uris[0]!.port);
  }
  process.on("message", (message) => {
    if (message === "stats") void stats().then((s) => process.send!({ stats: s }));
  });
  process.send!({ port });
}
