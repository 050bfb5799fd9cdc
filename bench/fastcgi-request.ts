// Micro-benchmark of the FastCGI backend's own work for one request, without the sockets: an
// nginx-like request (BEGIN_REQUEST with keep-conn, PARAMS, STDIN end) fed to a connection as
// one chunk, the Router's hello world answering, the response records written to a stand-in
// socket that only counts them. What this measures is what JavaScript optimizations can save;
// the gateway benchmark measures the rest (reads, writes, the event loop).
//   npm run build && taskset -c 1 node dist/bench/fastcgi-request.js
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { Server } from "../vsgi/index.js";
import { FastcgiConnection, type ConnectionHost } from "../servers/fastcgi/connection.js";
import { beginRequestRecord, encodePairs, encodeRecord, PARAMS, STDIN, KEEP_CONN, RESPONDER } from "../servers/fastcgi/records.js";
import { nginxParams } from "../test/helpers/fastcgi-client.js";
import { handler } from "./apps/router-app.js";

/** What a connection uses of its socket, writes counted and dropped. */
class CountingSocket extends EventEmitter {
  writableEnded = false;
  writableLength = 0;
  destroyed = false;
  remoteAddress = "127.0.0.1";
  remotePort = 40000;
  writes = 0;
  write(): boolean {
    this.writes++;
    return true;
  }
  cork(): void {}
  uncork(): void {}
  pause(): void {}
  resume(): void {}
  isPaused(): boolean {
    return false;
  }
  end(): void {}
  destroy(): void {}
}

const server = (await Server.load("fastcgi", { handler })) as unknown as ConnectionHost;
const socket = new CountingSocket();
new FastcgiConnection(server, socket as unknown as Socket);
const params = encodePairs(nginxParams("GET", "/", [["Host", "localhost:8080"], ["User-Agent", "wrk"], ["Accept", "*/*"]]));
const request = Buffer.concat([beginRequestRecord(1, RESPONDER, KEEP_CONN), encodeRecord(PARAMS, 1, params), encodeRecord(PARAMS, 1), encodeRecord(STDIN, 1)]);
// Reads land in one buffer that every read reuses (vsgi/shared-reads.ts): a view of it each time.
const readBuffer = Buffer.alloc(64 * 1024);
request.copy(readBuffer);

const n = Number(process.argv[2] ?? 200000);
let best = Infinity;
for (let round = 0; round < 5; round++) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) socket.emit("data", readBuffer.subarray(0, request.length));
  await new Promise((resolve) => setImmediate(resolve));
  const ns = Number(process.hrtime.bigint() - start) / n;
  if (round >= 2) best = Math.min(best, ns);
}
if (socket.writes !== 5 * n) throw new Error(`expected one write per request, got ${socket.writes} for ${5 * n}`);
console.log(`one FastCGI request (${request.length} bytes in, ${nginxParams("GET", "/").length} variables) through the backend, no sockets: ${best.toFixed(0)} ns`);
