import type { Request, Response } from "../../vsgi/index.js";
import type { Context } from "../context.js";
import type { ForwardCallback, HandlerCallback, NextCallback } from "../handler.js";
import { EVENT_STREAM_TYPE, KEEP_ALIVE_COMMENT, encodeEvent, lastEventId, type ServerSentEvent } from "../http/sse.js";
import { invalidOption } from "./options.js";

/** Options of `serverSentEvents`. */
export interface ServerSentEventsOptions {
  /**
   * Milliseconds of silence after which a comment line is written, so that proxies and load
   * balancers (nginx's `fastcgi_read_timeout`, 60 s) do not close an idle stream; `0` writes none.
   * An integer from 0 to 2147483647 (the largest delay node's timers take).
   * @default 15_000
   */
  keepAlive?: number;
}

/** The defaults of `serverSentEvents`' options. */
export const SERVER_SENT_EVENTS_DEFAULTS: Readonly<Required<ServerSentEventsOptions>> = Object.freeze({
  keepAlive: 15_000,
});

/**
 * What the forward callback of `serverSentEvents` gets (and `ctx.sse`): a function that writes
 * one event, and what the handler needs to know about the stream.
 *
 * `send(event)` resolves to `true` once the event is written to the connection (its buffer took
 * it, after waiting for it to drain if it was full: awaiting each `send` follows the client's
 * pace), and to `false`, without writing, once the stream is over: the client went away or the
 * handler ended. It rejects only for an event that cannot be encoded (`EventStreamError`).
 */
export interface SendEvent {
  (event: ServerSentEvent): Promise<boolean>;
  /** The `Last-Event-ID` the client sent when reconnecting, or `null`. */
  readonly lastEventId: string | null;
  /** Aborted when the client goes away (the request's `signal`): stop producing then. */
  readonly signal: AbortSignal;
}

const FALSE: Promise<boolean> = Promise.resolve(false);

/** Marks a response as an event stream: never cached, never buffered by nginx, no length. */
function setStreamHeaders(res: Response): void {
  const headers = res.headers;
  headers.set("Content-Type", EVENT_STREAM_TYPE);
  headers.set("Cache-Control", "no-cache");
  headers.set("X-Accel-Buffering", "no");
  headers.delete("Content-Length");
}

/**
 * Writes a keep-alive comment when nothing was written since the last tick, and nothing waits
 * to be written (a slow client gets no comments piled up behind its events).
 */
function tick(stream: EventStream): void {
  if (stream.wrote) stream.wrote = false;
  else if (stream.idle) void stream.write(KEEP_ALIVE_COMMENT);
}

/**
 * One open stream: its keep-alive timer and whether it is over. An `abort` listener on the
 * request's signal itself (`handleEvent`), so that no closure is made per request beyond `send`.
 */
class EventStream {
  wrote = false;
  /** The head is ours: the middleware wrote it (first event or keep-alive). */
  started = false;
  closed = false;
  private readonly req: Request;
  private readonly res: Response;
  private readonly signal: AbortSignal;
  private timer: NodeJS.Timeout | null = null;

  constructor(req: Request, res: Response, keepAlive: number) {
    this.req = req;
    this.res = res;
    this.signal = req.signal;
    if (this.signal.aborted) {
      this.closed = true;
      return;
    }
    this.signal.addEventListener("abort", this);
    if (keepAlive > 0) {
      this.timer = setInterval(tick, keepAlive, this);
      // The connection keeps the process alive, not the timer.
      this.timer.unref();
    }
  }

  send(message: ServerSentEvent): Promise<boolean> {
    let text: string;
    try {
      text = encodeEvent(message);
    } catch (error) {
      return Promise.reject(error);
    }
    this.wrote = true;
    return this.write(text);
  }

  write(text: string): Promise<boolean> {
    if (this.closed) return FALSE;
    const res = this.res;
    if (!this.started) {
      // The forward answered by itself (a 204 to stop the client reconnecting, an error page):
      // the stream never starts.
      if (res.headWritten) return FALSE;
      this.started = true;
      setStreamHeaders(res);
    }
    const body = res.body;
    if (body.writableEnded || body.destroyed || this.req.aborted) return FALSE;
    return new Promise((resolve) => {
      body.write(text, (error) => {
        if (error != null) return resolve(false);
        // Where a front server may hold what it got (Apache AJP), ask it to pass it on.
        res.flush();
        resolve(true);
      });
    });
  }

  /** Nothing of the body waits in its buffer. */
  get idle(): boolean {
    return !this.started || this.res.body.writableLength === 0;
  }

  /** The client went away (the signal's `abort`). */
  handleEvent(): void {
    this.stop();
  }

  /** No more writes; the timer and the listener go. */
  stop(): void {
    this.closed = true;
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
    this.signal.removeEventListener("abort", this);
  }

  /** The forward settled with `handled`: ends what the middleware started. */
  finish(handled: boolean): boolean | Promise<boolean> {
    this.stop();
    const res = this.res;
    if (this.started) {
      if (this.req.aborted || res.body.writableEnded || res.body.destroyed) return true;
      return res.end().catch(() => true);
    }
    if (res.headWritten || !handled) return handled;
    // Handled without a word: an empty stream (the client reconnects after its retry delay).
    setStreamHeaders(res);
    return res.end();
  }

  fail(error: unknown): never {
    this.stop();
    throw error;
  }
}

function checkKeepAlive(keepAlive: unknown): number {
  if (typeof keepAlive !== "number" || !Number.isInteger(keepAlive) || keepAlive < 0 || keepAlive > 2147483647) {
    throw invalidOption("serverSentEvents", "keepAlive", "an integer number of milliseconds from 0 (none) to 2147483647", keepAlive);
  }
  return keepAlive;
}

/**
 * Streams Server-Sent Events (`text/event-stream`) to an `EventSource`. The forward gets `send`
 * (also in `ctx.sse`); each event is written and sent on at once, through every backend and
 * front server configured as `docs/middlewares/sse.md` says.
 *
 * The stream stays open until the forward's promise settles (then the response ends) or the
 * client goes away (`send.signal` aborts, `send` resolves `false`, the keep-alive timer stops).
 * The head (200, `Content-Type: text/event-stream; charset=UTF-8`, `Cache-Control: no-cache`,
 * `X-Accel-Buffering: no`, no Content-Length) is written by the first event or keep-alive
 * comment: until then the forward may still throw a status, call `next()` or answer by itself
 * (a 204 tells an `EventSource` to stop reconnecting). A forward that returns `false` without
 * sending anything passes the request on. HEAD gets the head without running the forward.
 *
 * @example
 * app.get("/clock", serverSentEvents(async (req, res, next, ctx, send) => {
 *   let n = Number(send.lastEventId ?? 0);
 *   while (await send({ id: String(++n), data: new Date().toISOString() })) {
 *     await setTimeout(1000, null, { signal: send.signal }).catch(() => null);
 *   }
 *   return true;
 * }));
 */
export function serverSentEvents<C extends Context = Context>(
  forward: ForwardCallback<SendEvent, C>,
  options: ServerSentEventsOptions = {},
): HandlerCallback<C> {
  if (typeof forward !== "function") throw invalidOption("serverSentEvents", "forward", "a function (req, res, next, ctx, send)", forward);
  if (options === null || typeof options !== "object") throw invalidOption("serverSentEvents", "options", "an object", options);
  const keepAlive = checkKeepAlive(options.keepAlive ?? SERVER_SENT_EVENTS_DEFAULTS.keepAlive);

  return function serverSentEventsHandler(req: Request, res: Response, next: NextCallback, ctx: C): boolean | Promise<boolean> {
    if (req.method === "HEAD") {
      setStreamHeaders(res);
      return res.end();
    }
    const stream = new EventStream(req, res, keepAlive);
    const send = Object.assign(stream.send.bind(stream), {
      lastEventId: lastEventId(req.header("last-event-id")),
      signal: req.signal,
    }) as SendEvent;
    (ctx as Context).sse = send;
    let result: boolean | Promise<boolean>;
    try {
      result = forward(req, res, next, ctx, send);
    } catch (error) {
      return stream.fail(error);
    }
    if (typeof result === "boolean") return stream.finish(result);
    return Promise.resolve(result).then(
      (handled) => stream.finish(handled),
      (error: unknown) => stream.fail(error),
    );
  };
}
