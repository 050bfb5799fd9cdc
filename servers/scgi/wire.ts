// The SCGI request head, as bytes: `<length>:<name NUL value NUL ...>,` followed by the body.
// Pure: bytes in, variables out; no sockets. Incremental (fed any split of the bytes, down to one
// byte at a time) and bounded (length digits, header block size).
import { isAscii } from "node:buffer";
import { CgiVariables, decodeVariable, VsgiError, ERR_BAD_REQUEST } from "../../vsgi/index.js";
import { NameSequence } from "../../vsgi/variable-names.js";

/** node's Buffer method behind `toString("latin1", start, end)`, without its argument checks. */
interface RawSlices {
  latin1Slice(start: number, end: number): string;
}

/** The default bound of the header block (the netstring's payload), in bytes. */
export const DEFAULT_MAX_HEADER_SIZE = 64 * 1024;

/**
 * A malformed or oversized SCGI head; `status` is what the backend answers (400 or 431).
 *
 * @example
 * try { parser.feed(chunk); } catch (err) { if (err instanceof ScgiProtocolError) refuse(err.status, err.message); }
 */
export class ScgiProtocolError extends VsgiError {
  constructor(message: string, status = 400) {
    super(ERR_BAD_REQUEST, message, { status });
    this.name = "ScgiProtocolError";
  }
}

/** A parsed SCGI head: the CGI variables and the body length they announce. */
export interface ScgiHead {
  /** The variables, in the order sent (a repeated one is combined when read). */
  variables: CgiVariables;
  /** CONTENT_LENGTH: exactly this many body bytes follow the head. */
  contentLength: number;
}

const LENGTH = 0;
const HEADERS = 1;
const COMMA = 2;
const DONE = 3;

const COLON = 0x3a;
const COMMA_BYTE = 0x2c;

const NAMES = new NameSequence();

// The next NUL at or after `i`; the block ends with one, so the scan stops. Fields are short: a
// loop here beats a call into node's indexOf per field.
function nextNul(bytes: Uint8Array, i: number): number {
  while (bytes[i] !== 0) i++;
  return i;
}

/**
 * Decodes the header block (the netstring's payload) into CGI variables and checks what SCGI
 * requires: NUL-terminated fields in pairs, non-empty names, CONTENT_LENGTH first and made of
 * digits, `SCGI` equal to `1`. Values are decoded as every backend decodes them
 * (`decodeVariable`): `HTTP_*` byte for byte, as node:http reads headers, the others as UTF-8.
 *
 * @example
 * parseHeaderBlock(Buffer.from("CONTENT_LENGTH\0" + "0\0SCGI\0" + "1\0")).contentLength; // 0
 */
export function parseHeaderBlock(block: Uint8Array): ScgiHead {
  const length = block.length;
  if (length === 0) throw new ScgiProtocolError("empty SCGI header block: CONTENT_LENGTH and SCGI are required");
  if (block[length - 1] !== 0) throw new ScgiProtocolError("SCGI header block does not end with a NUL byte");
  const buffer = (Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, length)) as Buffer & RawSlices;
  // The block is nearly always ASCII: then one string for all of it, and values are slices of
  // it, instead of a call into node's decoders per value; names are interned once for all.
  const text = isAscii(buffer) ? buffer.latin1Slice(0, length) : null;
  const list: string[] = [];
  let declared = "";
  let first = true;
  let index = 0;
  for (let start = 0; start < length; ) {
    const nameEnd = nextNul(buffer, start);
    if (nameEnd === start) throw new ScgiProtocolError("SCGI header block has an empty variable name");
    const valueStart = nameEnd + 1;
    if (valueStart >= length) {
      throw new ScgiProtocolError(`SCGI header block has an odd number of fields: a name without a value`);
    }
    const valueEnd = nextNul(buffer, valueStart);
    const name = NAMES.at(index++, buffer, start, nameEnd);
    const value = text !== null ? text.slice(valueStart, valueEnd) : decodeVariable(name, buffer.subarray(valueStart, valueEnd));
    if (first) {
      if (name !== "CONTENT_LENGTH") {
        throw new ScgiProtocolError(`SCGI header block must start with CONTENT_LENGTH, not ${JSON.stringify(name.slice(0, 64))}`);
      }
      if (!/^\d{1,15}$/.test(value)) throw new ScgiProtocolError(`invalid SCGI CONTENT_LENGTH ${JSON.stringify(value.slice(0, 64))}`);
      declared = value;
      first = false;
    }
    list.push(name, value);
    start = valueEnd + 1;
  }
  const variables = new CgiVariables(list);
  if (variables.get("CONTENT_LENGTH") !== declared) {
    throw new ScgiProtocolError("SCGI header block has CONTENT_LENGTH twice");
  }
  const version = variables.get("SCGI");
  if (version !== "1") {
    throw new ScgiProtocolError(
      version === undefined ? "SCGI header block lacks the SCGI variable" : `unsupported SCGI version ${JSON.stringify(version.slice(0, 64))}`,
    );
  }
  return { variables, contentLength: Number(declared) };
}

/**
 * An incremental parser of one SCGI request head. Feed it the connection's bytes; once it has
 * the whole head, `feed` returns where the body starts in the chunk it was given.
 *
 * Bounds: the length has no leading zero and is refused (431) at the digit that takes it past
 * `maxHeaderSize`, so the header block is at most that many bytes; the separators `:`
 * and `,` must be where the netstring puts them. Bytes are copied only when the head straddles
 * chunks.
 *
 * @example
 * const parser = new ScgiHeadParser();
 * const start = parser.feed(chunk); // -1: more bytes needed
 * if (start !== -1) handle(parser.head!, chunk.subarray(start));
 */
export class ScgiHeadParser {
  /** The largest header block accepted, in bytes. */
  readonly maxHeaderSize: number;
  /** The parsed head, once `feed` returned something other than -1. */
  head: ScgiHead | null = null;
  /** Bytes fed so far (the head's size once it is complete). */
  consumed = 0;

  private state = LENGTH;
  private digits = 0;
  private length = 0;
  private block: Buffer | null = null;
  private filled = 0;

  constructor(maxHeaderSize = DEFAULT_MAX_HEADER_SIZE) {
    if (!Number.isInteger(maxHeaderSize) || maxHeaderSize < 1) {
      throw new RangeError(`maxHeaderSize must be a positive integer, got ${maxHeaderSize}`);
    }
    this.maxHeaderSize = maxHeaderSize;
  }

  /** True once the head is parsed. */
  get done(): boolean {
    return this.state === DONE;
  }

  /** True when nothing at all was fed (a connection closed before sending a byte). */
  get empty(): boolean {
    return this.consumed === 0;
  }

  /**
   * Parses the next bytes. Returns -1 when more are needed, else the offset in `chunk` where
   * the body starts (`chunk.length` when the chunk ends with the head). Throws a
   * `ScgiProtocolError` on malformed or oversized input; the parser is then unusable.
   */
  feed(chunk: Uint8Array): number {
    const length = chunk.length;
    let i = 0;
    while (i < length) {
      const state = this.state;
      if (state === LENGTH) {
        const c = chunk[i]!;
        if (c >= 0x30 && c <= 0x39) {
          if (this.digits === 1 && this.length === 0) throw this.fail("SCGI netstring length has a leading zero");
          this.digits++;
          this.length = this.length * 10 + (c - 0x30);
          // Refused at the digit that makes it too long: the length never grows unbounded.
          if (this.length > this.maxHeaderSize) {
            throw this.fail(`SCGI header block larger than maxHeaderSize (${this.maxHeaderSize} bytes)`, 431);
          }
          i++;
        } else if (c === COLON) {
          if (this.digits === 0) throw this.fail("SCGI netstring has no length before ':'");
          i++;
          this.state = HEADERS;
          // The whole block in this chunk: parse it in place, no copy.
          if (length - i >= this.length) {
            this.head = this.parseBlock(chunk.subarray(i, i + this.length));
            i += this.length;
            this.state = COMMA;
          } else {
            this.block = Buffer.allocUnsafe(this.length);
            this.filled = 0;
          }
        } else {
          throw this.fail(
            this.digits === 0 ? `SCGI request does not start with a netstring length (byte 0x${c.toString(16).padStart(2, "0")})` : `SCGI netstring length is not followed by ':' (byte 0x${c.toString(16).padStart(2, "0")})`,
          );
        }
      } else if (state === HEADERS) {
        const block = this.block!;
        const n = Math.min(block.length - this.filled, length - i);
        block.set(chunk.subarray(i, i + n), this.filled);
        this.filled += n;
        i += n;
        if (this.filled === block.length) {
          this.block = null;
          this.head = this.parseBlock(block);
          this.state = COMMA;
        }
      } else if (state === COMMA) {
        if (chunk[i] !== COMMA_BYTE) throw this.fail(`SCGI header block is not followed by ',' (byte 0x${chunk[i]!.toString(16).padStart(2, "0")})`);
        i++;
        this.state = DONE;
        this.consumed += i;
        return i;
      } else {
        return 0;
      }
    }
    this.consumed += length;
    return -1;
  }

  private parseBlock(block: Uint8Array): ScgiHead {
    try {
      return parseHeaderBlock(block);
    } catch (err) {
      this.state = DONE;
      throw err;
    }
  }

  private fail(message: string, status = 400): ScgiProtocolError {
    this.state = DONE;
    this.block = null;
    return new ScgiProtocolError(message, status);
  }
}

/**
 * Serializes a request head, as a front server does: CONTENT_LENGTH first, then the given
 * variables (a name may repeat), then `SCGI` = `1` unless given. For clients and tests.
 *
 * @example encodeHead([["REQUEST_METHOD", "GET"], ["REQUEST_URI", "/"]], 0);
 */
export function encodeHead(variables: Iterable<readonly [string, string]>, contentLength: number): Buffer {
  const parts: Buffer[] = [Buffer.from(`CONTENT_LENGTH\0${contentLength}\0`)];
  let scgi = false;
  for (const [name, value] of variables) {
    if (name === "CONTENT_LENGTH") continue;
    if (name === "SCGI") scgi = true;
    parts.push(Buffer.from(`${name}\0${value}\0`));
  }
  if (!scgi) parts.push(Buffer.from("SCGI\x001\0"));
  const block = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(`${block.length}:`), block, Buffer.from(",")]);
}
