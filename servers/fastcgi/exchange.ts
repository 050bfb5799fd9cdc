// One FastCGI request on a connection, from BEGIN_REQUEST to END_REQUEST: its PARAMS, its body
// fed from STDIN, and the channel its response writes through (STDOUT records, END_REQUEST).
// The connection that reads records and runs exchanges is connection.ts (with input.ts); the
// writes go through output.ts.
import { Request } from "../../vsgi/request.js";
import type { CgiRequestInit } from "../../vsgi/cgi-environment.js";
import { VsgiError, ERR_REQUEST_ENDED } from "../../vsgi/errors.js";
import {
  ParamsCollector,
  writeHeader,
  HEADER_LENGTH,
  MAX_CONTENT_LENGTH,
  STDOUT,
  STDERR,
  END_REQUEST,
  REQUEST_COMPLETE,
} from "./records.js";
import { StdinBody, type BodySource } from "./request.js";
import { FastcgiResponse, type ResponseChannel } from "./response.js";
import { out, outWhole, writeStream, waitDrain } from "./output.js";
import type { FastcgiConnection } from "./connection.js";

/** The request ended before the application finished writing. */
export function endedError(): Error {
  return new VsgiError(ERR_REQUEST_ENDED, "the request is over (aborted by the front server or the connection closed)");
}

/**
 * One request on a connection, from BEGIN_REQUEST to END_REQUEST: collects PARAMS, feeds STDIN
 * into the body, and is the channel its response writes through.
 */
export class Exchange implements ResponseChannel, BodySource {
  readonly connection: FastcgiConnection;
  readonly id: number;
  readonly keepConn: boolean;
  params: ParamsCollector | null;
  /** When PARAMS must be over (on the connection's clock; 0: no limit). */
  headDeadline = 0;
  /** The request as read from PARAMS; `request` is built from it when the handler starts. */
  init: CgiRequestInit | null = null;
  request: Request | null = null;
  response: FastcgiResponse | null = null;
  body: StdinBody | null = null;
  contentLength: number | null = null;
  received = 0;
  stdinEnded = false;
  /** The body got its end (or was cut short): STDIN past it is ignored. */
  bodyEnded = false;
  /** The body holds more than its high-water mark: the connection is paused for it. */
  congested = false;
  /** END_REQUEST was sent, or the connection is gone: nothing more is written. */
  done = false;
  private hasBody = true;
  private stderrSent = false;
  /** The handler runs (it starts once the chunk that ended PARAMS is read). */
  dispatched = false;
  /** The body failed before the handler ran: failed right after it starts. */
  bodyError: Error | null = null;
  /** A write waiting for the socket to drain. */
  drainCallback: ((error?: Error | null) => void) | null = null;

  constructor(connection: FastcgiConnection, id: number, keepConn: boolean, maxParamsSize: number) {
    this.connection = connection;
    this.id = id;
    this.keepConn = keepConn;
    this.params = new ParamsCollector(maxParamsSize);
  }

  // ResponseChannel

  writeHead(head: string, hasBody: boolean): void {
    if (this.done) return;
    this.hasBody = hasBody;
    const length = head.length;
    if (length <= MAX_CONTENT_LENGTH) {
      const record = Buffer.allocUnsafe(HEADER_LENGTH + length);
      writeHeader(record, 0, STDOUT, this.id, length);
      record.write(head, HEADER_LENGTH, "latin1");
      out(this.connection, record);
    } else {
      writeStream(this.connection, STDOUT, this.id, Buffer.from(head, "latin1"));
    }
  }

  write(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.done) {
      callback(endedError());
    } else if (!this.hasBody || chunk.length === 0) {
      callback();
    } else if (writeStream(this.connection, STDOUT, this.id, chunk)) {
      callback();
    } else {
      waitDrain(this.connection, this, callback);
    }
  }

  writev(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    if (this.done) {
      callback(endedError());
      return;
    }
    if (!this.hasBody) {
      callback();
      return;
    }
    let ok = true;
    for (const chunk of chunks) if (chunk.length > 0) ok = writeStream(this.connection, STDOUT, this.id, chunk);
    if (ok) callback();
    else waitDrain(this.connection, this, callback);
  }

  end(): void {
    if (this.done) return;
    out(this.connection, this.trailer(0));
    this.connection.finish(this);
  }

  sendWhole(head: string, body: string | Uint8Array | null): void {
    if (this.done) return;
    const headLength = head.length;
    const bodyLength = body === null ? 0 : typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
    const total = headLength + bodyLength;
    const end = this.stderrSent ? 32 : 24;
    if (total <= MAX_CONTENT_LENGTH) {
      // The usual case: one record, the end of STDOUT and END_REQUEST, in one buffer and one write.
      const record = Buffer.allocUnsafe(HEADER_LENGTH + total + end);
      writeHeader(record, 0, STDOUT, this.id, total);
      record.write(head, HEADER_LENGTH, "latin1");
      if (body !== null) {
        if (typeof body === "string") record.write(body, HEADER_LENGTH + headLength, "utf8");
        else record.set(body, HEADER_LENGTH + headLength);
      }
      this.writeTrailer(record, HEADER_LENGTH + total, 0);
      outWhole(this.connection, record);
    } else {
      this.hasBody = body !== null;
      writeStream(this.connection, STDOUT, this.id, Buffer.from(head, "latin1"));
      if (body !== null) {
        const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
        writeStream(this.connection, STDOUT, this.id, bytes);
      }
      out(this.connection, this.trailer(0));
    }
    this.connection.finish(this);
  }

  fail(error: Error): void {
    if (this.done) return;
    this.stderr(`response failed: ${error.message}\n`);
    this.connection.failExchange(this);
  }

  stderr(text: string): boolean {
    if (this.done) return false;
    this.stderrSent = true;
    writeStream(this.connection, STDERR, this.id, Buffer.from(text, "utf8"));
    return true;
  }

  /** The end of STDOUT (and of STDERR when used), then END_REQUEST. */
  trailer(appStatus: number, protocolStatus = REQUEST_COMPLETE): Buffer {
    const record = Buffer.allocUnsafe(this.stderrSent ? 32 : 24);
    this.writeTrailer(record, 0, appStatus, protocolStatus);
    return record;
  }

  private writeTrailer(into: Buffer, offset: number, appStatus: number, protocolStatus = REQUEST_COMPLETE): void {
    writeHeader(into, offset, STDOUT, this.id, 0);
    offset += HEADER_LENGTH;
    if (this.stderrSent) {
      writeHeader(into, offset, STDERR, this.id, 0);
      offset += HEADER_LENGTH;
    }
    writeHeader(into, offset, END_REQUEST, this.id, 8);
    into.writeUInt32BE(appStatus >>> 0, offset + 8);
    into[offset + 12] = protocolStatus;
    into[offset + 13] = 0;
    into[offset + 14] = 0;
    into[offset + 15] = 0;
  }

  // BodySource

  bodyWanted(): void {
    if (this.congested) this.connection.uncongest(this);
  }

  bodyDropped(): void {
    if (this.congested) this.connection.uncongest(this);
  }

  /** Ends the body (done, aborted): what is buffered is dropped, what comes is ignored. */
  dropBody(error?: Error): void {
    const body = this.body;
    // A body that got all its bytes has nothing left to drop: a reader still at it finishes.
    if (body !== null && !body.readableEnded && (error !== undefined || !this.bodyEnded)) body.fail(error);
    if (this.congested) this.connection.uncongest(this);
  }
}
