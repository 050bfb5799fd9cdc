// Reads from accepted sockets into one buffer shared by every connection, instead of a new
// allocation per read.
//
// Why: for each read, node allocates 64 KiB, shrinks it to the bytes read and wraps it in an
// ArrayBuffer that the garbage collector must track and free, then runs the chunk through the
// Readable machinery to emit 'data'. Behind nginx with FastCGI keep-conn, a request is one read:
// that was a tenth of the backend's CPU time, and it is what node:http does not pay (its parser
// reads the socket from C++). Node has the cure, the `onread` option of `new net.Socket()` (a
// reused buffer, a callback per read), but `net.Server` builds the sockets it accepts without
// it. `readIntoSharedBuffer` turns it on for an accepted socket by setting the same two fields
// the constructor would set, when this runtime has them; otherwise the caller listens to 'data'
// as before. VSGI_SHARED_READS=0 turns it off (to compare, or on a runtime where it misbehaves).
import { Socket } from "node:net";

/**
 * Called for each read with the socket as `this`: the bytes are `buffer[0, bytes)`, valid during
 * the call only (node's `onread` callback; returning nothing keeps the socket reading).
 */
export type SharedReadCallback = (this: Socket, bytes: number, buffer: Buffer) => void;

interface ReadFields {
  readonly buffer: symbol;
  readonly callback: symbol;
}

// As large as what node asks libuv to read at once.
const SHARED = Buffer.allocUnsafeSlow(64 * 1024);
let fields: ReadFields | null | undefined;

/**
 * The fields of a node `Socket` behind its `onread` option, found on a socket that has none
 * (both are null until the option sets them), or null when this runtime has no such fields.
 */
function readFields(): ReadFields | null {
  if (fields !== undefined) return fields;
  fields = null;
  if (process.env.VSGI_SHARED_READS === "0") return null;
  const probe = new Socket() as unknown as Record<symbol, unknown>;
  const symbols = Object.getOwnPropertySymbols(probe);
  const buffer = symbols.find((s) => s.description === "kBuffer");
  const callback = symbols.find((s) => s.description === "kBufferCb");
  if (buffer !== undefined && callback !== undefined && probe[buffer] === null && probe[callback] === null) fields = { buffer, callback };
  return fields;
}

type Handle = { useUserBuffer?: (buffer: Uint8Array) => void } | null | undefined;

/**
 * Makes `socket` (just accepted, nothing read yet) read into one buffer shared by every socket
 * and call `callback` for each read: what is kept of the bytes must be copied (`keepBytes`).
 * 'end', 'close', 'error', `pause()` and `resume()` work as usual; 'data' is no longer emitted.
 * Returns false, and changes nothing, when this runtime cannot: then listen to 'data'.
 *
 * @example
 * if (!readIntoSharedBuffer(socket, function (n, buffer) { parse(buffer.subarray(0, n)); })) socket.on("data", parse);
 */
export function readIntoSharedBuffer(socket: Socket, callback: SharedReadCallback): boolean {
  const found = readFields();
  if (found === null) return false;
  const handle = (socket as unknown as { _handle: Handle })._handle;
  const slots = socket as unknown as Record<symbol, unknown>;
  if (handle === null || handle === undefined || typeof handle.useUserBuffer !== "function" || slots[found.buffer] !== null) return false;
  slots[found.buffer] = SHARED;
  slots[found.callback] = callback;
  handle.useUserBuffer(SHARED);
  return true;
}

/**
 * A copy of `chunk` when it is a view of the shared buffer (it would be overwritten by the next
 * read), else `chunk` itself.
 *
 * @example body.push(keepBytes(view)); // a body chunk outlives the read that brought it
 */
export function keepBytes(chunk: Buffer): Buffer {
  return chunk.buffer === SHARED.buffer ? Buffer.from(chunk) : chunk;
}
