/**
 * What `contentLength` and `decode` share: a request body replaced by a stream that counts what
 * goes through it (after decoding, if there are decoders) and fails with a 413 past a limit.
 * Nothing is read before the application reads the body.
 */
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { VsgiError, ERR_BAD_REQUEST, ERR_BODY_TOO_LARGE, type Request, type Response } from "../../vsgi/index.js";
import { toStatus } from "../status.js";

function noop(): void {}

/** Passes chunks through, failing with a 413 once more than `limit` bytes went by. */
class Counter extends Transform {
  /** The error this stream failed with because of the body itself (413, 400), if it did. */
  failure: VsgiError | null = null;
  protected readonly limit: number;
  protected readonly what: string;
  private size = 0;

  constructor(limit: number, what: string) {
    super();
    this.limit = limit;
    this.what = what;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.limit) {
      callback((this.failure = new VsgiError(ERR_BODY_TOO_LARGE, `request body larger than ${this.limit} bytes${this.what}`, { status: 413 })));
    } else {
      callback(null, chunk);
    }
  }
}

/**
 * The body a middleware puts in `req.body`: `source` through `decoders` (undone in that order),
 * each stage's output counted against `limit` (so a small compressed bomb fails early). It
 * starts reading `source` on the first read; on failure it stops reading from it and lets the
 * rest be discarded, so the connection stays usable and the client gets the answer.
 */
export class LimitedBody extends Counter {
  private source: Readable | null;
  private readonly decoders: readonly (readonly [name: string, make: () => Transform])[];
  private readonly stages: Transform[] = [];
  /** What `source` is piped into, once started. */
  private first: Transform | null = null;

  constructor(source: Readable, limit: number, decoders: readonly (readonly [string, () => Transform])[] = []) {
    super(limit, decoders.length > 0 ? " once decoded" : "");
    this.source = source;
    this.decoders = decoders;
    // An error nobody listens to must not take the process down: readers (flatten, pipeline)
    // add their own listeners and get it.
    this.on("error", noop);
  }

  override _read(size: number): void {
    if (this.first === null && this.source !== null) this.start();
    super._read(size);
  }

  private start(): void {
    this.first = this; // started: the decoders below, if any, take its place
    const source = this.source!;
    source.once("error", (error: Error) => this.destroy(error));
    let upstream: Readable = source;
    for (const [name, make] of this.decoders) {
      const decoder = make();
      decoder.once("error", (error: Error) => {
        const failure = (this.failure = new VsgiError(ERR_BAD_REQUEST, `corrupt ${name} request body: ${error.message}`, { status: 400, cause: error }));
        this.destroy(failure);
      });
      upstream.pipe(decoder);
      this.stages.push(decoder);
      upstream = decoder;
      if (this.stages.length < this.decoders.length) {
        // between two decoders too, so a stack of codings cannot grow past the limit unseen
        const counter = new Counter(this.limit, this.what);
        counter.once("error", (error: Error) => {
          this.failure = counter.failure;
          this.destroy(error);
        });
        upstream.pipe(counter);
        this.stages.push(counter);
        upstream = counter;
      }
    }
    upstream.pipe(this);
    this.first = this.stages[0] ?? this;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const source = this.source;
    this.source = null;
    if (source !== null && this.first !== null) {
      source.unpipe(this.first);
      // Discard the rest, as node does for a body nobody read: the answer can go out and the
      // connection be used again.
      if (!source.destroyed && !source.readableEnded) source.resume();
    }
    for (const stage of this.stages) stage.destroy();
    callback(error);
  }

  /**
   * What to throw when the handler under the middleware failed: the body's own failure (413,
   * 400) if the body failed and the head is not written, whatever the handler made of it,
   * else the handler's error.
   */
  rethrow(res: Response, error: unknown): never {
    const failure = this.failure;
    if (failure !== null && error !== failure && !res.headWritten) throw toStatus(failure) ?? failure;
    throw error;
  }
}

/**
 * Whether a request without a declared length certainly has no body: on node:http, neither a
 * length nor chunking means none (RFC 9112 6.3). Gateways may stream a body without
 * CONTENT_LENGTH (FastCGI, AJP), so there one is always assumed.
 */
export function bodilessWithoutLength(req: Request): boolean {
  return req.gatewayInterface.startsWith("HTTP/") && req.header("transfer-encoding") === null;
}

/**
 * Runs `next` under a replaced body: a failure of the body (413, 400) reaches the client as
 * that status even when the handler turned it into another error.
 */
export function guarded(next: () => boolean | Promise<boolean>, body: LimitedBody, res: Response): boolean | Promise<boolean> {
  const result = next();
  if (typeof result === "boolean") return result;
  return result.then(undefined, (error: unknown) => body.rethrow(res, error));
}
