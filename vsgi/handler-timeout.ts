// The opt-in handler timeout (`handlerTimeout`): a handler whose promise has not settled within
// it is answered 503 (or, once its head is out, its connection is closed), and its request's
// abort signal fires. Every request in flight of a server waits in one intrusive list, in the
// order they started: with one timeout for all, the first to expire is always at the head, so a
// request costs one small object and no timer of its own, and a sweep stops at the first
// request not yet due. Off (the default), the server does not wrap its handler at all.
import { performance } from "node:perf_hooks";
import type { Request } from "./request.js";
import type { Response } from "./response.js";
import type { HandlerFunction } from "./handler.js";
import { HANDLED } from "./response.js";
import { answerTimeout } from "./answer.js";
import { VsgiError, ERR_HANDLER_TIMEOUT } from "./errors.js";

/** One handler in flight: its request, its response, when it is due. */
class Pending {
  expired = false;
  previous: Pending | null = null;
  next: Pending | null = null;

  constructor(
    readonly request: Request,
    readonly response: Response,
    readonly deadline: number,
  ) {}
}

/**
 * The handlers in flight of one server, and the one interval that times them out: it runs only
 * while some handler is in flight, every quarter of the timeout (between 10 ms and 1 s).
 *
 * @example const timed = new HandlerTimeouts(30000).wrap(handler); // what `handlerTimeout: 30000` does
 */
export class HandlerTimeouts {
  /** Milliseconds a handler may take. */
  readonly timeout: number;
  private readonly resolution: number;
  private readonly message: string;
  /** The coarse clock deadlines are counted on: read when the sweep runs, not per request. */
  private now = 0;
  private head: Pending | null = null;
  private tail: Pending | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(timeout: number) {
    this.timeout = timeout;
    this.resolution = Math.min(1000, Math.max(10, Math.floor(timeout / 4)));
    this.message = `the handler did not finish within handlerTimeout (${timeout} ms)`;
  }

  /**
   * `handler`, timed: a handler that answers at once (returns a boolean, or the `HANDLED`
   * promise of the response helpers) is not watched at all.
   *
   * @example const timed = new HandlerTimeouts(30000).wrap(toHandlerFunction(app));
   */
  wrap(handler: HandlerFunction): HandlerFunction {
    return (req, res) => {
      const result = handler(req, res);
      if (typeof result === "boolean" || result === HANDLED) return result;
      return this.watch(result, req, res);
    };
  }

  /** Waits for a handler's promise while it is in the list; after its timeout, its outcome no longer matters. */
  private async watch(result: Promise<boolean>, req: Request, res: Response): Promise<boolean> {
    const pending = this.add(req, res);
    try {
      const handled = await result;
      return pending.expired || handled;
    } catch (error) {
      // Answered already: a late failure is most often the abort the handler was told of.
      if (pending.expired) return true;
      throw error;
    } finally {
      this.remove(pending);
    }
  }

  private add(req: Request, res: Response): Pending {
    if (this.timer === null) {
      this.now = performance.now();
      // Not unref'd: a handler in flight must be timed out even where nothing else keeps the
      // process alive (a CGI program whose input ended); it runs only while one is in flight.
      this.timer = setInterval(sweep, this.resolution, this);
    }
    const pending = new Pending(req, res, this.now + this.timeout);
    const tail = this.tail;
    pending.previous = tail;
    if (tail !== null) tail.next = pending;
    else this.head = pending;
    this.tail = pending;
    return pending;
  }

  private remove(pending: Pending): void {
    const { previous, next } = pending;
    if (previous === null && next === null && this.head !== pending) return; // removed already
    if (previous !== null) previous.next = next;
    else this.head = next;
    if (next !== null) next.previous = previous;
    else this.tail = previous;
    pending.previous = pending.next = null;
  }

  /** @internal Times out the handlers that are due; stops the interval when none is in flight. */
  sweep(): void {
    const now = (this.now = performance.now());
    let pending = this.head;
    while (pending !== null && pending.deadline <= now) {
      const next = pending.next;
      this.remove(pending);
      this.expire(pending);
      pending = next;
    }
    if (this.head === null && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private expire(pending: Pending): void {
    const { request, response } = pending;
    // A connection given to another protocol (a websocket) is no longer an HTTP response in
    // flight: its session may last as long as it likes.
    if (response.connectionTaken) return;
    pending.expired = true;
    const error = new VsgiError(ERR_HANDLER_TIMEOUT, this.message, { status: 503 });
    if (response.headWritten) {
      // The signal first: closing the connection would abort the request with a reason of its own.
      request.abort(error);
      answerTimeout(response, error);
    } else {
      // The answer first: an aborted request's response refuses writes.
      answerTimeout(response, error);
      request.abort(error);
    }
  }
}

function sweep(timeouts: HandlerTimeouts): void {
  timeouts.sweep();
}
