import type { Socket } from "node:net";
import { Writable } from "node:stream";
import { CgiResponse, cgiHead, VsgiError, ERR_REQUEST_ENDED, type Headers, type Request } from "../../vsgi/index.js";

// Bodies up to this size leave with their head in one buffer (a small copy); larger ones as
// two writes.
const WHOLE_MAX = 16 * 1024;

function closedError(): VsgiError {
  return new VsgiError(ERR_REQUEST_ENDED, "the SCGI connection is closed");
}

function noop(): void {}

function uncork(socket: Socket): void {
  socket.uncork();
}

/** The connection's part once the response has ended the socket (it may close it at once). */
export interface ScgiEnding {
  responseEnded(): void;
}

/**
 * Where the body of an SCGI response goes: the socket, with its back-pressure (a write waits for
 * 'drain' when the socket's buffer is full), or nowhere when the response has no body (HEAD,
 * 204, 304). Ending it ends the socket: one request per connection.
 */
class ScgiSink extends Writable {
  dropping = false;
  private readonly socket: Socket;
  private readonly ending: ScgiEnding;
  private pending: ((error?: Error | null) => void) | null = null;

  constructor(socket: Socket, ending: ScgiEnding) {
    super({ decodeStrings: false });
    this.socket = socket;
    this.ending = ending;
    // A write released with an error (the connection closed under it, e.g. after an EPIPE left
    // the socket errored but not yet closed) reaches the application
    // through its own write callback; as an 'error' event with no listener it would crash the
    // process.
    this.on("error", noop);
  }

  /** The socket drained or closed: release the write that waited. */
  release(error?: Error): void {
    const pending = this.pending;
    if (pending !== null) {
      this.pending = null;
      pending(error);
    }
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.dropping) return callback();
    const socket = this.socket;
    if (socket.destroyed) return callback(closedError());
    if (socket.write(chunk, encoding)) callback();
    else this.pending = callback;
  }

  override _writev(chunks: { chunk: Buffer | string; encoding: BufferEncoding }[], callback: (error?: Error | null) => void): void {
    if (this.dropping) return callback();
    const socket = this.socket;
    if (socket.destroyed) return callback(closedError());
    socket.cork();
    let ok = true;
    for (const { chunk, encoding } of chunks) ok = socket.write(chunk, encoding);
    socket.uncork();
    if (ok) callback();
    else this.pending = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    const socket = this.socket;
    // Ending twice makes node build (and drop) an error with its stack.
    if (!socket.destroyed && !socket.writableEnded) {
      socket.end();
      this.ending.responseEnded();
    }
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (error !== null) this.socket.destroy();
    this.release(error ?? new Error("the response body was destroyed"));
    callback(error);
  }
}

/**
 * A response written on an SCGI connection: a CGI head (`Status:` last), then the body, then
 * the connection closes. Built by the connection for each request.
 *
 * @example void dispatch(handler, request, new ScgiResponse(request, socket, connection));
 */
export class ScgiResponse extends CgiResponse {
  private readonly socket: Socket;
  private readonly ending: ScgiEnding;
  private _sink: ScgiSink | null = null;

  constructor(request: Request, socket: Socket, ending: ScgiEnding) {
    super(request);
    this.socket = socket;
    this.ending = ending;
  }

  protected writeCgiHead(head: string, hasBody: boolean): void {
    const socket = this.socket;
    if (!hasBody) this.sinkStream.dropping = true;
    if (socket.destroyed) return;
    // Held until the end of this tick, so that the head leaves with the first body chunk.
    socket.cork();
    socket.write(head, "latin1");
    process.nextTick(uncork, socket);
  }

  private get sinkStream(): ScgiSink {
    if (this._sink === null) this._sink = new ScgiSink(this.socket, this.ending);
    return this._sink;
  }

  protected get sink(): Writable {
    return this.sinkStream;
  }

  protected override sendWhole(status: number, reason: string, headers: Headers, body: string | Uint8Array | null): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    const head = cgiHead(status, reason, headers);
    if (body === null || body.length === 0) {
      socket.end(head, "latin1");
    } else if (body.length <= WHOLE_MAX) {
      // One buffer, one write: cheaper than a corked write of two pieces (a writev).
      const bodyLength = typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
      const out = Buffer.allocUnsafe(head.length + bodyLength);
      out.write(head, 0, "latin1");
      if (typeof body === "string") out.write(body, head.length, "utf8");
      else out.set(body, head.length);
      socket.end(out);
    } else {
      socket.cork();
      socket.write(head, "latin1");
      socket.end(body);
    }
    this.ending.responseEnded();
  }

  /** The socket drained or closed: let the body write that waited go on. */
  drained(error?: Error): void {
    this._sink?.release(error);
  }

  destroy(error?: Error): void {
    this.socket.destroy();
    this._sink?.release(error ?? new Error("the response was destroyed"));
  }
}
