// One FastCGI connection: the socket's life (reads, the front server's end, timeouts, closing),
// the dispatch of each record to its exchange, and how an exchange ends (END_REQUEST sent,
// aborted, failed). What each record does is input.ts, the writes with their corking and flow
// control output.ts, the table of request ids request-ids.ts, one request's side exchange.ts.
import type { Socket } from "node:net";
import { logError, type HandlerFunction } from "../../vsgi/handler.js";
import type { CgiEnvironmentOptions } from "../../vsgi/cgi-environment.js";
import { abortedError } from "../../vsgi/errors.js";
import { TrackedConnection } from "../../vsgi/connections.js";
import {
  RecordParser,
  FastcgiProtocolError,
  TYPE_NAMES,
  BEGIN_REQUEST,
  ABORT_REQUEST,
  PARAMS,
  STDIN,
  DATA,
  type RecordHandler,
} from "./records.js";
import { endedError, type Exchange } from "./exchange.js";
import { lookup, exchangesNow, removeExchange, ignore, isIgnored, unignore, forgetIgnored, type RequestIds } from "./request-ids.js";
import { onManagement, onBegin, onParams, onStdin, dispatchReady, keepParams } from "./input.js";
import { out, drained } from "./output.js";

/** What a connection needs from its server. */
export interface ConnectionHost {
  /** The application. */
  readonly app: HandlerFunction;
  readonly cgiOptions: CgiEnvironmentOptions;
  readonly maxParamsSize: number;
  readonly maxRequests: number;
  readonly maxConnections: number;
  readonly multiplex: boolean;
  readonly bodyHighWaterMark: number;
  readonly isStopping: boolean;
  /** Milliseconds of silence after which a connection is closed, unless its application works; 0: never. */
  readonly idleTimeout: number;
  /** Milliseconds from BEGIN_REQUEST to the end of PARAMS, however they trickle in; 0: no limit. */
  readonly headTimeout: number;
}

/**
 * A FastCGI connection from a front server: parses records, runs one exchange per request id
 * (several at once when the front server multiplexes), answers management records, and writes
 * responses with the socket's back-pressure.
 *
 * Writes are corked until the event loop's check phase and leave in one writev: the last STDOUT
 * bytes, the end of STDOUT and END_REQUEST leave together, even when the application ends its
 * response in a promise continuation after its last write.
 *
 * @example new FastcgiConnection(server, socket); // from the listener's connection handler
 */
export class FastcgiConnection extends TrackedConnection implements RecordHandler, RequestIds {
  /** @internal */
  readonly host: ConnectionHost;
  private readonly parser: RecordParser;
  // The request ids (request-ids.ts).
  /** @internal */
  single: Exchange | null = null;
  /** @internal */
  many: Map<number, Exchange> | null = null;
  /** @internal */
  active = 0;
  /** @internal */
  ignoredId = -1;
  /** @internal */
  ignored: Set<number> | null = null;
  /** @internal */
  multiplexes = false;
  /** @internal Requests whose PARAMS ended in the chunk being read: run after it (input.ts). */
  ready: Exchange | null = null;
  /** @internal */
  readyMore: Exchange[] | null = null;
  /** @internal Exchanges with a write waiting for 'drain' (output.ts). */
  waiting = 0;
  /** @internal The socket is corked until the next check phase (output.ts). */
  corked = false;
  /** @internal Exchanges whose body holds more than its high-water mark: the socket is paused while any does. */
  congested = 0;
  /** @internal The connection ends once no request is in flight (no FCGI_KEEP_CONN, a stop, the front server's end). */
  closeWhenIdle = false;
  /** @internal */
  closed = false;
  /**
   * @internal The PARAMS deadline of the oldest request still sending them (0: none), which the
   * idle timeout, restarted by every byte, must not pass. Multiplexed requests that overlap keep
   * the first one's, and `expired` looks for the next.
   */
  headDeadline = 0;

  /** Starts reading records on `socket`; the server `track`s it right after. */
  constructor(host: ConnectionHost, socket: Socket) {
    super(socket);
    this.host = host;
    this.parser = new RecordParser(this);
    // Record contents are views of the read: what outlives it (PARAMS cut across reads, STDIN
    // for the body) is copied, so reads can go into one shared buffer.
    this.listen({ end: true, sharedReads: true });
  }

  /** Requests in flight on this connection. */
  get activeRequests(): number {
    return this.active;
  }

  /** Bytes handed to the socket and not yet sent: what back-pressure keeps bounded. */
  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  // Input

  /** @internal */
  override onData(chunk: Buffer): void {
    // The front server is talking: the idle timeout counts from its last bytes.
    const idle = this.host.idleTimeout;
    if (idle > 0) this.expireIn(idle);
    try {
      this.parser.push(chunk);
    } catch (error) {
      this.protocolError(error);
    }
    if (this.ready !== null) dispatchReady(this);
    keepParams(this);
    if (this.headDeadline !== 0 && !this.closed) this.expireInBy(idle, this.headDeadline);
  }

  onRecord(type: number, id: number, content: Buffer): void {
    if (this.closed) return;
    if (id === 0) {
      onManagement(this, type, content);
      return;
    }
    if (type === BEGIN_REQUEST) {
      onBegin(this, id, content);
      return;
    }
    const exchange = lookup(this, id);
    if (exchange === undefined) {
      if (isIgnored(this, id)) {
        // The rest of a request this side already ended: dropped. Its STDIN end closes the matter.
        if (type === STDIN && content.length === 0) unignore(this, id);
        return;
      }
      if (type === ABORT_REQUEST) return; // a race with our END_REQUEST
      throw new FastcgiProtocolError(`${TYPE_NAMES[type] ?? `record type ${type}`} for request id ${id}, which is not active`);
    }
    switch (type) {
      case PARAMS:
        onParams(this, exchange, content);
        break;
      case STDIN:
        onStdin(this, exchange, content);
        break;
      case ABORT_REQUEST:
        this.abortExchange(exchange, "the front server aborted the request", true);
        break;
      case DATA:
        break; // only for the FILTER role, which is refused
      default:
        throw new FastcgiProtocolError(`unexpected ${TYPE_NAMES[type] ?? `record type ${type}`} from the front server (request id ${id})`);
    }
  }

  /** The body of `exchange` wants more (or is gone): resume reading when nothing else holds it (input.ts's `onStdin` paused it). */
  uncongest(exchange: Exchange): void {
    exchange.congested = false;
    if (--this.congested === 0 && !this.closed) this.socket.resume();
  }

  /** @internal */
  override onDrain(): void {
    drained(this);
  }

  // How an exchange ends

  private release(exchange: Exchange, error: Error | null): void {
    exchange.done = true;
    removeExchange(this, exchange);
    const callback = exchange.drainCallback;
    if (callback !== null) {
      exchange.drainCallback = null;
      this.waiting--;
      callback(error ?? endedError());
    }
    if (error !== null) exchange.response?.abandon();
    if (!exchange.stdinEnded) {
      exchange.stdinEnded = true;
      if (!this.closed) ignore(this, exchange.id);
      exchange.dropBody(error ?? undefined);
    }
    this.requestFinished();
    if (this.active === 0) this.headDeadline = 0;
    if (this.active === 0 && !this.closed) {
      // Idle from now: the front server's turn to send a request or close.
      const idle = this.host.idleTimeout;
      if (idle > 0) this.expireIn(idle);
    }
  }

  /** After END_REQUEST went out: the request is over; without FCGI_KEEP_CONN, so is the connection. */
  finish(exchange: Exchange): void {
    this.release(exchange, null);
    if (this.active === 0 && this.closeWhenIdle) this.end();
  }

  /** The response failed after its head: the client must learn the body is cut short. */
  failExchange(exchange: Exchange): void {
    if (this.active > 1) {
      // Other requests share the connection: end this one alone, with a failure status.
      out(this, exchange.trailer(1));
      this.finish(exchange);
    } else {
      // Closing without END_REQUEST is how a front server learns that a response is cut
      // short. What is corked (the STDERR lines) goes out first.
      this.release(exchange, endedError());
      this.end();
    }
  }

  /** ABORT_REQUEST (`answer`), or the connection went away: the application sees `req.aborted`. */
  private abortExchange(exchange: Exchange, why: string, answer: boolean): void {
    const error = abortedError(why);
    exchange.request?.abort(error);
    if (answer) out(this, exchange.trailer(1));
    this.release(exchange, error);
    if (answer && this.active === 0 && this.closeWhenIdle) this.end();
  }

  // The connection

  /** @internal Who is at the other end, for log lines. */
  peer(): string {
    return this.socket.remoteAddress ?? "a local socket";
  }

  private protocolError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof FastcgiProtocolError) logError(`fastcgi: closing the connection from ${this.peer()}: ${message}`);
    else logError(`fastcgi: closing the connection from ${this.peer()} after an internal error`, error);
    this.destroy();
  }

  /**
   * Ends the connection after what is written (no FCGI_KEEP_CONN, or a failed response): what
   * the front server still sends is read and dropped until it closes its side.
   *
   * @internal
   */
  end(): void {
    if (this.closed) return;
    this.parser.stop();
    // Ending twice (the front server's end after our last answer) makes node build an error,
    // stack trace included, only to drop it.
    if (!this.socket.writableEnded) this.socket.end();
  }

  /**
   * A stop closes a kept connection once idle: right after its last END_REQUEST, with the FIN
   * right behind it. FastCGI cannot tell the front server that a connection is about to close
   * (AJP's END_RESPONSE says reuse = 0, http says Connection: close), and `socket.end()` sends
   * the FIN only at the event loop's next turn, milliseconds later under load: nginx meanwhile
   * gave the connection back to its next request, which met the close ("upstream prematurely
   * closed": retried for a GET, a 502 for a POST): 13 to 14 requests at each hand-over of the
   * scaling benchmark (nginx keeping 16 connections), 1 to 7 closed at once (bench/README.md).
   *
   * At once only when node holds nothing unwritten (the kernel sends what it has, then the FIN)
   * and nothing can be on its way in: no input due for a request already answered (the rest of
   * a body it did not read), and a front server that sends a request only after the last answer
   * (nginx, Apache), not one that multiplexes (HAProxy's mpxs-conns). Closing with unread bytes
   * is a reset, which drops what the kernel has not sent yet; a front server that sent its next
   * request after reading the last answer has all of it.
   */
  override closeIdle(): void {
    if (this.closed) return;
    const socket = this.socket;
    if (this.corked) {
      this.corked = false;
      socket.uncork();
    }
    const moreMayCome = this.multiplexes || this.ignoredId !== -1 || (this.ignored !== null && this.ignored.size > 0);
    if (socket.writableLength === 0 && !socket.writableEnded && !moreMayCome) this.destroy();
    else this.end();
  }

  /** Closes at once; the requests in flight are aborted. */
  destroy(): void {
    this.parser.stop();
    this.socket.destroy();
    this.onClose();
  }

  /** @internal */
  override onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.deadline = 0;
    this.parser.stop();
    if (this.active > 0) {
      for (const exchange of exchangesNow(this)) this.abortExchange(exchange, "the front server closed the connection", false);
    }
    forgetIgnored(this);
    this.untrack();
  }

  /**
   * The front server shut down its side: nothing more comes. Requests it sent whole are still
   * answered, those cut short are aborted, and the connection closes once the answers are out.
   */
  override onEnd(): void {
    this.closeWhenIdle = true;
    this.parser.stop();
    if (this.active > 0) {
      for (const exchange of exchangesNow(this)) {
        if (exchange.request === null || !exchange.stdinEnded) this.abortExchange(exchange, "the front server closed the connection in the middle of a request", false);
      }
    }
    if (this.active === 0) this.end();
  }

  /**
   * The PARAMS deadline passed: the connection is cut if a request is late with its PARAMS (a
   * front server trickling them); else (multiplexed requests that overlapped) the next
   * deadline is armed.
   */
  private headExpired(): void {
    const now = this.now;
    let next = 0;
    for (const exchange of exchangesNow(this)) {
      if (exchange.params === null || exchange.headDeadline === 0) continue;
      if (exchange.headDeadline <= now) {
        logError(`fastcgi: closing the connection from ${this.peer()}: request id ${exchange.id} sent no complete PARAMS within headTimeout (${this.host.headTimeout} ms)`);
        this.destroy();
        return;
      }
      if (next === 0 || exchange.headDeadline < next) next = exchange.headDeadline;
    }
    this.headDeadline = next;
    // The idle timeout may have been due too; counting it from now only makes it longer once.
    this.expireInBy(this.host.idleTimeout, next);
  }

  /**
   * The idle timeout passed: no bytes from the front server for that long, and none of its
   * requests ended since. Keep the connection only while the application works on a request it
   * has all the input of (a long computation, a slow stream), or that is paused because the
   * application does not read its body; a front server that stopped sending in the middle of a
   * request is dropped.
   */
  override expired(): void {
    if (this.headDeadline !== 0 && this.headDeadline <= this.now) {
      this.headExpired();
      return;
    }
    for (const exchange of exchangesNow(this)) {
      if (exchange.request !== null && (exchange.stdinEnded || exchange.congested)) {
        this.expireIn(this.host.idleTimeout);
        return;
      }
    }
    this.destroy();
  }
}
