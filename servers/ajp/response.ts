import { Writable } from "node:stream";
import { Response, type Headers, type Request } from "../../vsgi/index.js";

/** What an AJP response writes through: the exchange of its connection (connection.ts). */
export interface ResponseTarget {
  sendHead(status: number, reason: string, headers: Headers, hasBody: boolean): void;
  sendWhole(status: number, reason: string, headers: Headers, body: string | Uint8Array | null): void;
  /** Sends body bytes as SEND_BODY_CHUNK packets; `callback` once the socket takes more. */
  writeBody(chunks: readonly Uint8Array[], total: number, callback: (error?: Error | null) => void): void;
  /** An empty SEND_BODY_CHUNK: the front server sends on what it holds (Apache flushes). */
  flushBody(): void;
  /** The body is complete: END_RESPONSE (after the request body in flight is drained). */
  finish(): void;
  /** Drops the connection without END_RESPONSE: the front server sees the response fail. */
  destroy(error?: Error): void;
}

/**
 * Where the body of an AJP response goes: SEND_BODY_CHUNK packets; ending it ends the response.
 *
 * @example res.body.end("bytes"); // through the sink: SEND_BODY_CHUNK, then END_RESPONSE
 */
export class AjpSink extends Writable {
  private readonly target: ResponseTarget;

  constructor(target: ResponseTarget) {
    super();
    this.target = target;
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.target.writeBody([chunk], chunk.length, callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    const list: Buffer[] = new Array(chunks.length);
    let total = 0;
    for (let i = 0; i < chunks.length; i++) {
      list[i] = chunks[i]!.chunk;
      total += list[i]!.length;
    }
    this.target.writeBody(list, total, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.target.finish();
    callback();
  }
}

/**
 * A response sent over AJP13: SEND_HEADERS (coded names where the protocol has a code),
 * SEND_BODY_CHUNK packets, END_RESPONSE.
 *
 * @example app.get("/", (req, res) => res.expandUtf8("hi")); // one write: head, chunk, end
 */
export class AjpResponse extends Response {
  private readonly target: ResponseTarget;
  private _sink: AjpSink | null = null;

  constructor(request: Request, target: ResponseTarget) {
    super(request);
    this.target = target;
  }

  protected sendHead(status: number, reason: string, headers: Headers, hasBody: boolean): void {
    this.target.sendHead(status, reason, headers, hasBody);
  }

  protected get sink(): Writable {
    if (this._sink === null) this._sink = new AjpSink(this.target);
    return this._sink;
  }

  protected override sendWhole(status: number, reason: string, headers: Headers, body: string | Uint8Array | null): void {
    this.target.sendWhole(status, reason, headers, body);
  }

  /** Sends an empty SEND_BODY_CHUNK, on which Apache's mod_proxy_ajp flushes to the client. */
  override flush(): void {
    if (this.headWritten) this.target.flushBody();
  }

  destroy(error?: Error): void {
    this.target.destroy(error);
    if (this._sink !== null && !this._sink.destroyed) this._sink.destroy();
  }

  /** @internal The connection went away: writers waiting on the sink are released. */
  closeSink(): void {
    if (this._sink !== null && !this._sink.destroyed) this._sink.destroy();
  }
}
