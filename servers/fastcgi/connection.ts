// One FastCGI connection: records in, requests to the application, responses out, with
// back-pressure both ways and several requests at once (multiplexing).
import type { Socket } from "node:net";
import { Request } from "../../vsgi/request.js";
import { dispatch, logError, type HandlerFunction } from "../../vsgi/handler.js";
import { requestFromEnvironment, type CgiEnvironmentOptions } from "../../vsgi/cgi-environment.js";
import { VsgiError, ERR_BAD_REQUEST, abortedError } from "../../vsgi/errors.js";
import { cgiErrorAnswer } from "../../vsgi/cgi-response.js";
import { TrackedConnection } from "../../vsgi/connections.js";
import { keepBytes } from "../../vsgi/shared-reads.js";
import {
  RecordParser,
  FastcgiProtocolError,
  decodePairs,
  decodeVariables,
  encodePairs,
  encodeRecord,
  endRequestRecord,
  unknownTypeRecord,
  writeHeader,
  TYPE_NAMES,
  HEADER_LENGTH,
  MAX_CONTENT_LENGTH,
  BEGIN_REQUEST,
  ABORT_REQUEST,
  PARAMS,
  STDIN,
  DATA,
  GET_VALUES,
  GET_VALUES_RESULT,
  RESPONDER,
  KEEP_CONN,
  CANT_MPX_CONN,
  OVERLOADED,
  UNKNOWN_ROLE,
  type RecordHandler,
} from "./records.js";
import { StdinBody } from "./request.js";
import { FastcgiResponse } from "./response.js";
import { Exchange, endedError } from "./exchange.js";

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

// Below this size a chunk is copied behind its record header (one buffer); above, the header
// and the chunk go to the socket as two buffers of one writev.
const COPY_BELOW = 2048;

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
export class FastcgiConnection extends TrackedConnection implements RecordHandler {
  private readonly host: ConnectionHost;
  private readonly parser: RecordParser;
  // Front servers send one request at a time on a connection, except HAProxy with mpxs-conns:
  // the exchange in flight sits in `single`, and a Map holds them only while several are.
  private single: Exchange | null = null;
  private many: Map<number, Exchange> | null = null;
  private active = 0;
  // Ids ended by this side while the front server may still send their PARAMS or STDIN: the
  // usual one (a response sent before STDIN's end arrived) in a field, more in a Set.
  private ignoredId = -1;
  private ignored: Set<number> | null = null;
  /** Requests whose PARAMS ended in the chunk being read: run after it. */
  private ready: Exchange | null = null;
  private readyMore: Exchange[] | null = null;
  /** Exchanges with a write waiting for 'drain'. */
  private waiting = 0;
  private corked = false;
  private congested = 0;
  private closeWhenIdle = false;
  private closed = false;
  /**
   * The PARAMS deadline of the oldest request still sending them (0: none), which the idle
   * timeout, restarted by every byte, must not pass. Multiplexed requests that overlap keep the
   * first one's, and `expired` looks for the next.
   */
  private headDeadline = 0;

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

  private lookup(id: number): Exchange | undefined {
    const single = this.single;
    if (single !== null) return single.id === id ? single : undefined;
    return this.many?.get(id);
  }

  private exchangesNow(): Exchange[] {
    if (this.single !== null) return [this.single];
    return this.many === null ? [] : [...this.many.values()];
  }

  private ignore(id: number): void {
    if (this.ignoredId === -1 || this.ignoredId === id) this.ignoredId = id;
    else (this.ignored ??= new Set()).add(id);
  }

  private isIgnored(id: number): boolean {
    return this.ignoredId === id || (this.ignored !== null && this.ignored.has(id));
  }

  private unignore(id: number): void {
    if (this.ignoredId === id) this.ignoredId = -1;
    else this.ignored?.delete(id);
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
    if (this.ready !== null) this.dispatchReady();
    this.keepParams();
    if (this.headDeadline !== 0 && !this.closed) this.expireInBy(idle, this.headDeadline);
  }

  /** PARAMS that go on in the next read: copied out of this one. */
  private keepParams(): void {
    const single = this.single;
    if (single !== null) {
      single.params?.keep();
    } else if (this.many !== null) {
      for (const exchange of this.many.values()) exchange.params?.keep();
    }
  }

  onRecord(type: number, id: number, content: Buffer): void {
    if (this.closed) return;
    if (id === 0) {
      this.onManagement(type, content);
      return;
    }
    if (type === BEGIN_REQUEST) {
      this.onBegin(id, content);
      return;
    }
    const exchange = this.lookup(id);
    if (exchange === undefined) {
      if (this.isIgnored(id)) {
        // The rest of a request this side already ended: dropped. Its STDIN end closes the matter.
        if (type === STDIN && content.length === 0) this.unignore(id);
        return;
      }
      if (type === ABORT_REQUEST) return; // a race with our END_REQUEST
      throw new FastcgiProtocolError(`${TYPE_NAMES[type] ?? `record type ${type}`} for request id ${id}, which is not active`);
    }
    switch (type) {
      case PARAMS:
        this.onParams(exchange, content);
        break;
      case STDIN:
        this.onStdin(exchange, content);
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

  private onManagement(type: number, content: Buffer): void {
    if (type !== GET_VALUES) {
      this.out(unknownTypeRecord(type));
      return;
    }
    const result: [string, string][] = [];
    for (const [name] of decodePairs(content)) {
      if (name === "FCGI_MAX_CONNS") result.push([name, String(this.host.maxConnections)]);
      else if (name === "FCGI_MAX_REQS") result.push([name, String(this.host.maxRequests)]);
      else if (name === "FCGI_MPXS_CONNS") result.push([name, this.host.multiplex ? "1" : "0"]);
    }
    this.out(encodeRecord(GET_VALUES_RESULT, 0, encodePairs(result)));
  }

  private onBegin(id: number, content: Buffer): void {
    if (content.length !== 8) throw new FastcgiProtocolError(`BEGIN_REQUEST of ${content.length} bytes (8 expected)`);
    if (this.lookup(id) !== undefined) throw new FastcgiProtocolError(`BEGIN_REQUEST for request id ${id}, which is already active`);
    this.unignore(id);
    const role = (content[0]! << 8) | content[1]!;
    const keepConn = (content[2]! & KEEP_CONN) !== 0;
    // A request that comes during a stop is served (refused, the front server would answer 502),
    // and the connection ends after it, as without FCGI_KEEP_CONN.
    if (!keepConn || this.host.isStopping) this.closeWhenIdle = true;
    const active = this.active;
    let refusal = -1;
    if (role !== RESPONDER) refusal = UNKNOWN_ROLE;
    else if (active > 0 && !this.host.multiplex) refusal = CANT_MPX_CONN;
    else if (active >= this.host.maxRequests) refusal = OVERLOADED;
    if (refusal !== -1) {
      this.ignore(id);
      this.out(endRequestRecord(id, 0, refusal));
      if (active === 0 && this.closeWhenIdle) this.end();
      return;
    }
    const exchange = new Exchange(this, id, keepConn, this.host.maxParamsSize);
    if (active === 0) {
      this.single = exchange;
    } else {
      let many = this.many;
      if (many === null) {
        many = this.many = new Map();
        const first = this.single!;
        many.set(first.id, first);
        this.single = null;
      }
      many.set(id, exchange);
    }
    this.active = active + 1;
    this.requestStarted();
    const deadline = this.deadlineIn(this.host.headTimeout);
    exchange.headDeadline = deadline;
    if (this.headDeadline === 0) this.headDeadline = deadline;
  }

  /** PARAMS of `exchange` are over: alone on the connection, its deadline goes (and the idle timeout, from these bytes, is back). */
  private paramsDone(): void {
    if (this.headDeadline !== 0 && this.many === null) {
      this.headDeadline = 0;
      this.expireIn(this.host.idleTimeout);
    }
  }

  private onParams(exchange: Exchange, content: Buffer): void {
    const params = exchange.params;
    if (params === null) throw new FastcgiProtocolError(`PARAMS after the end of PARAMS (request id ${exchange.id})`);
    if (content.length > 0) {
      if (!params.add(content)) {
        exchange.params = null;
        this.paramsDone();
        logError(`fastcgi: request id ${exchange.id} from ${this.peer()}: parameters larger than ${this.host.maxParamsSize} bytes (option maxParamsSize): answered 431`);
        this.refuse(exchange, 431, "the request parameters are larger than this server accepts");
      }
      return;
    }
    exchange.params = null;
    this.paramsDone();
    const env = decodeVariables(params.take());
    let init;
    try {
      // No body stream yet: one that turns out empty (GET, HEAD) is never built (the request
      // makes an empty one if the application asks).
      init = requestFromEnvironment(env, undefined, this.host.cgiOptions);
    } catch (error) {
      const status = error instanceof VsgiError && error.status !== undefined ? error.status : 400;
      logError(`fastcgi: request id ${exchange.id} from ${this.peer()}: ${(error as Error).message}: answered ${status}`);
      this.refuse(exchange, status, (error as Error).message);
      return;
    }
    exchange.init = init;
    exchange.contentLength = init.contentLength;
    if (init.contentLength === 0) exchange.bodyEnded = true;
    // Run once the rest of the chunk is read: the STDIN end that follows PARAMS in the same
    // chunk is then known, and a response sent at once finds its request's input complete (no
    // id to ignore, no body to destroy).
    if (this.ready === null) this.ready = exchange;
    else (this.readyMore ??= []).push(exchange);
  }

  private dispatchReady(): void {
    const first = this.ready!;
    const more = this.readyMore;
    this.ready = this.readyMore = null;
    this.run(first);
    if (more !== null) for (const exchange of more) this.run(exchange);
  }

  private run(exchange: Exchange): void {
    if (exchange.done) return; // aborted, or the connection closed, in the same chunk
    const init = exchange.init!;
    if (!exchange.bodyEnded && exchange.body === null) this.bodyOf(exchange);
    const request = new Request(init);
    const response = new FastcgiResponse(request, exchange);
    exchange.request = request;
    exchange.response = response;
    exchange.dispatched = true;
    void dispatch(this.host.app, request, response);
    const error = exchange.bodyError;
    if (error !== null) {
      // Failed after the handler's first synchronous steps, as if it came in a later chunk:
      // the handler listens for the body's errors by then.
      exchange.bodyError = null;
      exchange.body!.fail(error);
    }
  }

  /** The body stream of `exchange`, built when the first bytes come or the handler starts. */
  private bodyOf(exchange: Exchange): StdinBody {
    let body = exchange.body;
    if (body === null) {
      body = exchange.body = new StdinBody(exchange, this.host.bodyHighWaterMark);
      exchange.init!.body = body;
    }
    return body;
  }

  private onStdin(exchange: Exchange, content: Buffer): void {
    if (exchange.init === null) {
      if (exchange.params !== null) throw new FastcgiProtocolError(`STDIN before the end of PARAMS (request id ${exchange.id})`);
      return; // refused: its STDIN is dropped
    }
    if (exchange.stdinEnded) throw new FastcgiProtocolError(`STDIN after the end of STDIN (request id ${exchange.id})`);
    const expected = exchange.contentLength;
    if (content.length === 0) {
      exchange.stdinEnded = true;
      if (!exchange.bodyEnded) {
        exchange.bodyEnded = true;
        const body = exchange.body;
        if (expected !== null && exchange.received < expected) {
          const error = new VsgiError(ERR_BAD_REQUEST, `the request body ended after ${exchange.received} of ${expected} bytes`, { status: 400 });
          if (exchange.dispatched) body!.fail(error);
          else {
            this.bodyOf(exchange);
            exchange.bodyError = error;
          }
        } else if (body !== null && !body.destroyed) {
          body.push(null);
        }
      }
      return;
    }
    // Trust CONTENT_LENGTH: bytes past it are not part of the body.
    if (exchange.bodyEnded) return;
    let data = content;
    if (expected !== null && data.length > expected - exchange.received) data = data.subarray(0, expected - exchange.received);
    exchange.received += data.length;
    const body = this.bodyOf(exchange);
    if (body.destroyed) return;
    if (!body.push(keepBytes(data)) && !exchange.congested) {
      exchange.congested = true;
      if (this.congested++ === 0) this.socket.pause();
    }
    if (expected !== null && exchange.received === expected) {
      exchange.bodyEnded = true;
      body.push(null);
    }
  }

  /** The body of `exchange` wants more (or is gone): resume reading when nothing else holds it. */
  uncongest(exchange: Exchange): void {
    exchange.congested = false;
    if (--this.congested === 0 && !this.closed) this.socket.resume();
  }

  // Output

  /**
   * Hands bytes to the socket, corked until the event loop's next check phase: what a
   * response writes in one go (its last body bytes, the end of STDOUT and END_REQUEST; several
   * multiplexed responses) leaves in one writev. False when the socket is full.
   */
  out(data: Buffer): boolean {
    const socket = this.socket;
    if (this.closed || socket.writableEnded) return true;
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      setImmediate(uncork, this);
    }
    return socket.write(data);
  }

  /**
   * One buffer that is a whole answer (head, body, end of STDOUT, END_REQUEST): written at
   * once, behind what is corked if anything is.
   */
  outWhole(data: Buffer): void {
    if (this.closed || this.socket.writableEnded) return;
    this.socket.write(data);
  }

  /** @internal */
  uncork(): void {
    this.corked = false;
    if (!this.closed) this.socket.uncork();
  }

  /** Writes `data` as records of `type`, at most 65535 bytes each; false when the socket is full. */
  writeStream(type: number, id: number, data: Buffer): boolean {
    let ok = true;
    const length = data.length;
    for (let offset = 0; offset < length; offset += MAX_CONTENT_LENGTH) {
      const n = Math.min(MAX_CONTENT_LENGTH, length - offset);
      if (n < COPY_BELOW) {
        const record = Buffer.allocUnsafe(HEADER_LENGTH + n);
        writeHeader(record, 0, type, id, n);
        data.copy(record, HEADER_LENGTH, offset, offset + n);
        ok = this.out(record);
      } else {
        const header = Buffer.allocUnsafe(HEADER_LENGTH);
        writeHeader(header, 0, type, id, n);
        this.out(header);
        ok = this.out(offset === 0 && n === length ? data : data.subarray(offset, offset + n));
      }
    }
    return ok;
  }

  /** Calls `callback` once the socket drained (one waiting write per exchange). */
  waitDrain(exchange: Exchange, callback: (error?: Error | null) => void): void {
    if (exchange.drainCallback === null) this.waiting++;
    exchange.drainCallback = callback;
  }

  /** @internal */
  override onDrain(): void {
    if (this.waiting === 0) return;
    const single = this.single;
    if (single !== null) {
      const callback = single.drainCallback;
      if (callback !== null) {
        single.drainCallback = null;
        this.waiting--;
        callback();
      }
      return;
    }
    // Callbacks may end exchanges (and change the set in flight): walk a copy.
    for (const exchange of this.exchangesNow()) {
      const callback = exchange.drainCallback;
      if (callback === null) continue;
      exchange.drainCallback = null;
      this.waiting--;
      callback();
    }
  }

  private release(exchange: Exchange, error: Error | null): void {
    exchange.done = true;
    if (this.single === exchange) {
      this.single = null;
      this.active--;
    } else {
      const many = this.many;
      if (many !== null && many.get(exchange.id) === exchange) {
        many.delete(exchange.id);
        this.active--;
        if (this.active === 0) this.many = null;
      }
    }
    const callback = exchange.drainCallback;
    if (callback !== null) {
      exchange.drainCallback = null;
      this.waiting--;
      callback(error ?? endedError());
    }
    if (error !== null) exchange.response?.abandon();
    if (!exchange.stdinEnded) {
      exchange.stdinEnded = true;
      if (!this.closed) this.ignore(exchange.id);
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
      this.out(exchange.trailer(1));
      this.finish(exchange);
    } else {
      // Closing without END_REQUEST is how a front server learns that a response is cut
      // short. What is corked (the STDERR lines) goes out first.
      this.release(exchange, endedError());
      this.end();
    }
  }

  /** Answers a request the backend cannot run (bad parameters) with a status of its own. */
  private refuse(exchange: Exchange, status: number, message: string): void {
    const answer = cgiErrorAnswer(status, message);
    exchange.sendWhole(answer.head, answer.body);
  }

  /** ABORT_REQUEST (`answer`), or the connection went away: the application sees `req.aborted`. */
  private abortExchange(exchange: Exchange, why: string, answer: boolean): void {
    const error = abortedError(why);
    exchange.request?.abort(error);
    if (answer) this.out(exchange.trailer(1));
    this.release(exchange, error);
    if (answer && this.active === 0 && this.closeWhenIdle) this.end();
  }

  // The connection

  private peer(): string {
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
   */
  private end(): void {
    if (this.closed) return;
    this.parser.stop();
    // Ending twice (the front server's end after our last answer) makes node build an error,
    // stack trace included, only to drop it.
    if (!this.socket.writableEnded) this.socket.end();
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
      for (const exchange of this.exchangesNow()) this.abortExchange(exchange, "the front server closed the connection", false);
    }
    this.ignoredId = -1;
    this.ignored = null;
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
      for (const exchange of this.exchangesNow()) {
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
    for (const exchange of this.exchangesNow()) {
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
    for (const exchange of this.exchangesNow()) {
      if (exchange.request !== null && (exchange.stdinEnded || exchange.congested)) {
        this.expireIn(this.host.idleTimeout);
        return;
      }
    }
    this.destroy();
  }
}

function uncork(connection: FastcgiConnection): void {
  connection.uncork();
}
