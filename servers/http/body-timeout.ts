// The http backend's read timeout on request bodies (`bodyTimeout`): node bounds the whole
// receipt of a request (requestTimeout, 300 s) but not a body that stops arriving while the
// application waits for it. A body is watched only while its reader wants bytes (node asked for
// more with `_read`, and the last push was taken): an application that does not read, or reads
// slowly, is never cut. One set and one interval per server; a deadline refreshed per chunk is
// one assignment on a coarse clock.
import { performance } from "node:perf_hooks";
import type { Socket } from "node:net";
import { abortedError, logError, reasonPhrase } from "../../vsgi/index.js";

/** What the watch needs of node's request body (`VsgiIncomingMessage`). */
export interface WatchedBody {
  bodyDeadline: number;
  readonly socket: Socket;
  readonly method?: string;
  readonly url?: string;
  /** Aborts the request with `reason` (its body readers fail with it). */
  abortBody(reason: Error): void;
}

const TIMED_OUT = `HTTP/1.1 408 ${reasonPhrase(408)}\r\nConnection: close\r\n\r\n`;

/**
 * The bodies being read on one server, and the interval that cuts those whose bytes stopped.
 *
 * @example const timeouts = new BodyTimeouts(60000); timeouts.arm(message); // on each _read
 */
export class BodyTimeouts {
  readonly timeout: number;
  private readonly resolution: number;
  private now = 0;
  private readonly watched = new Set<WatchedBody>();
  private timer: NodeJS.Timeout | null = null;

  constructor(timeout: number) {
    this.timeout = timeout;
    this.resolution = Math.min(1000, Math.max(10, Math.floor(timeout / 4)));
  }

  /** The reader wants bytes: they must come within the timeout. */
  arm(body: WatchedBody): void {
    if (this.timer === null) {
      this.now = performance.now();
      this.timer = setInterval(sweep, this.resolution, this);
      this.timer.unref();
    }
    if (body.bodyDeadline === 0) this.watched.add(body);
    body.bodyDeadline = this.now + this.timeout;
  }

  /** The reader has enough for now, or the body ended: no deadline. */
  disarm(body: WatchedBody): void {
    if (body.bodyDeadline === 0) return;
    body.bodyDeadline = 0;
    this.watched.delete(body);
  }

  /** @internal Cuts the bodies whose bytes stopped; stops the interval when none is watched. */
  sweep(): void {
    const now = (this.now = performance.now());
    for (const body of this.watched) if (body.bodyDeadline <= now) this.expire(body);
    if (this.watched.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private expire(body: WatchedBody): void {
    this.disarm(body);
    const socket = body.socket;
    if (socket.destroyed) {
      // The connection is gone already (the response was sent without reading the body, then
      // the client or a stop closed it; node aborts only requests still unanswered): nobody
      // waits for these bytes but a reader, which is told, and there is nothing to log.
      body.abortBody(abortedError("the client closed the connection before the end of the request body"));
      return;
    }
    const why = `no request body for bodyTimeout (${this.timeout} ms)`;
    logError(`http: ${body.method} ${body.url} from ${socket.remoteAddress}: ${why}; closing the connection`);
    // 408 when nothing of the response went out yet (as node's own request timeout does),
    // before the abort: destroying an unfinished request destroys its socket.
    const inFlight = (socket as Socket & { _httpMessage?: { _headerSent?: boolean } | null })._httpMessage;
    if (socket.writable && (inFlight == null || inFlight._headerSent !== true)) socket.write(TIMED_OUT);
    body.abortBody(abortedError(`the client sent ${why}`));
    socket.destroy();
  }
}

function sweep(timeouts: BodyTimeouts): void {
  timeouts.sweep();
}
