import { Writable } from "node:stream";
import { CgiResponse, cgiHead, VsgiError, ERR_REQUEST_ENDED, type Headers, type Request } from "../../vsgi/index.js";

function closedError(): VsgiError {
  return new VsgiError(ERR_REQUEST_ENDED, "the CGI output is closed");
}

/**
 * The output of a CGI process (stdout, or the stream given as `stdout`): writes with
 * back-pressure, the end of the response (flushed; an injected stream is ended, process.stdout
 * is left open since the process's exit closes it), and the front server going away (EPIPE).
 *
 * @example const output = new CgiOutput(process.stdout, false, (error) => finished(error));
 */
export class CgiOutput {
  /** True once the response is complete, or can no longer be: what `done` waits for. */
  completed = false;
  private readonly out: Writable;
  private readonly closesOnEnd: boolean;
  private readonly onComplete: (error: Error | null) => void;
  private broken: Error | null = null;
  private waiting: ((error?: Error | null) => void) | null = null;

  /**
   * @param out where the response goes
   * @param closesOnEnd whether to end `out` after the response (not for process.stdout)
   * @param onComplete called once, when the response is flushed (`null`) or failed
   */
  constructor(out: Writable, closesOnEnd: boolean, onComplete: (error: Error | null) => void) {
    this.out = out;
    this.closesOnEnd = closesOnEnd;
    this.onComplete = onComplete;
    this.onDrain = this.onDrain.bind(this);
    this.onError = this.onError.bind(this);
    out.on("drain", this.onDrain);
    out.on("error", this.onError);
    out.on("close", this.onDrain);
  }

  /** Whether the output is still usable. */
  get usable(): boolean {
    return this.broken === null && !this.out.destroyed && !this.completed;
  }

  /** Writes the head, held back until the end of the tick so that it leaves with the first body chunk. */
  writeHead(head: string): void {
    if (!this.usable) return;
    const out = this.out;
    out.cork();
    out.write(head, "latin1");
    process.nextTick(uncork, out);
  }

  /** Writes body bytes; `callback` runs when the output can take more. */
  write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.usable) return callback(this.broken ?? closedError());
    if (this.out.write(chunk, encoding)) callback();
    else this.waiting = callback;
  }

  /** Writes the last bytes (if any) and completes once everything is flushed. */
  end(last?: Buffer | string | Uint8Array | null, encoding?: BufferEncoding): void {
    if (!this.usable) return this.complete(this.broken ?? closedError());
    const out = this.out;
    const done = (error?: Error | null): void => this.complete(error ?? null);
    if (this.closesOnEnd) {
      if (last !== undefined && last !== null) out.write(last, encoding as BufferEncoding);
      out.end(done);
    } else {
      // The callback of the last write runs once everything before it is flushed too.
      out.write(last ?? "", encoding as BufferEncoding, done);
    }
  }

  /** Writes a whole response, head and body, and completes once it is flushed. */
  whole(head: string, body: string | Uint8Array | null): void {
    if (!this.usable) return this.complete(this.broken ?? closedError());
    const out = this.out;
    out.cork();
    out.write(head, "latin1");
    this.end(body);
    out.uncork();
  }

  /** Gives up on the response (the application failed after the head). */
  fail(error: Error): void {
    if (this.closesOnEnd && !this.out.destroyed) this.out.destroy(error);
    this.complete(error);
  }

  private onDrain(): void {
    const waiting = this.waiting;
    if (waiting !== null) {
      this.waiting = null;
      waiting(this.broken);
    }
  }

  private onError(error: Error): void {
    // EPIPE: the front server stopped reading (its client went away).
    if (this.broken === null) this.broken = error;
    this.onDrain();
    this.complete(error);
  }

  private complete(error: Error | null): void {
    if (this.completed) return;
    this.completed = true;
    this.onComplete(error);
  }
}

function uncork(out: Writable): void {
  out.uncork();
}

/** The body sink: to the output, or nowhere when the response has no body (HEAD, 204, 304). */
class CgiSink extends Writable {
  dropping = false;
  private readonly output: CgiOutput;

  constructor(output: CgiOutput) {
    super({ decodeStrings: false });
    this.output = output;
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.dropping) callback();
    else this.output.write(chunk, encoding, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.output.end();
    callback();
  }
}

/**
 * The response of a CGI process: a CGI head (`Status:` last) on stdout, then the body.
 *
 * @example void dispatch(handler, request, new CgiStdoutResponse(request, output));
 */
export class CgiStdoutResponse extends CgiResponse {
  private readonly output: CgiOutput;
  private _sink: CgiSink | null = null;

  constructor(request: Request, output: CgiOutput) {
    super(request);
    this.output = output;
  }

  private get sinkStream(): CgiSink {
    if (this._sink === null) this._sink = new CgiSink(this.output);
    return this._sink;
  }

  protected writeCgiHead(head: string, hasBody: boolean): void {
    if (!hasBody) this.sinkStream.dropping = true;
    this.output.writeHead(head);
  }

  protected get sink(): Writable {
    return this.sinkStream;
  }

  protected override sendWhole(status: number, reason: string, headers: Headers, body: string | Uint8Array | null): void {
    this.output.whole(cgiHead(status, reason, headers), body);
  }

  destroy(error?: Error): void {
    this.output.fail(error ?? new Error("the response was destroyed"));
  }
}
