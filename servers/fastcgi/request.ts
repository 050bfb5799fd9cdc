import { Readable } from "node:stream";

/** What a request body tells its exchange: the application wants more, or dropped the body. */
export interface BodySource {
  /** The consumer read below the high-water mark: input may flow again. */
  bodyWanted(): void;
  /** The body was destroyed (by the application or the backend): drop what still comes. */
  bodyDropped(): void;
}

/**
 * A request body fed from STDIN records. When it holds more than its high-water mark, the
 * connection stops reading its socket until the application reads on (back-pressure).
 */
export class StdinBody extends Readable {
  private readonly source: BodySource;

  constructor(source: BodySource, highWaterMark: number) {
    super({ highWaterMark });
    this.source = source;
  }

  /**
   * Ends the body before its end: with `error` when someone listens for errors (a reader
   * learns the body is cut short), quietly otherwise (no unhandled 'error' event), as node:http
   * does with an aborted request.
   */
  fail(error?: Error): void {
    if (this.destroyed) return;
    this.destroy(error !== undefined && this.listenerCount("error") > 0 ? error : undefined);
  }

  override _read(): void {
    this.source.bodyWanted();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.source.bodyDropped();
    callback(error);
  }
}
