import { createReadStream, promises as fs } from "node:fs";
import { Readable, Writable, type Duplex, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Headers } from "./headers.js";
import { serializeCookie, type CookieOptions } from "./cookies.js";
import { VsgiError, ERR_HEAD_WRITTEN, ERR_INVALID_OPTION } from "./errors.js";
import { reasonPhrase } from "./reason-phrases.js";
import type { Request } from "./request.js";
import { logError } from "./handler.js";
import { finishEntry } from "./access-log.js";
import { ChainBottom, ResponseBody, Tee, waitDrain } from "./response-body.js";
import { hasCharset, statusAllowsContent, statusHasBody, withUtf8Charset } from "./content-rules.js";

/**
 * The promise the response helpers return when the response is complete at once (`expand`,
 * `expandUtf8`, `end` without filters): already resolved to `true`. A dispatcher that gets this
 * very object back may take it as `true` without waiting a turn, which is what keeps the
 * hello-world path free of promise bookkeeping.
 */
export const HANDLED: Promise<true> = Promise.resolve(true);
const TRUE = HANDLED;

/**
 * Something that must see a response just before its head is sent (see `Response.onHead`):
 * a middleware that decides from the final status and headers, such as one that compresses the
 * body. An object rather than a closure, so that a middleware can register a prototype method.
 */
export interface HeadListener {
  /**
   * Called once, just before the head is sent; may change the status and headers and call
   * `convert` or `tee`. `length` is the body's length in bytes when the body is sent at once
   * (`expand`, `end`), `null` when it streams (then only a Content-Length set by the
   * application tells it).
   */
  headWillBeSent(res: Response, length: number | null): void;
}

/**
 * A connection a response gave away (`Response.takeConnection`), for another protocol to speak
 * on it: what is written on it from then on is the taker's business, closing it too.
 */
export interface TakenConnection {
  /** The connection, now the taker's to read, write and close. */
  readonly socket: Duplex;
  /** Bytes the client sent after the request's head, already read off the socket: the new protocol's first. */
  readonly head: Buffer;
  /**
   * The backend's own request object, for a library that needs it: node:http's
   * `IncomingMessage` on the http backend (what `ws` takes).
   */
  readonly nativeRequest: unknown;
}

/**
 * A response, the same on every backend: set `status` and `headers`, then send the body with
 * one of the helpers, all of which resolve to `true` so a handler can return them.
 *
 * Backends implement `sendHead` (the head in their wire format) and `sink` (where body bytes
 * go, ending the response when it ends), and may override `sendWhole` to send head and body in
 * one write.
 *
 * @example
 * app.get("/", (req, res) => {
 *   res.status = 201;
 *   res.headers.set("Content-Type", "text/plain");
 *   return res.expandUtf8("created");
 * });
 */
export abstract class Response {
  /** The status code, 200 unless changed. */
  status = 200;
  /** The reason phrase; the standard one for `status` when `null`. */
  reasonPhrase: string | null = null;
  /** The response headers. `Set-Cookie` stays a list. */
  readonly headers = new Headers();
  readonly request: Request;

  private _headWritten = false;
  private _taken = false;
  private _body: ResponseBody | null = null;
  private _top: Writable | null = null;
  private _filtered = false;
  private _headListeners: HeadListener[] | null = null;
  /**
   * @internal When the access log is on, when the request started (`performance.now()`),
   * until the response is logged; -1 otherwise. The one thing the hot path checks.
   */
  logStart = -1;
  /** @internal Body bytes handed to the backend, counted while `logStart` is set. */
  logBytes = 0;

  constructor(request: Request) {
    this.request = request;
  }

  /** Writes the head in the backend's format. `hasBody` false: the sink must drop body bytes. */
  protected abstract sendHead(status: number, reason: string, headers: Headers, hasBody: boolean): void;

  /** Where body bytes go once the head is sent; ending it ends the response. */
  protected abstract get sink(): Writable;

  /** Sends head and body at once and ends; backends override it to save writes. */
  protected sendWhole(status: number, reason: string, headers: Headers, body: string | Uint8Array | null): void {
    const hasBody = body !== null;
    this.sendHead(status, reason, headers, hasBody);
    if (hasBody) this.sink.end(body);
    else this.sink.end();
  }

  /**
   * Logs an error about this request. The global logger by default (`setErrorLogger`);
   * backends with a per-request error channel (FastCGI's STDERR) add it there too.
   *
   * @example res.logError("payment service slow", err);
   */
  logError(message: string, error?: unknown): void {
    logError(message, error);
  }

  /** Drops the connection: the way out when a response cannot be completed. */
  abstract destroy(error?: Error): void;

  /**
   * Gives the connection away, for another protocol to speak on it (the websocket middleware
   * does): this response then counts as written, writes nothing, and `destroy` closes the
   * connection. `null` when the backend cannot (only the http backend can, for a request that
   * asks to upgrade and has no body) or the head is already written.
   *
   * @example
   * const taken = res.takeConnection();
   * if (taken === null) throw ServerError.notImplemented("this backend cannot switch protocols");
   */
  takeConnection(): TakenConnection | null {
    if (this._headWritten) return null;
    const taken = this.detachConnection();
    if (taken !== null) {
      this._headWritten = this._taken = true;
      if (this.logStart >= 0) finishEntry(this, 101);
    }
    return taken;
  }

  /** True once `takeConnection()` gave the connection away: this response is over. */
  get connectionTaken(): boolean {
    return this._taken;
  }

  /** The backend's part of `takeConnection`: `null` unless it can hand this request's connection over. */
  protected detachConnection(): TakenConnection | null {
    return null;
  }

  /**
   * @internal The response cannot complete (the client went away, or it is destroyed): the
   * access log records the status sent and the bytes that went out, or `unsent` when no head
   * was sent (499 by default, nginx's "client closed request").
   */
  logAborted(unsent = 499): void {
    if (this.logStart >= 0) finishEntry(this, this._headWritten ? this.status : unsent);
  }

  /** @internal Whether a filter (`convert`, `tee`) is in the body's way. */
  get filtered(): boolean {
    return this._filtered;
  }

  /** True once the status line and headers are sent. */
  get headWritten(): boolean {
    return this._headWritten;
  }

  /** Whether this response may carry a body (not for HEAD, 1xx, 204, 205, 304). */
  get hasBody(): boolean {
    return statusHasBody(this.request.method, this.status);
  }

  private reason(): string {
    const status = this.status;
    if (!Number.isInteger(status) || status < 100 || status > 999) {
      throw new VsgiError(ERR_INVALID_OPTION, `invalid status ${status}: a status is an integer from 100 to 999`);
    }
    const custom = this.reasonPhrase;
    if (custom === null) return reasonPhrase(status);
    if (/[\r\n\0]/.test(custom)) throw new VsgiError(ERR_INVALID_OPTION, "invalid reason phrase: CR, LF and NUL are not allowed");
    return custom;
  }

  private claimHead(): string {
    if (this._headWritten) {
      throw new VsgiError(ERR_HEAD_WRITTEN, "the head was already written: status and headers can no longer change");
    }
    const reason = this.reason();
    // a 205 has no content (RFC 9110 15.3.6), and says so: without a length an HTTP/1.1 client
    // would read it until the connection closes (RFC 9112 6.3)
    if (this.status === 205) this.headers.setTrusted("Content-Length", "0");
    this._headWritten = true;
    return reason;
  }

  /**
   * Sends the status line and headers now. Usually implicit: the body's first write does it.
   *
   * @example res.writeHead(); // e.g. before a long computation, to show the client progress
   */
  writeHead(): void {
    if (this._headListeners !== null) this.headWillBeSent(null);
    const reason = this.claimHead();
    this.sendHead(this.status, reason, this.headers, this.hasBody);
  }

  /** The bottom of a new filter chain, or the chain as it is. */
  private chainTarget(): Writable {
    return this._filtered ? this.bodyTarget : new ChainBottom(this, this.sink);
  }

  /**
   * Has `listener` called just before the head is sent, once, after every other change the
   * application makes: the place to decide from the final status and headers (compress or
   * not, transcode or not). Listeners run in the order they were added.
   *
   * @example res.onHead({ headWillBeSent: (res) => res.headers.set("X-Status", res.status) });
   */
  onHead(listener: HeadListener): void {
    if (this._headWritten) throw new VsgiError(ERR_HEAD_WRITTEN, "onHead() must be called before the head is written");
    if (this._headListeners === null) this._headListeners = [listener];
    else this._headListeners.push(listener);
  }

  private headWillBeSent(length: number | null): void {
    const listeners = this._headListeners!;
    this._headListeners = null;
    for (const listener of listeners) listener.headWillBeSent(this, length);
  }

  /** @internal The top of the filter chain: where the public body writes. */
  get bodyTarget(): Writable {
    if (this._top === null) this._top = this.sink;
    return this._top;
  }

  /**
   * The body, a Writable; its first write sends the head, ending it ends the response.
   *
   * @example
   * res.body.write("partial ");
   * res.body.end("done");
   */
  get body(): Writable {
    if (this._body === null) this._body = new ResponseBody(this);
    return this._body;
  }

  /**
   * Sends `bytes` as the whole body, with a Content-Length (unless a Content-Encoding or a
   * `convert` changes the length), and ends.
   *
   * @example return res.expand(Buffer.from([0xca, 0xfe]));
   */
  expand(bytes: Uint8Array | string): Promise<true> {
    if (this._headWritten || this._body !== null) {
      return this.finish(bytes);
    }
    const length = typeof bytes === "string" ? Buffer.byteLength(bytes) : bytes.byteLength;
    if (!this._filtered && statusAllowsContent(this.status) && !this.headers.hasLower("content-encoding")) {
      this.headers.setTrusted("Content-Length", String(length));
    }
    if (this._headListeners !== null) this.headWillBeSent(length);
    const hasBody = this.hasBody;
    if (this._filtered) {
      this.writeHead();
      if (hasBody) this.bodyTarget.end(bytes);
      else this.bodyTarget.end();
      return TRUE;
    }
    const reason = this.claimHead();
    this.sendWhole(this.status, reason, this.headers, hasBody ? bytes : null);
    if (this.logStart >= 0) {
      if (hasBody) this.logBytes += length;
      finishEntry(this, this.status);
    }
    return TRUE;
  }

  /**
   * Sends `text` encoded in UTF-8 as the whole body; the Content-Type (by default `text/plain`)
   * gets `charset=UTF-8`. Set `Content-Type: text/html` first for a page.
   *
   * @example return res.expandUtf8("hello world");
   */
  expandUtf8(text: string): Promise<true> {
    if (!this._headWritten) {
      const type = this.headers.firstLower("content-type");
      if (type === null) this.headers.setTrusted("Content-Type", "text/plain; charset=UTF-8");
      else if (!hasCharset(type)) this.headers.setTrusted("Content-Type", withUtf8Charset(type));
    }
    return this.expand(text);
  }

  /**
   * Sends `value` serialized with `JSON.stringify` as the whole body, with `Content-Type:
   * application/json` unless one is set (a `+json` type such as `application/problem+json`).
   * JSON is UTF-8 by definition (RFC 8259), so no charset is added. A value `JSON.stringify`
   * cannot serialize (`undefined`, a function, a cycle) throws before the head is written.
   *
   * @example return res.expandJson({ id: 1, name: "valum" });
   */
  expandJson(value: unknown): Promise<true> {
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) {
      throw new VsgiError(ERR_INVALID_OPTION, `expandJson cannot serialize ${value === undefined ? "undefined" : typeof value}`);
    }
    if (!this._headWritten && !this.headers.hasLower("content-type")) this.headers.setTrusted("Content-Type", "application/json");
    return this.expand(text);
  }

  /**
   * Streams `readable` as the body (no Content-Length unless set) and ends.
   *
   * @example return res.expandStream(fs.createReadStream("big.log"));
   */
  async expandStream(readable: Readable): Promise<true> {
    await pipeline(readable, this.body);
    return true;
  }

  /**
   * Streams a file as the body, with its size as Content-Length.
   *
   * @example return res.expandFile("/srv/www/index.html");
   */
  async expandFile(path: string): Promise<true> {
    const handle = await fs.open(path, "r");
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new VsgiError(ERR_INVALID_OPTION, `${path} is not a regular file`);
      if (!this._headWritten && !this._filtered && !this.headers.has("content-encoding")) {
        this.headers.set("Content-Length", stat.size);
      }
      if (!this.hasBody) {
        await this.end();
        return true;
      }
      const source = stat.size === 0 ? Readable.from([]) : createReadStream("", { fd: handle, autoClose: false, start: 0, end: stat.size - 1 });
      await pipeline(source, this.body);
      return true;
    } finally {
      await handle.close();
    }
  }

  /**
   * Writes a chunk of body (streaming, no Content-Length); resolves once the chunk is taken,
   * which is how a producer follows the client's pace.
   *
   * @example for (const row of rows) await res.append(JSON.stringify(row) + "\n");
   */
  append(chunk: Uint8Array | string): Promise<true> {
    const body = this.body;
    return new Promise((resolve, reject) => {
      if (body.write(chunk)) {
        resolve(true);
      } else {
        waitDrain(body, (err) => (err ? reject(err) : resolve(true)));
      }
    });
  }

  /**
   * Asks the backend to pass on, now, what the body has written so far, where the protocol
   * lets a front server hold it: the ajp backend sends an empty SEND_BODY_CHUNK, on which Apache
   * flushes to the client. The other backends write each chunk through at once and do nothing.
   * Call it once a write went through (its callback, or `append`'s promise).
   *
   * @example await res.appendUtf8("data: tick\n\n"); res.flush();
   */
  flush(): void {}

  /** `append` for text, encoded in UTF-8. */
  appendUtf8(text: string): Promise<true> {
    return this.append(Buffer.from(text, "utf8"));
  }

  /**
   * Ends the response, sending the head first if needed.
   *
   * @example res.status = 204; return res.end();
   */
  end(): Promise<true> {
    if (this._headListeners !== null && !this._headWritten && this._body === null) this.headWillBeSent(0);
    if (!this._headWritten && this._body === null && !this._filtered) {
      const reason = this.claimHead();
      this.sendWhole(this.status, reason, this.headers, null);
      if (this.logStart >= 0) finishEntry(this, this.status);
      return TRUE;
    }
    return this.finish(null);
  }

  private finish(last: Uint8Array | string | null): Promise<true> {
    const body = this.body;
    if (body.writableEnded) return TRUE;
    return new Promise((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve(true));
      if (last === null) body.end(done);
      else body.end(last, done);
    });
  }

  /**
   * Copies everything written to the body from now on into `writable` as well (a cache file, a
   * log). The filters added last see the data first.
   *
   * @example res.tee(fs.createWriteStream("/tmp/copy"));
   */
  tee(writable: Writable): void {
    if (this._headWritten) throw new VsgiError(ERR_HEAD_WRITTEN, "tee() must be called before the head is written");
    this._top = new Tee(this.chainTarget(), writable);
    this._filtered = true;
  }

  /**
   * Passes the body through `transform` (e.g. `zlib.createGzip()`) before it is sent; set the
   * matching Content-Encoding yourself. Content-Length is not computed any more.
   *
   * @example
   * res.headers.set("Content-Encoding", "gzip");
   * res.convert(zlib.createGzip());
   */
  convert(transform: Transform): void {
    if (this._headWritten) throw new VsgiError(ERR_HEAD_WRITTEN, "convert() must be called before the head is written");
    const below = this.chainTarget();
    transform.pipe(below);
    transform.on("error", (err) => this.destroy(err));
    // Below closing first (the client went away) leaves the transform without a reader: a
    // writer waiting for it to drain would wait forever. Closing it fails that wait instead.
    below.once("close", () => {
      if (!transform.writableFinished) transform.destroy();
    });
    this._top = transform;
    this._filtered = true;
    this.headers.delete("content-length");
  }

  /**
   * Adds a `Set-Cookie` header. With `signed: secret` the value is signed the way Express's
   * cookie-parser reads it (read it back with `req.lookupSignedCookie`).
   *
   * @example res.setCookie("session", id, { httpOnly: true, sameSite: "Lax", signed: secret });
   */
  setCookie(name: string, value: string, options?: CookieOptions): void {
    this.headers.append("Set-Cookie", serializeCookie(name, value, options));
  }
}
