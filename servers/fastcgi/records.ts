// The FastCGI 1.0 wire format, pure: bytes in, records out, and records to bytes. No sockets
// here: this is what the unit tests and the fuzzers drive directly.
import { isAscii, isUtf8 } from "node:buffer";
import { NameSequence } from "../../vsgi/variable-names.js";
import { CgiVariables } from "../../vsgi/cgi-variables.js";
import { keepBytes } from "../../vsgi/shared-reads.js";
import { VsgiError, ERR_BAD_REQUEST } from "../../vsgi/errors.js";

/** The only protocol version there is. */
export const FCGI_VERSION_1 = 1;
/** Bytes in a record header. */
export const HEADER_LENGTH = 8;
/** The largest record content. */
export const MAX_CONTENT_LENGTH = 65535;

// Record types.
export const BEGIN_REQUEST = 1;
export const ABORT_REQUEST = 2;
export const END_REQUEST = 3;
export const PARAMS = 4;
export const STDIN = 5;
export const STDOUT = 6;
export const STDERR = 7;
export const DATA = 8;
export const GET_VALUES = 9;
export const GET_VALUES_RESULT = 10;
export const UNKNOWN_TYPE = 11;

// Roles (BEGIN_REQUEST), the flag, and the protocol statuses (END_REQUEST).
export const RESPONDER = 1;
export const AUTHORIZER = 2;
export const FILTER = 3;
export const KEEP_CONN = 1;
export const REQUEST_COMPLETE = 0;
export const CANT_MPX_CONN = 1;
export const OVERLOADED = 2;
export const UNKNOWN_ROLE = 3;

/** The names of the record types, for log lines. */
export const TYPE_NAMES: Readonly<Record<number, string>> = {
  1: "BEGIN_REQUEST",
  2: "ABORT_REQUEST",
  3: "END_REQUEST",
  4: "PARAMS",
  5: "STDIN",
  6: "STDOUT",
  7: "STDERR",
  8: "DATA",
  9: "GET_VALUES",
  10: "GET_VALUES_RESULT",
  11: "UNKNOWN_TYPE",
};

/**
 * Malformed FastCGI input: the connection that sent it is closed.
 *
 * @example try { parser.push(chunk); } catch (err) { if (err instanceof FastcgiProtocolError) socket.destroy(); }
 */
export class FastcgiProtocolError extends VsgiError {
  constructor(message: string) {
    super(ERR_BAD_REQUEST, message);
    this.name = "FastcgiProtocolError";
  }
}

/** Where a `RecordParser` delivers records. */
export interface RecordHandler {
  /**
   * One whole record. `content` may be a view into the chunk given to `push`, valid as long as
   * that chunk is: keep it (it is not reused), but do not write into it.
   */
  onRecord(type: number, requestId: number, content: Buffer): void;
}

const EMPTY = Buffer.alloc(0);
const IN_HEADER = 0;
const IN_CONTENT = 1;
const IN_PADDING = 2;

/**
 * An incremental record parser: feed it bytes as they come, in chunks of any size (one byte at
 * a time works), and it calls `handler.onRecord` for each whole record. Padding is skipped.
 * Memory is bounded: at most one record's content (64 KiB) is held, and only when a record
 * straddles chunks; otherwise contents are views into the chunks.
 *
 * Throws `FastcgiProtocolError` on a version other than 1; after that (or after `stop()`), it
 * ignores everything.
 *
 * @example
 * const parser = new RecordParser({ onRecord: (type, id, content) => console.log(type, id, content) });
 * socket.on("data", (chunk) => parser.push(chunk));
 */
export class RecordParser {
  private readonly handler: RecordHandler;
  private state = IN_HEADER;
  private readonly header = Buffer.alloc(HEADER_LENGTH);
  private headerFill = 0;
  private type = 0;
  private requestId = 0;
  private contentLength = 0;
  private paddingLeft = 0;
  private content: Buffer | null = null;
  private contentFill = 0;
  private stopped = false;

  constructor(handler: RecordHandler) {
    this.handler = handler;
  }

  /** Ignores everything from now on (the connection is closing). */
  stop(): void {
    this.stopped = true;
    this.content = null;
  }

  /** True between records: no partial record is held. */
  get atBoundary(): boolean {
    return this.state === IN_HEADER && this.headerFill === 0;
  }

  /** Feeds bytes; calls the handler for each record completed by them. */
  push(chunk: Buffer): void {
    const length = chunk.length;
    let i = 0;
    while (i < length && !this.stopped) {
      if (this.state === IN_HEADER) {
        if (this.headerFill === 0 && length - i >= HEADER_LENGTH) {
          this.startRecord(chunk, i);
          i += HEADER_LENGTH;
        } else {
          const n = Math.min(HEADER_LENGTH - this.headerFill, length - i);
          chunk.copy(this.header, this.headerFill, i, i + n);
          this.headerFill += n;
          i += n;
          if (this.headerFill === HEADER_LENGTH) {
            this.headerFill = 0;
            this.startRecord(this.header, 0);
          }
        }
      } else if (this.state === IN_CONTENT) {
        const wanted = this.contentLength - this.contentFill;
        if (this.contentFill === 0 && length - i >= wanted) {
          // The whole content is in this chunk: hand out a view, no copy.
          this.state = IN_PADDING;
          const end = i + wanted;
          this.handler.onRecord(this.type, this.requestId, chunk.subarray(i, end));
          i = end;
        } else {
          if (this.content === null) this.content = Buffer.allocUnsafe(this.contentLength);
          const n = Math.min(wanted, length - i);
          chunk.copy(this.content, this.contentFill, i, i + n);
          this.contentFill += n;
          i += n;
          if (this.contentFill === this.contentLength) {
            const content = this.content;
            this.content = null;
            this.contentFill = 0;
            this.state = IN_PADDING;
            this.handler.onRecord(this.type, this.requestId, content);
          }
        }
      } else {
        const n = Math.min(this.paddingLeft, length - i);
        this.paddingLeft -= n;
        i += n;
      }
      if (this.state === IN_PADDING && this.paddingLeft === 0) this.state = IN_HEADER;
    }
  }

  private startRecord(bytes: Buffer, at: number): void {
    const version = bytes[at]!;
    if (version !== FCGI_VERSION_1) {
      this.stopped = true;
      throw new FastcgiProtocolError(`bad FastCGI version ${version} (only version 1 exists)`);
    }
    this.type = bytes[at + 1]!;
    this.requestId = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    this.contentLength = (bytes[at + 4]! << 8) | bytes[at + 5]!;
    this.paddingLeft = bytes[at + 6]!;
    if (this.contentLength === 0) {
      this.state = IN_PADDING;
      this.handler.onRecord(this.type, this.requestId, EMPTY);
    } else {
      this.state = IN_CONTENT;
    }
  }
}

/**
 * Writes a record header at `offset` of `into`.
 *
 * @example const header = Buffer.alloc(8); writeHeader(header, 0, STDOUT, 1, 5);
 */
export function writeHeader(into: Buffer, offset: number, type: number, requestId: number, contentLength: number, paddingLength = 0): void {
  into[offset] = FCGI_VERSION_1;
  into[offset + 1] = type;
  into[offset + 2] = requestId >>> 8;
  into[offset + 3] = requestId & 0xff;
  into[offset + 4] = contentLength >>> 8;
  into[offset + 5] = contentLength & 0xff;
  into[offset + 6] = paddingLength;
  into[offset + 7] = 0;
}

/**
 * One record: header, content (at most 65535 bytes) and, with `pad`, zero padding to a
 * multiple of 8 bytes (optional in FastCGI 1.0).
 *
 * @example encodeRecord(STDOUT, 1, Buffer.from("Status: 200 OK\r\n\r\n"));
 */
export function encodeRecord(type: number, requestId: number, content: Uint8Array = EMPTY, pad = false): Buffer {
  if (content.length > MAX_CONTENT_LENGTH) throw new RangeError(`record content of ${content.length} bytes: at most ${MAX_CONTENT_LENGTH}`);
  if (requestId < 0 || requestId > 0xffff || !Number.isInteger(requestId)) throw new RangeError(`bad request id ${requestId}`);
  const padding = pad ? (8 - (content.length % 8)) % 8 : 0;
  const record = Buffer.alloc(HEADER_LENGTH + content.length + padding);
  writeHeader(record, 0, type, requestId, content.length, padding);
  record.set(content, HEADER_LENGTH);
  return record;
}

/**
 * A whole stream (STDIN, STDOUT, PARAMS, ...) as records: `data` cut into records of at most
 * `max` bytes, then the empty record that ends the stream (unless `end` is false).
 *
 * @example Buffer.concat(streamRecords(STDIN, 1, body));
 */
export function streamRecords(type: number, requestId: number, data: Uint8Array, end = true, max = MAX_CONTENT_LENGTH, pad = false): Buffer[] {
  const records: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += max) {
    records.push(encodeRecord(type, requestId, data.subarray(offset, Math.min(data.length, offset + max)), pad));
  }
  if (end) records.push(encodeRecord(type, requestId, EMPTY, pad));
  return records;
}

/**
 * A BEGIN_REQUEST record: role and flags.
 *
 * @example socket.write(beginRequestRecord(1, RESPONDER, KEEP_CONN));
 */
export function beginRequestRecord(requestId: number, role = RESPONDER, flags = 0): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt16BE(role, 0);
  body[2] = flags;
  return encodeRecord(BEGIN_REQUEST, requestId, body);
}

/**
 * An END_REQUEST record: the application status and the protocol status.
 *
 * @example socket.write(endRequestRecord(1, 0, UNKNOWN_ROLE));
 */
export function endRequestRecord(requestId: number, appStatus: number, protocolStatus: number): Buffer {
  const record = Buffer.allocUnsafe(16);
  writeHeader(record, 0, END_REQUEST, requestId, 8);
  record.writeUInt32BE(appStatus >>> 0, 8);
  record[12] = protocolStatus;
  record[13] = 0;
  record[14] = 0;
  record[15] = 0;
  return record;
}

/**
 * The UNKNOWN_TYPE answer to a management record of a type this side does not know.
 *
 * @example socket.write(unknownTypeRecord(42));
 */
export function unknownTypeRecord(type: number): Buffer {
  const content = Buffer.alloc(8);
  content[0] = type;
  return encodeRecord(UNKNOWN_TYPE, 0, content);
}

/**
 * A decoded BEGIN_REQUEST body, or null when it is not 8 bytes.
 *
 * @example decodeBeginRequest(content)?.role === RESPONDER;
 */
export function decodeBeginRequest(content: Buffer): { role: number; flags: number } | null {
  if (content.length !== 8) return null;
  return { role: (content[0]! << 8) | content[1]!, flags: content[2]! };
}

/**
 * A decoded END_REQUEST body, or null when it is not 8 bytes.
 *
 * @example decodeEndRequest(content)?.protocolStatus === REQUEST_COMPLETE;
 */
export function decodeEndRequest(content: Buffer): { appStatus: number; protocolStatus: number } | null {
  if (content.length !== 8) return null;
  return { appStatus: content.readUInt32BE(0), protocolStatus: content[4]! };
}

function lengthSize(length: number): number {
  return length <= 127 ? 1 : 4;
}

function writeLength(into: Buffer, offset: number, length: number): number {
  if (length <= 127) {
    into[offset] = length;
    return offset + 1;
  }
  into.writeUInt32BE((length | 0x80000000) >>> 0, offset);
  return offset + 4;
}

/**
 * Name-value pairs (PARAMS, GET_VALUES, GET_VALUES_RESULT) as bytes: each length in one byte
 * when at most 127, else in four bytes with the top bit set. `long` forces four-byte lengths
 * (tests). Strings are encoded in UTF-8.
 *
 * @example encodePairs([["REQUEST_METHOD", "GET"]]);
 */
export function encodePairs(pairs: Iterable<readonly [string, string]>, long = false): Buffer {
  const encoded: [Buffer, Buffer][] = [];
  let size = 0;
  for (const [name, value] of pairs) {
    const n = Buffer.from(name, "utf8");
    const v = Buffer.from(value, "utf8");
    if (n.length > 0x7fffffff || v.length > 0x7fffffff) throw new RangeError("a name or value longer than 2^31 - 1 bytes");
    encoded.push([n, v]);
    size += (long ? 8 : lengthSize(n.length) + lengthSize(v.length)) + n.length + v.length;
  }
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const [n, v] of encoded) {
    if (long) {
      out.writeUInt32BE((n.length | 0x80000000) >>> 0, offset);
      out.writeUInt32BE((v.length | 0x80000000) >>> 0, offset + 4);
      offset += 8;
    } else {
      offset = writeLength(out, offset, n.length);
      offset = writeLength(out, offset, v.length);
    }
    offset += n.copy(out, offset);
    offset += v.copy(out, offset);
  }
  return out;
}

/** node's Buffer methods behind `toString(encoding, start, end)`, without its argument checks. */
interface RawSlices {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

function readLength(bytes: Buffer, offset: number): number {
  const first = bytes[offset]!;
  if (first < 0x80) return first;
  if (offset + 4 > bytes.length) return -1;
  return ((first & 0x7f) << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
}

/**
 * Decodes a whole block of name-value pairs (the PARAMS stream put together). Names are read
 * as Latin-1 (they are ASCII), values as `decodeVariable` reads them: UTF-8 (paths), except
 * those of `HTTP_*` variables and bytes that are no UTF-8, read as Latin-1. Throws `FastcgiProtocolError` when a
 * pair is cut short.
 *
 * @example decodePairs(encodePairs([["A", "1"]])); // [["A", "1"]]
 */
export function decodePairs(bytes: Buffer): [string, string][] {
  const list = decode(bytes);
  const pairs: [string, string][] = new Array(list.length / 2);
  for (let i = 0; i < list.length; i += 2) pairs[i / 2] = [list[i]!, list[i + 1]!];
  return pairs;
}

/**
 * Decodes a PARAMS block straight into CGI variables (what a request is built from), without
 * the list of pairs in between.
 *
 * @example decodeVariables(encodePairs([["REQUEST_METHOD", "GET"]])).get("REQUEST_METHOD"); // "GET"
 */
export function decodeVariables(bytes: Buffer): CgiVariables {
  return new CgiVariables(decode(bytes));
}

// A front server sends the same variables in the same order on every request.
const NAMES = new NameSequence();

/**
 * Checks the lengths of the pairs in `bytes` and counts them (a first pass over the length
 * prefixes only, so that the list of strings is allocated once at its size).
 */
function countPairs(bytes: Buffer): number {
  const length = bytes.length;
  let offset = 0;
  let count = 0;
  while (offset < length) {
    const nameLength = readLength(bytes, offset);
    if (nameLength < 0) throw new FastcgiProtocolError("a name-value pair is cut short (name length)");
    offset += bytes[offset]! < 0x80 ? 1 : 4;
    if (offset >= length) throw new FastcgiProtocolError("a name-value pair is cut short (value length)");
    const valueLength = readLength(bytes, offset);
    if (valueLength < 0) throw new FastcgiProtocolError("a name-value pair is cut short (value length)");
    offset += bytes[offset]! < 0x80 ? 1 : 4;
    if (nameLength > length - offset || valueLength > length - offset - nameLength) {
      throw new FastcgiProtocolError("a name-value pair is longer than the bytes that carry it");
    }
    offset += nameLength + valueLength;
    count++;
  }
  return count;
}

/** Decodes the pairs, flat: name, value, name, value... */
function decode(bytes: Buffer): string[] {
  const raw = bytes as unknown as RawSlices;
  const length = bytes.length;
  // Growing a list by push reallocates it several times per request: one allocation instead.
  const out: string[] = new Array(2 * countPairs(bytes));
  // Parameters are nearly always ASCII: then one string for the whole block, and values are
  // slices of it, instead of a call into node's decoder per value (about 70 ns each).
  const text = isAscii(bytes) ? raw.latin1Slice(0, length) : null;
  let offset = 0;
  let index = 0;
  while (offset < length) {
    // The lengths were checked by countPairs.
    const nameLength = readLength(bytes, offset);
    offset += bytes[offset]! < 0x80 ? 1 : 4;
    const valueLength = readLength(bytes, offset);
    offset += bytes[offset]! < 0x80 ? 1 : 4;
    const nameEnd = offset + nameLength;
    const name = NAMES.at(index >> 1, bytes, offset, nameEnd);
    const valueEnd = nameEnd + valueLength;
    let value: string;
    // As decodeVariable reads values (every backend the same): HTTP_* and bytes that are no
    // UTF-8 as Latin-1, the rest as UTF-8.
    if (text !== null) value = text.slice(nameEnd, valueEnd);
    else if (nameLength >= 5 && bytes[offset] === 72 && bytes[offset + 4] === 95 && name.startsWith("HTTP_")) value = raw.latin1Slice(nameEnd, valueEnd);
    else if (isUtf8(bytes.subarray(nameEnd, valueEnd))) value = raw.utf8Slice(nameEnd, valueEnd);
    else value = raw.latin1Slice(nameEnd, valueEnd);
    out[index++] = name;
    out[index++] = value;
    offset = valueEnd;
  }
  return out;
}

/**
 * Collects a PARAMS stream, record by record, up to `max` bytes in all: a name-value pair may
 * straddle records, so the pairs are decoded once the stream has ended.
 *
 * @example
 * const params = new ParamsCollector(65536);
 * params.add(recordContent); // for each PARAMS record
 * const pairs = decodePairs(params.take()); // after the empty one
 */
export class ParamsCollector {
  private readonly max: number;
  // Nearly always one record carries the whole stream: no list for that one.
  private first: Buffer | null = null;
  private rest: Buffer[] | null = null;
  private size = 0;

  constructor(max: number) {
    this.max = max;
  }

  /** Bytes collected so far. */
  get length(): number {
    return this.size;
  }

  /** Adds one record's content; false (and nothing kept) when the total would pass the bound. */
  add(content: Buffer): boolean {
    if (this.size + content.length > this.max) {
      this.first = this.rest = null;
      return false;
    }
    if (this.first === null) this.first = content;
    else (this.rest ??= []).push(content);
    this.size += content.length;
    return true;
  }

  /**
   * Copies the records collected so far out of the shared read buffer, which the next read
   * overwrites (the stream goes on in a later read); records in memory of their own stay.
   */
  keep(): void {
    const first = this.first;
    if (first === null) return;
    const whole = this.take(); // a copy already, unless it is the one record
    this.first = whole === first ? keepBytes(first) : whole;
  }

  /** The whole stream, in one buffer (no copy when it came in one record). */
  take(): Buffer {
    const first = this.first;
    const rest = this.rest;
    this.first = this.rest = null;
    if (first === null) return EMPTY;
    if (rest === null) return first;
    return Buffer.concat([first, ...rest], this.size);
  }
}
