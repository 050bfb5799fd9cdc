// The FastCGI 1.0 records, pure: bytes in, records out (`RecordParser`), and records to bytes
// (the header, any record, a stream cut into records, BEGIN_REQUEST, END_REQUEST,
// UNKNOWN_TYPE). No sockets here: this is what the unit tests and the fuzzers drive directly.
// The protocol's numbers (codes.ts) and the name-value pairs (name-values.ts) are re-exported,
// so that the wire format is imported from this one module.
import {
  FCGI_VERSION_1,
  HEADER_LENGTH,
  MAX_CONTENT_LENGTH,
  BEGIN_REQUEST,
  END_REQUEST,
  UNKNOWN_TYPE,
  RESPONDER,
  FastcgiProtocolError,
} from "./codes.js";

export * from "./codes.js";
export * from "./name-values.js";

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
