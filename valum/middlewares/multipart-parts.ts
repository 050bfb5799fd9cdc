/**
 * The parts of a `multipart/form-data` body as `multipart` hands them out: busboy parses, this
 * turns its events into an async iterator with back-pressure, its limit signals and errors into
 * thrown statuses, and a client going away into a failed iteration.
 */
import type { Readable } from "node:stream";
import busboy from "busboy";
import { abortedError, ERR_ABORTED, Headers, VsgiError, type ReadonlyHeaders, type Request, type Response } from "../../vsgi/index.js";
import { MAX_HEADER_SIZE, watchHeaders } from "./multipart-busboy.js";
import { MultipartPart } from "./multipart-part.js";
import { ClientError, type Status } from "../status.js";

/** The limits after defaults, as `multipart` checked them. */
export interface ResolvedLimits {
  parts: number;
  fields: number;
  files: number;
  fileSize: number;
  fieldSize: number;
  headerPairs: number;
}

function noop(): void {}

/**
 * The parts of one `multipart/form-data` body: an async iterable of `MultipartPart`, read once.
 * The body is read only while the handler iterates, and only as fast as it reads the parts.
 *
 * @example for await (const part of ctx.multipart) console.log(part.name, part.filename);
 */
export class MultipartParts implements AsyncIterableIterator<MultipartPart> {
  /** @internal */
  readonly limits: ResolvedLimits;
  private _failure: Status | VsgiError | null = null;
  private readonly req: Request;
  private readonly res: Response;
  private readonly boundary: string;
  private parser: busboy.Busboy | null = null;
  private started = false;
  private finished = false;
  private stopped = false;
  private awaitingDrain = false;
  private readonly queue: MultipartPart[] = [];
  private current: MultipartPart | null = null;
  private currentDone = true;
  private waiter: { resolve: (r: IteratorResult<MultipartPart>) => void; reject: (e: unknown) => void } | null = null;
  private partCount = 0;
  private pendingHeaders: Record<string, string[]> | null = null;
  private oversizedHeader = false;
  private readonly onData = (chunk: Buffer): void => {
    if (!this.parser!.write(chunk)) {
      this.awaitingDrain = true;
      this.req.body.pause();
    }
  };
  private readonly onEnd = (): void => {
    if (!this.stopped) this.parser!.end();
  };
  private readonly onBodyError = (error: Error): void => this.fail(this.aborted(error));
  private readonly onAbort = (): void => this.fail(this.aborted(this.req.signal.reason));

  /** @internal `multipart` builds it. */
  constructor(req: Request, res: Response, boundary: string, limits: ResolvedLimits) {
    this.req = req;
    this.res = res;
    this.boundary = boundary;
    this.limits = limits;
  }

  /**
   * What the iteration failed with, or null: a `ClientError` (400, 413, 415), or the request's
   * `ERR_VSGI_ABORTED` `VsgiError` (its status 400) when the client went away.
   */
  get failure(): Status | VsgiError | null {
    return this._failure;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The next part, once the previous one was read to its end or skipped (drained). */
  next(): Promise<IteratorResult<MultipartPart>> {
    if (this.waiter !== null) return Promise.reject(new Error("multipart: next() called again before the previous call settled"));
    if (this._failure !== null) return Promise.reject(this._failure);
    if (!this.started) this.start();
    const current = this.current;
    // A part nobody started reading is skipped: its bytes flow through and are dropped.
    if (current !== null && !this.currentDone && current.readableFlowing === null) current.resume();
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.settle();
    });
  }

  /** Stops reading the body: the parts not read are dropped. */
  return(): Promise<IteratorResult<MultipartPart>> {
    this.stop();
    return Promise.resolve({ value: undefined, done: true });
  }

  private start(): void {
    this.started = true;
    const parser = busboy({
      headers: { "content-type": `multipart/form-data; boundary="${this.boundary}"` },
      // Busboy truncates at its limit even when a part is exactly that long: one byte more
      // tells "at the limit" (fine) from "over it" (a 413).
      limits: {
        fields: this.limits.fields,
        files: this.limits.files,
        fileSize: this.limits.fileSize + 1,
        fieldSize: this.limits.fieldSize + 1,
      },
      preservePath: true,
      defParamCharset: "utf8",
      highWaterMark: 128 * 1024,
    });
    this.parser = parser;
    watchHeaders(parser, this);
    parser.on("file", (name: string | undefined, stream: Readable, info: busboy.FileInfo) => this.onFile(name, stream, info));
    parser.on("field", (name: string | undefined, value: string | undefined, info: busboy.FieldInfo) => this.onField(name, value, info));
    parser.on("filesLimit", () => this.fail(ClientError.contentTooLarge(`more than ${this.limits.files} files`)));
    parser.on("fieldsLimit", () => this.fail(ClientError.contentTooLarge(`more than ${this.limits.fields} fields`)));
    parser.on("error", (error: Error) => this.sourceFailed(error));
    parser.on("drain", () => {
      this.awaitingDrain = false;
      this.resumeInput();
    });
    parser.on("finish", () => {
      if (this.skipped()) return;
      this.finished = true;
      this.detach();
      this.settle();
    });
    const body = this.req.body;
    body.on("data", this.onData);
    body.once("end", this.onEnd);
    body.on("error", this.onBodyError);
    this.req.signal.addEventListener("abort", this.onAbort, { once: true });
    if (this.req.aborted) this.onAbort();
  }

  /** @internal Part headers, from the parser, before its `file` or `field` event. */
  onHeader(header: Record<string, string[]>): void {
    if (this.skipped()) return;
    if (++this.partCount > this.limits.parts) return this.fail(ClientError.contentTooLarge(`more than ${this.limits.parts} parts`));
    let pairs = 0;
    for (const name in header) pairs += header[name]!.length;
    if (pairs > this.limits.headerPairs) return this.fail(ClientError.contentTooLarge(`a part with more than ${this.limits.headerPairs} header lines`));
    const disposition = header["content-disposition"]?.[0];
    if (disposition === undefined || !/^\s*form-data\s*(;|$)/i.test(disposition)) {
      return this.fail(ClientError.badRequest("a part without Content-Disposition: form-data"));
    }
    this.pendingHeaders = header;
  }

  /**
   * Busboy drops a part whose Content-Disposition it cannot parse (a bad `filename*`, an empty
   * `name=`) without a word: the headers of a part that never became a file or a field tell.
   */
  private skipped(): boolean {
    if (this.pendingHeaders === null || this._failure !== null) return false;
    this.fail(ClientError.badRequest("a part with a malformed Content-Disposition"));
    return true;
  }

  /** @internal */
  onOversized(): void {
    this.oversizedHeader = true;
  }

  private headersOf(): ReadonlyHeaders {
    const pairs: [string, string][] = [];
    const header = this.pendingHeaders;
    this.pendingHeaders = null;
    if (header !== null) for (const name in header) for (const value of header[name]!) pairs.push([name, value]);
    return new Headers(pairs, false);
  }

  private onFile(name: string | undefined, stream: Readable, info: busboy.FileInfo): void {
    if (this._failure !== null) return void stream.resume();
    if (name === undefined) return this.fail(ClientError.badRequest("a part without a name"));
    const part = new MultipartPart(this, {
      name,
      filename: info.filename ?? null,
      type: info.mimeType,
      headers: this.headersOf(),
      source: stream,
      value: null,
    });
    stream.once("limit", () => this.fail(ClientError.contentTooLarge(`the file ${JSON.stringify(name)} is larger than ${this.limits.fileSize} bytes`)));
    this.enqueue(part);
  }

  private onField(name: string | undefined, value: string | undefined, info: busboy.FieldInfo): void {
    if (this._failure !== null) return;
    if (name === undefined) return this.fail(ClientError.badRequest("a part without a name"));
    // busboy gives no value for a charset it does not know
    if (typeof value !== "string") return this.fail(ClientError.unsupportedMediaType(`the field ${JSON.stringify(name)} is in an unknown charset`));
    if (info.valueTruncated) return this.fail(ClientError.contentTooLarge(`the field ${JSON.stringify(name)} is longer than ${this.limits.fieldSize} bytes`));
    this.enqueue(new MultipartPart(this, { name, filename: null, type: info.mimeType, headers: this.headersOf(), source: null, value }));
  }

  private enqueue(part: MultipartPart): void {
    const done = (): void => {
      if (this.current === part) {
        this.currentDone = true;
        this.settle();
      }
    };
    part.once("end", done);
    part.once("close", done);
    this.queue.push(part);
    // A part waiting to be taken holds the body: fields cannot pile up in memory.
    this.req.body.pause();
    this.settle();
  }

  private resumeInput(): void {
    if (this.started && !this.stopped && !this.finished && this._failure === null && !this.awaitingDrain && this.queue.length === 0) {
      this.req.body.resume();
    }
  }

  private settle(): void {
    const waiter = this.waiter;
    if (waiter === null) return;
    if (this._failure !== null) {
      this.waiter = null;
      waiter.reject(this._failure);
      return;
    }
    if (!this.currentDone) return;
    const part = this.queue.shift();
    if (part !== undefined) {
      this.waiter = null;
      this.current = part;
      this.currentDone = part.readableEnded || part.destroyed;
      this.resumeInput();
      waiter.resolve({ value: part, done: false });
      return;
    }
    if (this.finished || this.stopped) {
      this.waiter = null;
      waiter.resolve({ value: undefined, done: true });
      return;
    }
    this.resumeInput();
  }

  /** The request's own abort error (ERR_VSGI_ABORTED, a 400) when the backend gave one. */
  private aborted(reason: unknown): VsgiError {
    if (reason instanceof VsgiError && reason.code === ERR_ABORTED) return reason;
    return abortedError("the client went away before the end of the form", reason);
  }

  /** @internal An error of the parser or of a part's stream. */
  sourceFailed(error: Error): void {
    if (this._failure !== null || this.stopped) return;
    if (this.req.aborted) return this.fail(this.aborted(this.req.signal.reason ?? error));
    if (this.oversizedHeader) return this.fail(ClientError.contentTooLarge(`a part's header is longer than ${MAX_HEADER_SIZE} bytes`));
    const cut = /^Unexpected end of/.test(error.message);
    this.fail(
      new ClientError(400, cut ? "the multipart body ends before its closing boundary" : `malformed multipart body: ${error.message.toLowerCase()}`, {
        cause: error,
      }),
    );
  }

  /**
   * @internal Fails the iteration and the parts in flight with `status`. If the response head
   * is out, the status cannot reach the client: the connection is closed instead.
   */
  fail(status: Status | VsgiError): void {
    if (this._failure !== null || this.stopped) return;
    this._failure = status;
    this.detach();
    // Often called from inside busboy's own callbacks, which go on using the parser after the
    // event: it is torn down once they return.
    process.nextTick(() => this.teardown(status));
    if (this.res.headWritten) this.res.destroy(status);
    this.settle();
  }

  /** @internal Stops parsing without failing: the handler is done with the form. */
  stop(): void {
    if (this.stopped || !this.started || this._failure !== null) {
      this.stopped = true;
      return;
    }
    this.stopped = true;
    this.detach();
    const stopped = new Error("multipart: the handler stopped reading the form");
    process.nextTick(() => this.teardown(stopped));
    this.settle();
  }

  /** @internal After the forward returned: a failure it swallowed still reaches the client. */
  settled(handled: boolean): boolean {
    if (this._failure !== null && !this.res.headWritten) throw this._failure;
    if (!this.finished) this.stop();
    return handled;
  }

  private teardown(error: Error): void {
    for (const part of [this.current, ...this.queue]) if (part !== null && !part.destroyed && !part.readableEnded) part.destroy(error);
    this.queue.length = 0;
    const parser = this.parser;
    if (parser !== null) {
      parser.removeAllListeners("file");
      parser.removeAllListeners("field");
      parser.on("error", noop);
      parser.destroy();
    }
  }

  private detach(): void {
    const body = this.req.body;
    body.off("data", this.onData);
    body.off("end", this.onEnd);
    body.off("error", this.onBodyError);
    if (!this.finished) body.pause();
    this.req.signal.removeEventListener("abort", this.onAbort);
  }
}
