// An application that exercises what a gateway must carry: statuses, several cookies, streamed
// uploads and downloads, HEAD, bodiless statuses, redirects, queries, encoded paths, clients
// that go away. The conformance suite (test/servers/) and the interop suite (test/interop/) run
// it on every backend and behind every front server.
import { createHash } from "node:crypto";
import type { Request, Response } from "valum/vsgi";
import { createContext, serverSentEvents } from "valum";

/** The byte at offset `i` of a download: a pattern a client can check without storing it. */
export function patternByte(i: number): number {
  return i % 251;
}

const BLOCK = Buffer.alloc(64 * 1024);
for (let i = 0; i < BLOCK.length; i++) BLOCK[i] = patternByte(i);

/** Counts what the app saw, for tests that run it in the same process. */
export const seen = { aborted: 0, uploads: 0, eventStreams: 0, eventStreamsLeft: 0 };

function json(res: Response, value: unknown, status = 200): Promise<boolean> {
  res.status = status;
  res.headers.set("Content-Type", "application/json");
  return res.expandUtf8(JSON.stringify(value));
}

async function upload(req: Request, res: Response): Promise<boolean> {
  const hash = createHash("sha256");
  let length = 0;
  for await (const chunk of req.body) {
    hash.update(chunk as Buffer);
    length += (chunk as Buffer).length;
  }
  seen.uploads++;
  return json(res, { length, sha256: hash.digest("hex") });
}

async function download(req: Request, res: Response): Promise<boolean> {
  const size = Number(req.lookupQuery("size") ?? BLOCK.length);
  res.headers.set("Content-Type", "application/octet-stream");
  if (req.lookupQuery("length") !== null) res.headers.set("Content-Length", size);
  // 251 does not divide 65536: each block starts where the pattern left off.
  for (let offset = 0; offset < size; ) {
    const start = offset % 251;
    const n = Math.min(BLOCK.length - 251, size - offset);
    await res.append(BLOCK.subarray(start, start + n));
    offset += n;
  }
  return res.end();
}

async function slow(req: Request, res: Response): Promise<boolean> {
  res.headers.set("Content-Type", "application/octet-stream");
  try {
    for (let i = 0; i < 4096 && !req.aborted; i++) await res.append(BLOCK);
  } catch {
    // the client went away: the write failed
  }
  if (req.aborted || res.body.destroyed) {
    seen.aborted++;
    return true;
  }
  return res.end();
}

/** Permits to send the next event, per stream name: `/sse-next` gives them, `/sse` takes them. */
interface Gate {
  permits: number;
  end: boolean;
  wake: (() => void) | null;
}
const gates = new Map<string, Gate>();

function gate(name: string): Gate {
  let g = gates.get(name);
  if (g === undefined) gates.set(name, (g = { permits: 0, end: false, wake: null }));
  return g;
}

/**
 * `/sse?stream=NAME`: Server-Sent Events, the first at once, each next one only when the client
 * asks for it with `/sse-next?stream=NAME` (`&end=1` ends the stream): a client can tell events
 * that arrive one by one from events held back by a buffer. Ids continue from Last-Event-ID.
 */
const events = serverSentEvents(async (req, _res, _next, _ctx, send) => {
  seen.eventStreams++;
  const name = req.lookupQuery("stream") ?? "";
  const g = gate(name);
  const wake = (): void => g.wake?.();
  send.signal.addEventListener("abort", wake);
  try {
    let n = Number(send.lastEventId ?? 0) || 0;
    for (;;) {
      n++;
      if (!(await send({ event: "tick", id: String(n), data: `event ${n}\nline two` }))) break;
      while (g.permits === 0 && !g.end && !send.signal.aborted) await new Promise<void>((ok) => (g.wake = ok));
      if (g.end || send.signal.aborted) break;
      g.permits--;
    }
  } finally {
    send.signal.removeEventListener("abort", wake);
    gates.delete(name);
    if (send.signal.aborted) seen.eventStreamsLeft++;
  }
  return true;
});

function notHandled(): boolean {
  return false;
}

/**
 * The echo application, as a plain VSGI handler.
 *
 * @example await Server.new("scgi", { handler }).run(process.argv);
 */
export async function handler(req: Request, res: Response): Promise<boolean> {
  const path = req.path;
  // The application's root: what a request for the mount point must reach (test/interop).
  if (path === "/") return json(res, { root: true, scriptName: req.scriptName, query: req.query });
  // Answered while the process can serve: a balancer's health check (examples/deploy/*-balance.*).
  if (path === "/health") return res.expandUtf8("ok");
  if (path === "/hello") {
    res.headers.set("Content-Type", "text/plain");
    return res.expandUtf8("hello");
  }
  if (path.startsWith("/status/")) {
    const code = Number(path.slice(8));
    res.status = code;
    if (code >= 300 && code < 400 || code === 201) res.headers.set("Location", req.scriptName + "/hello");
    res.headers.set("Content-Type", "text/plain");
    return res.expandUtf8(`status ${code}`);
  }
  if (path === "/redirect") {
    res.status = 302;
    res.headers.set("Location", req.scriptName + "/hello");
    return res.end();
  }
  if (path === "/cookies") {
    res.setCookie("a", "1", { path: "/" });
    res.setCookie("b", "2", { path: "/", httpOnly: true });
    return json(res, Object.fromEntries(req.cookies));
  }
  if (path === "/query") return json(res, req.query);
  if (path === "/request") {
    return json(res, {
      method: req.method,
      path: req.path,
      scriptName: req.scriptName,
      uri: req.uri.href,
      headers: Object.fromEntries(req.headers.entries()),
      isCgi: req.isCgi,
      gatewayInterface: req.gatewayInterface,
    });
  }
  if (path.startsWith("/echo-path/")) return json(res, { path, scriptName: req.scriptName });
  if (path === "/upload" && (req.method === "POST" || req.method === "PUT")) return upload(req, res);
  if (path === "/download") return download(req, res);
  if (path === "/slow") return slow(req, res);
  // Counters are per process: the pid tells which one answered (with workers, any of them).
  if (path === "/seen") return json(res, { ...seen, pid: process.pid });
  if (path === "/sse") return events(req, res, notHandled, createContext());
  if (path === "/sse-next") {
    const g = gate(req.lookupQuery("stream") ?? "");
    if (req.lookupQuery("end") !== null) g.end = true;
    else g.permits++;
    g.wake?.();
    return json(res, { permits: g.permits, end: g.end });
  }
  return false;
}
