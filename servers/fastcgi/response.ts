import { Writable } from "node:stream";
import { format } from "node:util";
import { CgiResponse, cgiHead } from "../../vsgi/cgi-response.js";
import type { Headers } from "../../vsgi/headers.js";
import type { Request } from "../../vsgi/request.js";

/** Where a FastCGI response goes: its request's side of the connection (an `Exchange`). */
export interface ResponseChannel {
  /** Sends the CGI head as STDOUT; `hasBody` false makes `write` drop body bytes. */
  writeHead(head: string, hasBody: boolean): void;
  /** Sends body bytes as STDOUT records; calls back when the socket can take more. */
  write(chunk: Buffer, callback: (error?: Error | null) => void): void;
  /** Several chunks at once, one callback. */
  writev(chunks: Buffer[], callback: (error?: Error | null) => void): void;
  /** Ends STDOUT and sends END_REQUEST, in the same write as the last STDOUT bytes. */
  end(): void;
  /** Head, body, end of STDOUT and END_REQUEST in one write. */
  sendWhole(head: string, body: string | Uint8Array | null): void;
  /** The response cannot be completed. */
  fail(error: Error): void;
  /** Sends text on this request's STDERR stream; false once the request is over. */
  stderr(text: string): boolean;
}

function noop(): void {}

/** The body sink: STDOUT records of one request, with the socket's back-pressure. */
class StdoutSink extends Writable {
  private readonly channel: ResponseChannel;

  constructor(channel: ResponseChannel) {
    super();
    this.channel = channel;
    // Write errors reach the application through its own write calls; never crash on them.
    this.on("error", noop);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.channel.write(chunk, callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    const buffers = new Array<Buffer>(chunks.length);
    for (let i = 0; i < chunks.length; i++) buffers[i] = chunks[i]!.chunk;
    this.channel.writev(buffers, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.channel.end();
    callback();
  }
}

/**
 * A response over FastCGI: the CGI head and the body as STDOUT records, END_REQUEST in the
 * same write as the last of them. `logError` writes to this request's STDERR stream, which the
 * front server puts in its error log (nginx: "FastCGI sent in stderr").
 *
 * @example
 * app.get("/x", (req, res) => {
 *   if (res instanceof FastcgiResponse) res.logError("something odd", new Error("detail"));
 *   return res.expandUtf8("ok");
 * });
 */
export class FastcgiResponse extends CgiResponse {
  private readonly channel: ResponseChannel;
  private _sink: StdoutSink | null = null;

  constructor(request: Request, channel: ResponseChannel) {
    super(request);
    this.channel = channel;
  }

  protected writeCgiHead(head: string, hasBody: boolean): void {
    this.channel.writeHead(head, hasBody);
  }

  protected get sink(): Writable {
    if (this._sink === null) this._sink = new StdoutSink(this.channel);
    return this._sink;
  }

  protected override sendWhole(status: number, reason: string, headers: Headers, body: string | Uint8Array | null): void {
    this.channel.sendWhole(cgiHead(status, reason, headers), body);
  }

  /** @internal The request is over (aborted, connection closed): later writes fail at once. */
  abandon(): void {
    if (this._sink !== null && !this._sink.destroyed) this._sink.destroy();
  }

  destroy(error?: Error): void {
    this.channel.fail(error ?? new Error("the response was destroyed"));
    if (this._sink !== null && !this._sink.destroyed) this._sink.destroy();
  }

  /**
   * Logs `message` (and `error`, with its stack) to the server's log and to this request's
   * STDERR stream, which the front server writes to its error log; returns false when the
   * request is already over and STDERR is closed.
   *
   * @example res.logError("payment service slow", err);
   */
  override logError(message: string, error?: unknown): boolean {
    super.logError(message, error);
    const text = error === undefined ? format("%s\n", message) : format("%s %O\n", message, error);
    return this.channel.stderr(text);
  }
}
