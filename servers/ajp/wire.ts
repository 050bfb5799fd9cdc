/**
 * AJP13 on the wire: packet framing and the body-packet decoder, and (re-exported) the
 * protocol's numbers and its error (codes.ts), the FORWARD_REQUEST decoder
 * (forward-request.ts), the percent-encoding of its path and query string (percent-encode.ts)
 * and the encoders for what the backend sends (encode.ts). Pure: bytes in, records out, no
 * sockets. Every read is bounded by the packet it comes from; malformed input throws an
 * `AjpWireError`.
 *
 * Reference: the AJPv13 protocol description of the Tomcat connectors documentation, and what
 * Apache mod_proxy_ajp and lighttpd mod_ajp13 really send (see docs/servers/ajp.md).
 */

import { AjpWireError } from "./codes.js";

export * from "./codes.js";
export * from "./encode.js";
export * from "./forward-request.js";
export * from "./percent-encode.js";

const EMPTY = Buffer.alloc(0);

/**
 * Splits a byte stream into packet payloads, incrementally: feed it whatever the socket gives,
 * take complete payloads out. A payload inside one pushed chunk is returned without a copy.
 * Holds at most one incomplete packet plus the last chunk pushed.
 *
 * @example
 * const parser = new PacketParser(MAGIC_IN, 8192);
 * parser.push(Buffer.from([0x12, 0x34, 0, 1, 10]));
 * parser.shift(); // <Buffer 0a> (a CPING)
 */
export class PacketParser {
  private readonly magic: number;
  private readonly maxPayload: number;
  private chunks: Buffer[] = [];
  private offset = 0; // into chunks[0]
  private length = 0; // bytes buffered, from offset

  /** `packetSize` bounds a whole packet, its 4-byte header included. */
  constructor(magic: number, packetSize: number) {
    this.magic = magic;
    this.maxPayload = packetSize - 4;
  }

  /** Bytes buffered but not yet returned as payloads. */
  get buffered(): number {
    return this.length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /**
   * The next complete payload, or `null` until more bytes arrive. Throws `AjpWireError` on a bad
   * magic or a length above the packet size; the parser is unusable afterwards.
   */
  shift(): Buffer | null {
    if (this.length < 4) {
      // a bad magic is reported as soon as its bytes are there
      if (this.length >= 1 && this.byteAt(0) !== this.magic >> 8) this.badMagic();
      if (this.length >= 2 && this.byteAt(1) !== (this.magic & 0xff)) this.badMagic();
      return null;
    }
    const first = this.chunks[0]!;
    let magic: number, size: number;
    if (first.length - this.offset >= 4) {
      magic = first.readUInt16BE(this.offset);
      size = first.readUInt16BE(this.offset + 2);
    } else {
      magic = (this.byteAt(0) << 8) | this.byteAt(1);
      size = (this.byteAt(2) << 8) | this.byteAt(3);
    }
    if (magic !== this.magic) this.badMagic();
    if (size > this.maxPayload) {
      throw new AjpWireError(
        `packet of ${size + 4} bytes is larger than the packet size ${this.maxPayload + 4} ` +
          `(both sides must agree: option packetSize, Apache's ProxyIOBufferSize)`,
      );
    }
    if (this.length < 4 + size) return null;
    this.skip(4);
    return this.take(size);
  }

  private badMagic(): never {
    const bytes = [this.byteAt(0), this.length > 1 ? this.byteAt(1) : -1].filter((b) => b >= 0);
    throw new AjpWireError(
      `bad packet magic ${bytes.map((b) => "0x" + b.toString(16).padStart(2, "0")).join(" ")} (expected 0x${(this.magic >> 8).toString(16)} 0x${(this.magic & 0xff).toString(16)})`,
    );
  }

  private byteAt(index: number): number {
    let i = index + this.offset;
    for (const chunk of this.chunks) {
      if (i < chunk.length) return chunk[i]!;
      i -= chunk.length;
    }
    return -1;
  }

  private skip(n: number): void {
    this.length -= n;
    while (n > 0) {
      const first = this.chunks[0]!;
      const left = first.length - this.offset;
      if (n < left) {
        this.offset += n;
        return;
      }
      n -= left;
      this.chunks.shift();
      this.offset = 0;
    }
  }

  private take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.chunks[0]!;
    if (first.length - this.offset >= n) {
      const out = first.subarray(this.offset, this.offset + n);
      this.skip(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const count = Math.min(n - filled, chunk.length - this.offset);
      chunk.copy(out, filled, this.offset, this.offset + count);
      filled += count;
      this.skip(count);
    }
    return out;
  }
}

/**
 * How body packets frame their data. The reference (Apache, mod_jk): a uint16 chunk length, then
 * the data. lighttpd 1.4 mod_ajp13 sends the data alone.
 */
export type BodyFraming = "spec" | "raw";

/**
 * The data of a body packet (front server -> backend). `spec` framing: uint16 length + data,
 * where length 0 (Apache's end of a chunked body) gives an empty buffer; an empty packet is the
 * end too. `raw` framing (lighttpd): the payload is the data.
 *
 * @example bodyData(Buffer.from([0, 3, 97, 98, 99]), "spec"); // <Buffer 61 62 63>
 */
export function bodyData(payload: Buffer, framing: BodyFraming): Buffer {
  if (payload.length === 0 || framing === "raw") return payload;
  if (payload.length < 2) throw new AjpWireError("body packet of 1 byte: too short for its chunk length");
  const n = payload.readUInt16BE(0);
  if (n > payload.length - 2) throw new AjpWireError(`body packet announces ${n} bytes but carries ${payload.length - 2}`);
  return payload.subarray(2, 2 + n);
}

/**
 * Whether a body packet is well-formed in the reference framing: its chunk length fills it.
 *
 * @example isSpecBodyPacket(Buffer.from([0, 2, 104, 105])); // true; lighttpd's "hi" is not
 */
export function isSpecBodyPacket(payload: Buffer): boolean {
  return payload.length === 0 || (payload.length >= 2 && payload.readUInt16BE(0) === payload.length - 2);
}

/**
 * Whether a packet is an end of body: empty (the reference, lighttpd) or a zero chunk length
 * (Apache's chunked end). Neither starts with a packet type, so between requests it can only be
 * the late answer to a GET_BODY_CHUNK sent ahead.
 *
 * @example isBodyEnd(Buffer.from([0, 0])); // true
 */
export function isBodyEnd(payload: Buffer): boolean {
  return payload.length === 0 || (payload.length === 2 && payload[0] === 0 && payload[1] === 0);
}
