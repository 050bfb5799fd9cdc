// Clients that go away in the middle of a transfer, each speaking its backend's protocol on a
// raw socket as a front server does: the request, part of an upload (or none for a download),
// then the socket destroyed once the handler is known to be running: the leak app's marker
// received (upload), or 64 KiB of the download received. FastCGI's `abort-record` variant
// sends ABORT_REQUEST on a kept connection instead (HAProxy), and waits for END_REQUEST.
import { connect, type Socket } from "node:net";
import { ABORT_REQUEST, beginRequestRecord, encodePairs, encodeRecord, END_REQUEST, KEEP_CONN, PARAMS, RESPONDER, STDIN } from "../../servers/fastcgi/records.js";
import { encodeHead } from "../../servers/scgi/wire.js";
import { bodyPacket, forwardRequest } from "./ajp-client.js";
import { cgiVariables } from "./cgi-client.js";

/** The protocols the leak test speaks; `fastcgi-abort` ends with ABORT_REQUEST, not a close. */
export type AbortProtocol = "http" | "scgi" | "fastcgi" | "fastcgi-abort" | "ajp";
/** Where the client leaves: in the middle of its upload, or of the download. */
export type AbortKind = "upload" | "download";

/** What the leak app writes before it reads an upload: the client waits for it, then leaves. */
export const STARTED = "leak-app-started";
/** The upload's declared length; only `SENT` bytes of it are sent. */
const DECLARED = 1024 * 1024;
const SENT = Buffer.alloc(32 * 1024, 0x61);
/** How much of the download the client reads before it leaves. */
export const READ_BEFORE_LEAVING = 64 * 1024;
const MARKER = Buffer.from(STARTED);

function target(kind: AbortKind): { method: string; path: string } {
  return kind === "upload" ? { method: "POST", path: "/upload" } : { method: "GET", path: "/download" };
}

/** The bytes a front server sends for the request (and the start of the upload). */
function requestBytes(protocol: AbortProtocol, kind: AbortKind): Buffer[] {
  const { method, path } = target(kind);
  const length = kind === "upload" ? DECLARED : null;
  const headers: [string, string][] = [["Host", "127.0.0.1"]];
  if (length !== null) headers.push(["Content-Type", "application/octet-stream"], ["Content-Length", String(length)]);
  switch (protocol) {
    case "http":
      return [Buffer.from(`${method} ${path} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`), ...(length !== null ? [SENT] : [])];
    case "scgi": {
      const vars = cgiVariables({ method, target: path, headers }, null);
      return [encodeHead(vars, length ?? 0), ...(length !== null ? [SENT] : [])];
    }
    case "fastcgi":
    case "fastcgi-abort": {
      const vars = cgiVariables({ method, target: path, headers }, length);
      const flags = protocol === "fastcgi-abort" ? KEEP_CONN : 0;
      const out = [beginRequestRecord(1, RESPONDER, flags), encodeRecord(PARAMS, 1, encodePairs(vars)), encodeRecord(PARAMS, 1)];
      if (length !== null) out.push(encodeRecord(STDIN, 1, SENT));
      else out.push(encodeRecord(STDIN, 1));
      return out;
    }
    case "ajp":
      return [forwardRequest({ method, uri: path, headers }), ...(length !== null ? [bodyPacket(SENT.subarray(0, 8186))] : [])];
  }
}

/** Finds FastCGI END_REQUEST records in a byte stream that arrives in pieces. */
class EndRequestFinder {
  private pending = Buffer.alloc(0);

  /** Whether the records so far include END_REQUEST for request 1. */
  push(chunk: Buffer): boolean {
    const bytes = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    for (;;) {
      if (at + 8 > bytes.length) break;
      const length = 8 + bytes.readUInt16BE(at + 4) + bytes[at + 6]!;
      if (at + length > bytes.length) break;
      if (bytes[at + 1] === END_REQUEST && bytes.readUInt16BE(at + 2) === 1) return true;
      at += length;
    }
    this.pending = Buffer.from(bytes.subarray(at));
    return false;
  }
}

/**
 * One request whose client goes away mid-transfer. Resolves once the client's socket is closed;
 * rejects when the server closes first or fails to answer in 30 s (the handler never ran).
 *
 * @example await abortedRequest("scgi", port, "download");
 */
export function abortedRequest(protocol: AbortProtocol, port: number, kind: AbortKind): Promise<void> {
  return new Promise((ok, fail) => {
    const socket: Socket = connect(port, "127.0.0.1");
    let length = 0;
    let left = false;
    let aborting = false;
    const timer = setTimeout(() => finish(new Error(`${protocol} ${kind}: no answer in 30 s (${length} bytes received)`)), 30000);
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      if (left) return;
      left = true;
      socket.destroy();
      if (error !== undefined) fail(error);
      else ok();
    };
    socket.on("error", (error) => finish(error));
    socket.on("close", () => finish(left ? undefined : new Error(`${protocol} ${kind}: the server closed first (${length} bytes received)`)));
    socket.on("connect", () => {
      for (const bytes of requestBytes(protocol, kind)) socket.write(bytes);
    });
    const records = protocol === "fastcgi-abort" ? new EndRequestFinder() : null;
    let tail = Buffer.alloc(0); // the end of what came, where the upload's marker may begin
    socket.on("data", (chunk: Buffer) => {
      if (left) return;
      length += chunk.length;
      const ended = records?.push(chunk) ?? false;
      if (aborting) {
        if (ended) finish();
        return;
      }
      let running = length >= READ_BEFORE_LEAVING;
      if (kind === "upload") {
        const seen = Buffer.concat([tail, chunk]);
        running = seen.includes(MARKER);
        tail = seen.subarray(Math.max(0, seen.length - MARKER.length));
      }
      if (!running) return;
      if (protocol !== "fastcgi-abort") return finish();
      // HAProxy's way: ABORT_REQUEST on the kept connection; END_REQUEST answers it.
      aborting = true;
      socket.write(encodeRecord(ABORT_REQUEST, 1));
    });
  });
}

/**
 * `count` aborted requests, `concurrency` at a time, of the `kinds` in turn (downloads and
 * uploads alternating by default).
 *
 * @example await abortMany("http", port, 1000, 16);
 */
export async function abortMany(protocol: AbortProtocol, port: number, count: number, concurrency: number, kinds: readonly AbortKind[] = ["download", "upload"]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await abortedRequest(protocol, port, kinds[i % kinds.length]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
