// The body streams of a response: the public one (`Response.body`), and the filter chain's
// parts below it (`tee`, `convert`) down to the backend's sink. Apart from response.ts, which
// holds the head and the helpers that send a body at once.
import { Writable } from "node:stream";
import { VsgiError, ERR_REQUEST_ENDED } from "./errors.js";
import { finishEntry } from "./access-log.js";
import type { Response } from "./response.js";

function noop(): void {}

function byteLength(chunk: Buffer | string, encoding: BufferEncoding): number {
  return typeof chunk === "string" ? Buffer.byteLength(chunk, encoding) : chunk.byteLength;
}

/**
 * The public body stream: its first write sends the head, then bytes flow into the top of the
 * filter chain (`convert`, `tee`) and down to the backend's sink.
 */
export class ResponseBody extends Writable {
  private readonly response: Response;

  constructor(response: Response) {
    super({ decodeStrings: false });
    this.response = response;
    // A failure here (the client went away) reaches the application through its writes and
    // append's promise; as an 'error' event with no listener it would crash the process.
    this.on("error", noop);
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const res = this.response;
    if (!headOut(res, callback)) return;
    const top = res.bodyTarget;
    // An aborted request's response has no reader left: the writer learns it at once, the same
    // on every backend, rather than from whatever the backend's sink does (some drop silently).
    // The head is out first, so that what answers the failure closes the connection instead of
    // writing a second head.
    if (res.request.aborted) {
      callback(new VsgiError(ERR_REQUEST_ENDED, "the request was aborted: the response can no longer be sent"));
    } else if (!res.hasBody) {
      // not every backend's sink drops what a bodiless status must not send (node:http sends a 205's)
      callback();
    } else {
      if (res.logStart >= 0 && !res.filtered) res.logBytes += byteLength(chunk, encoding);
      writeOn(top, chunk, encoding, callback);
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    const res = this.response;
    if (!headOut(res, callback)) return;
    res.bodyTarget.end();
    if (res.logStart >= 0 && !res.filtered) finishEntry(res, res.status);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (error !== null) destroyResponse(this.response, error);
    callback(error);
  }
}

/** Sends the head if it is not out yet; false (and `callback` told why) when it cannot be. */
function headOut(res: Response, callback: (error?: Error | null) => void): boolean {
  if (res.headWritten) return true;
  try {
    res.writeHead();
    return true;
  } catch (err) {
    callback(err as Error);
    return false;
  }
}

/** A body stream failed: the response cannot complete (a head already sent is logged as is). */
function destroyResponse(res: Response, error: Error): void {
  if (res.logStart >= 0 && res.headWritten) finishEntry(res, res.status);
  res.destroy(error);
}

/** Writes a chunk of the body on the stage below, calling back once it took it (after a drain). */
function writeOn(below: Writable, chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
  if (below.destroyed) callback(new VsgiError(ERR_REQUEST_ENDED, "the response sink is closed"));
  else if (below.write(chunk, encoding)) callback();
  else waitDrain(below, callback);
}

/**
 * Calls back once `stream` drains, or with an error if it closes or fails first, or is already
 * destroyed (a write on a destroyed stream returns false after its 'close': nothing would come).
 */
export function waitDrain(stream: Writable, callback: (error?: Error | null) => void): void {
  if (stream.destroyed) {
    process.nextTick(callback, new VsgiError(ERR_REQUEST_ENDED, "the response sink is closed"));
    return;
  }
  const done = (err?: Error): void => {
    stream.off("drain", onDrain);
    stream.off("close", onClose);
    stream.off("error", onError);
    callback(err);
  };
  const onDrain = (): void => done();
  const onClose = (): void => done(new VsgiError(ERR_REQUEST_ENDED, "the response sink closed"));
  const onError = (err: Error): void => done(err);
  stream.on("drain", onDrain);
  stream.on("close", onClose);
  stream.on("error", onError);
}

/**
 * The bottom of a filter chain (`tee`, `convert`), above the backend's sink: what the filters
 * emit for a response without body (a gzip trailer after a 205) is dropped here.
 */
export class ChainBottom extends Writable {
  private readonly response: Response;
  private readonly sink: Writable;

  constructor(response: Response, sink: Writable) {
    super({ decodeStrings: false });
    this.response = response;
    this.sink = sink;
    this.on("error", noop); // reported through the response, as ResponseBody's
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const res = this.response;
    if (!res.hasBody) return callback();
    if (res.logStart >= 0) res.logBytes += byteLength(chunk, encoding);
    writeOn(this.sink, chunk, encoding, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.sink.end();
    if (this.response.logStart >= 0) finishEntry(this.response, this.response.status);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (error !== null) destroyResponse(this.response, error);
    callback(error);
  }
}

/** Writes each chunk to two streams, waiting for both: what `tee` inserts in the chain. */
export class Tee extends Writable {
  private readonly a: Writable;
  private readonly b: Writable;

  constructor(a: Writable, b: Writable) {
    super({ decodeStrings: false });
    this.a = a;
    this.b = b;
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    let pending = 2;
    let failed = false;
    const one = (err?: Error | null): void => {
      if (failed) return;
      if (err) {
        failed = true;
        callback(err);
      } else if (--pending === 0) callback();
    };
    for (const out of [this.a, this.b]) {
      if (out.write(chunk, encoding)) one();
      else waitDrain(out, one);
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.a.end();
    this.b.end();
    callback();
  }
}
