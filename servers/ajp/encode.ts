// What the backend sends to the front server, as bytes: SEND_HEADERS, SEND_BODY_CHUNK (framed
// whole or as pieces around the caller's own buffers), END_RESPONSE, GET_BODY_CHUNK, CPONG.
// Pure: no sockets.
import {
  SEND_BODY_CHUNK,
  SEND_HEADERS,
  END_RESPONSE,
  GET_BODY_CHUNK,
  CPONG,
  RESPONSE_HEADER_CODES,
} from "./codes.js";

function packet(type: number, bodyLength: number): Buffer {
  const out = Buffer.allocUnsafe(5 + bodyLength);
  out[0] = 0x41;
  out[1] = 0x42;
  out.writeUInt16BE(1 + bodyLength, 2);
  out[4] = type;
  return out;
}

/** CPONG, the answer to CPING: `41 42 00 01 09`. */
export const CPONG_PACKET: Buffer = Buffer.from([0x41, 0x42, 0x00, 0x01, CPONG]);
/** END_RESPONSE with reuse = 1: the connection takes another request. */
export const END_REUSE: Buffer = Buffer.from([0x41, 0x42, 0x00, 0x02, END_RESPONSE, 1]);
/** END_RESPONSE with reuse = 0: the backend closes the connection. */
export const END_CLOSE: Buffer = Buffer.from([0x41, 0x42, 0x00, 0x02, END_RESPONSE, 0]);

/**
 * GET_BODY_CHUNK asking for up to `size` bytes.
 *
 * @example getBodyChunk(8186); // <Buffer 41 42 00 03 06 1f fa>
 */
export function getBodyChunk(size: number): Buffer {
  const out = packet(GET_BODY_CHUNK, 2);
  out.writeUInt16BE(size, 5);
  return out;
}

// Hop-by-hop headers (the front server frames the body and owns its connection) and the CGI
// Status header, which would contradict the status field.
const DROPPED_RESPONSE_HEADERS = new Set(["transfer-encoding", "connection", "keep-alive", "status"]);

/** A response header list as serializers read it (vsgi `Headers` has this method). */
export interface HeaderSource {
  forEachValue(fn: (name: string, value: string) => void): void;
}

/**
 * SEND_HEADERS: status, reason, then the headers, those of the code table coded (0xA001..0xA00B),
 * the others by name; hop-by-hop headers left out. Returns `null` when it does not fit one packet
 * of `packetSize` bytes (AJP cannot split headers).
 *
 * @example encodeSendHeaders(200, "OK", new Headers([["Content-Type", "text/plain"]]), 8192);
 */
export function encodeSendHeaders(status: number, reason: string, headers: HeaderSource, packetSize: number): Buffer | null {
  const names: (string | number)[] = [];
  const values: string[] = [];
  // 5 header bytes + status(2) + reason(2 + n + 1) + count(2)
  let size = 5 + 2 + 3 + reason.length + 2;
  headers.forEachValue((name, value) => {
    const lower = name.toLowerCase();
    if (DROPPED_RESPONSE_HEADERS.has(lower)) return;
    const code = RESPONSE_HEADER_CODES.get(lower);
    if (code !== undefined) {
      names.push(code);
      size += 2;
    } else {
      names.push(name);
      size += 3 + name.length;
    }
    values.push(value);
    size += 3 + value.length;
  });
  if (size > packetSize) return null;
  const out = packet(SEND_HEADERS, size - 5);
  let pos = 5;
  out.writeUInt16BE(status, pos);
  pos = writeString(out, pos + 2, reason);
  out.writeUInt16BE(names.length, pos);
  pos += 2;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (typeof name === "number") {
      out.writeUInt16BE(name, pos);
      pos += 2;
    } else {
      pos = writeString(out, pos, name);
    }
    pos = writeString(out, pos, values[i]!);
  }
  return out;
}

function writeString(out: Buffer, pos: number, text: string): number {
  out.writeUInt16BE(text.length, pos);
  pos += 2;
  pos += out.write(text, pos, text.length, "latin1");
  out[pos] = 0;
  return pos + 1;
}

/** The 7 bytes that start a SEND_BODY_CHUNK packet of `n` data bytes, at `at` of `into`. */
function bodyChunkHeader(into: Buffer, at: number, n: number): void {
  into[at] = 0x41;
  into[at + 1] = 0x42;
  into.writeUInt16BE(n + 4, at + 2);
  into[at + 4] = SEND_BODY_CHUNK;
  into.writeUInt16BE(n, at + 5);
}

/**
 * The bytes of SEND_BODY_CHUNK packets carrying `data`: each packet is `AB`, length, type 3,
 * uint16 chunk length, at most `packetSize - 8` bytes of data, and a trailing 0x00 (Apache
 * rejects a chunk without it). All packets go in one buffer, for one socket write.
 *
 * @example encodeBodyChunks([Buffer.from("hi")], 2, 8192); // <Buffer 41 42 00 06 03 00 02 68 69 00>
 */
export function encodeBodyChunks(chunks: readonly Uint8Array[], total: number, packetSize: number): Buffer {
  const max = packetSize - 8;
  const packets = Math.ceil(total / max);
  const out = Buffer.allocUnsafe(total + packets * 8);
  let pos = 0;
  let left = 0; // room left in the current packet
  for (const chunk of chunks) {
    let offset = 0;
    while (offset < chunk.length) {
      if (left === 0) {
        if (pos > 0) out[pos++] = 0;
        const n = Math.min(max, total);
        total -= n;
        bodyChunkHeader(out, pos, n);
        pos += 7;
        left = n;
      }
      const count = Math.min(left, chunk.length - offset);
      out.set(count === chunk.length ? chunk : chunk.subarray(offset, offset + count), pos);
      pos += count;
      offset += count;
      left -= count;
    }
  }
  if (pos > 0) out[pos++] = 0;
  return out;
}

/**
 * `encodeBodyChunks` without copying the data: the framing (each packet's header, its trailing
 * 0x00 joined to the next header) in one small buffer, handed out as slices between views of
 * `chunks`. Written in order (corked: one writev), they are the same bytes. For large blocks:
 * a copy of every block the application streams was most of the memory an AJP download grew.
 *
 * @example Buffer.concat(bodyChunkPieces([Buffer.from("hi")], 2, 8192)); // <Buffer 41 42 00 06 03 00 02 68 69 00>
 */
export function bodyChunkPieces(chunks: readonly Uint8Array[], total: number, packetSize: number): Uint8Array[] {
  const max = packetSize - 8;
  const packets = Math.ceil(total / max);
  // Packet k's header is frames[8k, 8k + 7), its trailing 0x00 frames[8k + 7].
  const frames = Buffer.allocUnsafe(packets * 8);
  const pieces: Uint8Array[] = [];
  let packet = 0;
  let left = 0; // room left in the current packet
  for (const chunk of chunks) {
    let offset = 0;
    while (offset < chunk.length) {
      if (left === 0) {
        const n = Math.min(max, total);
        total -= n;
        const at = packet * 8;
        bodyChunkHeader(frames, at, n);
        frames[at + 7] = 0;
        pieces.push(packet === 0 ? frames.subarray(0, 7) : frames.subarray(at - 1, at + 7));
        packet++;
        left = n;
      }
      const count = Math.min(left, chunk.length - offset);
      pieces.push(offset === 0 && count === chunk.length ? chunk : chunk.subarray(offset, offset + count));
      offset += count;
      left -= count;
    }
  }
  if (packets > 0) pieces.push(frames.subarray(packets * 8 - 1));
  return pieces;
}
