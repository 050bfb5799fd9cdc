import { Readable } from "node:stream";
import { abortedError } from "../../vsgi/index.js";

function ignore(): void {}

/**
 * The request body of a CGI request: CONTENT_LENGTH bytes of stdin (all of it, to the end, when
 * CONTENT_LENGTH is absent), read only once the application asks, with back-pressure (stdin is
 * paused while the application is slow). Nothing more than CONTENT_LENGTH is ever read.
 *
 * @example new CgiBody(() => process.stdin, onAbort).setLength(12);
 */
export class CgiBody extends Readable {
  private readonly source: () => Readable;
  private readonly onTruncated: (error: Error) => void;
  private input: Readable | null = null;
  private remaining: number | null = null;

  /**
   * @param source gives the input stream, on first read (so that a request without a body never
   *   touches stdin)
   * @param onTruncated called with an `ERR_VSGI_ABORTED` error when the input ends before
   *   CONTENT_LENGTH bytes or fails
   */
  constructor(source: () => Readable, onTruncated: (error: Error) => void) {
    super();
    this.source = source;
    this.onTruncated = onTruncated;
    this.onData = this.onData.bind(this);
    this.onEnd = this.onEnd.bind(this);
    this.onError = this.onError.bind(this);
    // An application that never reads the body must not crash on its error (an abort).
    this.on("error", ignore);
  }

  /** Sets the length from CONTENT_LENGTH (`null`: to the end of the input). */
  setLength(length: number | null): this {
    this.remaining = length;
    if (length === 0) this.push(null);
    return this;
  }

  override _read(): void {
    if (this.input === null) {
      const input = this.source();
      this.input = input;
      input.on("data", this.onData);
      input.on("end", this.onEnd);
      input.on("error", this.onError);
      // Once detached, a late error of stdin must not crash the process.
      input.on("error", ignore);
    }
    this.input.resume();
  }

  private onData(chunk: Buffer | string): void {
    let part = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    const remaining = this.remaining;
    if (remaining !== null) {
      if (part.length >= remaining) {
        if (part.length > remaining) part = part.subarray(0, remaining);
        this.remaining = 0;
        this.detach();
        this.push(part);
        this.push(null);
        return;
      }
      this.remaining = remaining - part.length;
    }
    if (!this.push(part)) this.input!.pause();
  }

  private onEnd(): void {
    this.detach();
    if (this.remaining !== null && this.remaining > 0) {
      // The front server closes the input early when its client goes away.
      const error = abortedError(`the request body ended ${this.remaining} bytes short of CONTENT_LENGTH`);
      this.remaining = 0; // nothing more will come: nothing to discard
      this.onTruncated(error);
      this.destroy(error);
    } else {
      this.push(null);
    }
  }

  private onError(cause: Error): void {
    this.detach();
    this.remaining = 0;
    const error = abortedError(`the request input failed: ${cause.message}`, cause);
    this.onTruncated(error);
    this.destroy(error);
  }

  private detach(): void {
    const input = this.input;
    if (input === null) return;
    input.off("data", this.onData);
    input.off("end", this.onEnd);
    input.off("error", this.onError);
    // A paused stdin keeps nothing running: the process may exit once the response is out.
    input.pause();
  }

  /**
   * Reads and drops what is left of the declared body, up to `max` bytes. Apache's mod_cgid
   * gives the script one socket for stdin and stdout: exiting with request bytes unread resets
   * it, and Apache then truncates the response it is still relaying. Nothing is read when the
   * length is unknown (the end may never come) or larger than `max`.
   */
  discard(max: number): Promise<void> {
    const remaining = this.remaining;
    if (remaining === null || remaining === 0 || remaining > max) return Promise.resolve();
    this.detach();
    const input = this.input ?? this.source();
    this.input = input;
    input.on("error", ignore);
    return new Promise((resolve) => {
      let left = remaining;
      const finish = (): void => {
        input.off("data", onData);
        input.off("end", finish);
        input.off("error", finish);
        input.pause();
        resolve();
      };
      const onData = (chunk: Buffer | string): void => {
        left -= chunk.length;
        if (left <= 0) finish();
      };
      input.on("data", onData);
      input.once("end", finish);
      input.once("error", finish);
      input.resume();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.detach();
    callback(error);
  }
}
