// The output side of a FastCGI connection: records to the socket, corked until the event loop's
// check phase so that what responses write in one go leaves in one writev, body bytes cut into
// records of at most 65535 bytes, and the writes that wait for 'drain'. Apart from the input
// (input.ts) and the socket's life (connection.ts) because every write of every exchange
// (exchange.ts) comes here and nothing here reads records. Plain functions taking the
// connection, whose fields they use (`corked`, `waiting`, `closed`): a response's records go
// through them with no object between the exchange and the socket.
import { writeHeader, HEADER_LENGTH, MAX_CONTENT_LENGTH } from "./records.js";
import { exchangesNow } from "./request-ids.js";
import type { Exchange } from "./exchange.js";
import type { FastcgiConnection } from "./connection.js";

// Below this size a chunk is copied behind its record header (one buffer); above, the header
// and the chunk go to the socket as two buffers of one writev.
const COPY_BELOW = 2048;

/**
 * Hands bytes to the socket, corked until the event loop's next check phase: what a response
 * writes in one go (its last body bytes, the end of STDOUT and END_REQUEST; several multiplexed
 * responses) leaves in one writev. False when the socket is full.
 *
 * @example out(connection, exchange.trailer(0)); // the end of STDOUT and END_REQUEST
 */
export function out(c: FastcgiConnection, data: Buffer): boolean {
  const socket = c.socket;
  if (c.closed || socket.writableEnded) return true;
  if (!c.corked) {
    c.corked = true;
    socket.cork();
    setImmediate(uncork, c);
  }
  return socket.write(data);
}

/**
 * One buffer that is a whole answer (head, body, end of STDOUT, END_REQUEST): written at once,
 * behind what is corked if anything is.
 *
 * @example outWhole(connection, record); // from Exchange.sendWhole
 */
export function outWhole(c: FastcgiConnection, data: Buffer): void {
  if (c.closed || c.socket.writableEnded) return;
  c.socket.write(data);
}

function uncork(c: FastcgiConnection): void {
  c.corked = false;
  if (!c.closed) c.socket.uncork();
}

/**
 * Writes `data` as records of `type`, at most 65535 bytes each; false when the socket is full.
 *
 * @example if (!writeStream(connection, STDOUT, id, chunk)) waitDrain(connection, exchange, callback);
 */
export function writeStream(c: FastcgiConnection, type: number, id: number, data: Buffer): boolean {
  let ok = true;
  const length = data.length;
  for (let offset = 0; offset < length; offset += MAX_CONTENT_LENGTH) {
    const n = Math.min(MAX_CONTENT_LENGTH, length - offset);
    if (n < COPY_BELOW) {
      const record = Buffer.allocUnsafe(HEADER_LENGTH + n);
      writeHeader(record, 0, type, id, n);
      data.copy(record, HEADER_LENGTH, offset, offset + n);
      ok = out(c, record);
    } else {
      const header = Buffer.allocUnsafe(HEADER_LENGTH);
      writeHeader(header, 0, type, id, n);
      out(c, header);
      ok = out(c, offset === 0 && n === length ? data : data.subarray(offset, offset + n));
    }
  }
  return ok;
}

/**
 * Calls `callback` once the socket drained (one waiting write per exchange); the connection
 * calls it with an error instead if the exchange ends first.
 *
 * @example waitDrain(connection, exchange, callback); // the body's write callback
 */
export function waitDrain(c: FastcgiConnection, exchange: Exchange, callback: (error?: Error | null) => void): void {
  if (exchange.drainCallback === null) c.waiting++;
  exchange.drainCallback = callback;
}

/**
 * The socket drained: the writes waiting for it go on.
 *
 * @example override onDrain(): void { drained(this); }
 */
export function drained(c: FastcgiConnection): void {
  if (c.waiting === 0) return;
  const single = c.single;
  if (single !== null) {
    const callback = single.drainCallback;
    if (callback !== null) {
      single.drainCallback = null;
      c.waiting--;
      callback();
    }
    return;
  }
  // Callbacks may end exchanges (and change the set in flight): walk a copy.
  for (const exchange of exchangesNow(c)) {
    const callback = exchange.drainCallback;
    if (callback === null) continue;
    exchange.drainCallback = null;
    c.waiting--;
    callback();
  }
}
