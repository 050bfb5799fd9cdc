import type { Socket } from "node:net";
import { createHash, timingSafeEqual } from "node:crypto";
import {
  Request,
  dispatch,
  logError,
  requestFromEnvironment,
  TrackedConnection,
  abortedError,
  reasonPhrase,
  answerStatus,
  statusOfError,
  type StatusAnswer,
  type CgiEnvironmentOptions,
  type HandlerFunction,
} from "../../vsgi/index.js";
import {
  AjpWireError,
  CPING,
  CPONG_PACKET,
  END_CLOSE,
  END_REUSE,
  FORWARD_REQUEST,
  MAGIC_IN,
  PacketParser,
  SHUTDOWN,
  PING,
  isBodyEnd,
  parseForwardRequest,
  type BodyFraming,
} from "./wire.js";
import { environmentOf } from "./request.js";
import { AjpResponse } from "./response.js";
import { Exchange } from "./exchange.js";

/** How the body packets of the front server frame their data (see docs/servers/ajp.md). */
export type BodyFramingOption = "auto" | BodyFraming;

/** What a connection needs from its server: settings and the request bookkeeping. */
export interface ConnectionHost {
  readonly handler: HandlerFunction;
  readonly packetSize: number;
  readonly bodyFraming: BodyFramingOption;
  /** SHA-256 of the configured secret, or `null` when none is required. */
  readonly secretDigest: Buffer | null;
  readonly cgiOptions: CgiEnvironmentOptions;
  readonly isStopping: boolean;
  /** Milliseconds a packet begun between requests (a FORWARD_REQUEST) may take to arrive whole. */
  readonly headTimeout: number;
  /** Milliseconds the backend waits for bytes it is owed (the rest of a packet, a body packet asked for). */
  readonly readTimeout: number;
  /** Milliseconds a connection may stay without a request. */
  readonly idleTimeout: number;
  /** Requests served on one connection before it ends; 0: no limit. */
  readonly maxRequestsPerConnection: number;
}

const FORBIDDEN_BODY = reasonPhrase(403);

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "latin1").digest();
}

/**
 * Whether `given` is the secret whose digest is `expected`, compared in constant time.
 *
 * @example secretMatches(request.secret, createHash("sha256").update("XYZ").digest());
 */
export function secretMatches(given: string | null, expected: Buffer): boolean {
  // Both digests are 32 bytes: timingSafeEqual never throws and leaks nothing of the length.
  return timingSafeEqual(sha256(given ?? ""), expected) && given !== null;
}

/** Answers 403 to a request without the right secret, without running the application. */
function forbid(res: AjpResponse): void {
  res.status = 403;
  res.headers.set("Content-Type", "text/plain; charset=UTF-8");
  void res.expand(FORBIDDEN_BODY);
}

/**
 * One connection from the front server: packets in, requests one after another (AJP has no
 * multiplexing), responses out with back-pressure. CPING is answered between requests,
 * SHUTDOWN ignored. Bad input closes the connection with a log line.
 *
 * @example net.createServer((socket) => new AjpConnection(socket, host));
 */
export class AjpConnection extends TrackedConnection {
  readonly host: ConnectionHost;
  closed = false;
  private readonly parser: PacketParser;
  private exchange: Exchange | null = null;
  /** A packet that came while a request was under way (pipelining): taken after it. */
  private parked: Buffer | null = null;
  private pumping = false;
  /** When the connection, without a request, is closed (0: never): from its start or its last response. */
  private idleDeadline = 0;
  /** Requests answered on this connection (counted only under `maxRequestsPerConnection`). */
  private served = 0;
  /** A packet has begun between requests: it must be whole by `headDeadline` (0: no limit). */
  private inHead = false;
  private headDeadline = 0;
  /** Why the connection is being destroyed, for the request under way. */
  private abortReason: Error | undefined = undefined;

  constructor(socket: Socket, host: ConnectionHost) {
    super(socket);
    this.host = host;
    this.parser = new PacketParser(MAGIC_IN, host.packetSize);
    this.listen();
  }

  write(bytes: Buffer): boolean {
    if (this.closed || this.socket.writableEnded) return false;
    return this.socket.write(bytes);
  }

  /** Writes `pieces` in order in one writev; false when the socket is full. */
  writePieces(pieces: readonly Uint8Array[]): boolean {
    const socket = this.socket;
    if (this.closed || socket.writableEnded) return false;
    socket.cork();
    let ok = true;
    for (const piece of pieces) ok = socket.write(piece);
    socket.uncork();
    return ok;
  }

  /** @internal */
  override onData(chunk: Buffer): void {
    this.parser.push(chunk);
    this.pump();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.closed) {
        let payload: Buffer | null;
        if (this.parked !== null) {
          if (this.exchange !== null) break;
          payload = this.parked;
          this.parked = null;
        } else {
          payload = this.parser.shift();
          if (payload === null) break;
        }
        this.handle(payload);
      }
      if (this.exchange !== null && this.parser.buffered > 0) this.exchange.partial();
    } catch (error) {
      this.fail(error);
    } finally {
      this.pumping = false;
    }
    this.armTimeout();
  }

  /** The connection is tracked, with no request yet: idleTimeout runs from now. */
  startIdle(): void {
    this.idleDeadline = this.deadlineIn(this.host.idleTimeout);
    this.deadline = this.idleDeadline;
  }

  /**
   * Arms the timeout of the phase the connection is in. Between requests: idleTimeout from the
   * last response (CPINGs do not push it back), or, once a packet has begun, headTimeout for the
   * whole packet and readTimeout between its bytes. During a request: readTimeout while the front
   * server owes body bytes, else none (the handler's time is not the front server's).
   */
  armTimeout(): void {
    if (this.closed) return;
    const exchange = this.exchange;
    const host = this.host;
    if (exchange !== null) {
      this.inHead = false;
      this.expireIn(exchange.awaitingBody ? host.readTimeout : 0);
    } else if (this.parser.buffered > 0) {
      if (!this.inHead) {
        this.inHead = true;
        this.headDeadline = this.deadlineIn(host.headTimeout);
      }
      this.expireInBy(host.readTimeout, this.headDeadline);
    } else {
      this.inHead = false;
      this.deadline = this.idleDeadline;
    }
  }

  /** The timeout of the current phase passed (see `armTimeout`). */
  override expired(): void {
    if (this.closed) return;
    const exchange = this.exchange;
    const host = this.host;
    if (exchange !== null) {
      if (!exchange.awaitingBody) return; // the handler's turn: never cut
      const error = abortedError(`the front server sent no request body for readTimeout (${host.readTimeout} ms)`);
      logError(`ajp: ${this.peer()}: ${error.message}; closing the connection`);
      this.destroy(error);
    } else if (this.inHead) {
      const cut = this.headDeadline !== 0 && this.now >= this.headDeadline;
      const limit = cut ? `headTimeout (${host.headTimeout} ms)` : `readTimeout (${host.readTimeout} ms)`;
      logError(`ajp: ${this.peer()} sent no complete packet within ${limit}; closing the connection`);
      this.destroy();
    } else {
      // idle: closing is legitimate, a pooling front server reconnects
      this.destroy();
    }
  }

  private handle(payload: Buffer): void {
    const exchange = this.exchange;
    if (exchange !== null) {
      if (exchange.expectingBody) exchange.bodyPacket(payload);
      else if (!isBodyEnd(payload)) {
        // lighttpd follows each bodiless request with an empty packet: ignored above. Anything
        // else waits for the request under way to finish.
        this.parked = payload;
        this.socket.pause();
      }
      return;
    }
    // lighttpd's empty packet after a bodiless request; the end-of-body answer to an ask sent
    // ahead (probe mode) that came after the body was complete
    if (isBodyEnd(payload)) return;
    switch (payload[0]) {
      case FORWARD_REQUEST:
        if (this.socket.writableEnded) {
          // A stop closed this idle connection while the front server was sending a request on
          // it: it cannot be answered here; drop it so the front server knows at once.
          this.destroy();
          return;
        }
        this.start(payload);
        break;
      case CPING:
        this.write(CPONG_PACKET);
        break;
      case SHUTDOWN:
      case PING:
        // SHUTDOWN: a front server does not get to stop the backend. PING (mod_jk's old
        // keep-alive probe) needs no answer.
        break;
      default:
        // After an answer that ended the connection (reuse=0, its body unread), the rest of that
        // body may still arrive: it is no error, the connection is closing anyway.
        if (this.socket.writableEnded) return;
        throw new AjpWireError(`unexpected packet type ${payload[0]} (${payload.length} bytes) between requests`);
    }
  }

  private start(payload: Buffer): void {
    const host = this.host;
    const forward = parseForwardRequest(payload);
    const { env, chunked } = environmentOf(forward);
    let framing: BodyFraming | null = host.bodyFraming === "auto" ? null : host.bodyFraming;
    if (framing === null && forward.attributes.some((a) => a[0] === "AJP_REMOTE_PORT")) framing = "spec";
    // Apache and mod_jk (AJP_REMOTE_PORT) follow the reference; the others are probed (Exchange)
    const exchange = new Exchange(this, framing, framing === "spec" ? "reference" : framing === "raw" ? "credit" : "probe");
    let request: Request;
    let refusal: StatusAnswer | null = null;
    try {
      const init = requestFromEnvironment(env, exchange.body, host.cgiOptions);
      exchange.expectBody(init.contentLength, chunked);
      request = new Request(init);
    } catch (error) {
      // A request refused with a status (431: too many header fields; 400: a bad method) is
      // answered with it, its body framed as any other's; a body that cannot be framed is not.
      const length = env.get("CONTENT_LENGTH");
      refusal = statusOfError(error);
      if (refusal === null || (length !== undefined && length !== "" && !/^\d{1,15}$/.test(length))) {
        throw new AjpWireError(`bad FORWARD_REQUEST: ${(error as Error).message}`);
      }
      exchange.expectBody(length === undefined || length === "" ? null : Number(length), chunked);
      request = new Request({ method: forward.method === "HEAD" ? "HEAD" : "GET", target: env.get("REQUEST_URI") ?? "/", gatewayInterface: "AJP/1.3" });
    }
    const response = new AjpResponse(request, exchange);
    exchange.request = request;
    exchange.response = response;
    this.exchange = exchange;
    this.requestStarted();
    if (host.secretDigest !== null && !secretMatches(forward.secret, host.secretDigest)) {
      logError(`ajp: ${request.method} ${request.target}: ${forward.secret === null ? "no secret" : "wrong secret"} from ${this.peer()}: 403`);
      forbid(response);
    } else if (refusal !== null) {
      logError(`ajp: ${forward.method} ${request.target} from ${this.peer()}: ${refusal.message}: answered ${refusal.code}`);
      void answerStatus(response, refusal);
    } else {
      void dispatch(host.handler, request, response);
    }
  }

  /**
   * Ends the exchange: END_RESPONSE (after `prefix`, in the same write), then the next request;
   * with `close`, END_RESPONSE says reuse = 0 and the connection is closed.
   */
  endResponse(exchange: Exchange, prefix?: Buffer, close = false): void {
    if (this.exchange !== exchange || this.closed) return;
    const max = this.host.maxRequestsPerConnection;
    const reuse = !close && !this.host.isStopping && (max === 0 || ++this.served < max);
    const end = reuse ? END_REUSE : END_CLOSE;
    this.write(prefix === undefined ? end : Buffer.concat([prefix, end]));
    this.exchange = null;
    exchange.close();
    this.requestFinished();
    this.idleDeadline = this.deadlineIn(this.host.idleTimeout);
    this.armTimeout();
    if (!reuse) {
      // Ending twice makes node build (and drop) an error with its stack.
      if (!this.socket.writableEnded) this.socket.end();
      return;
    }
    if (this.parked !== null) {
      this.socket.resume();
      // a later turn: the handler that ended this response may still be on the stack
      setImmediate(this.pump.bind(this));
    }
  }

  /** @internal */
  override onDrain(): void {
    this.exchange?.drained();
  }

  private peer(): string {
    const s = this.socket;
    return s.remoteAddress !== undefined ? `${s.remoteAddress}:${s.remotePort}` : "a UNIX socket peer";
  }

  /** Bad input: log it, drop the connection (and the request under way). */
  private fail(error: unknown): void {
    const message = error instanceof AjpWireError ? error.message : `internal error: ${(error as Error)?.stack ?? String(error)}`;
    logError(`ajp: ${message} (from ${this.peer()}); closing the connection`);
    this.destroy();
  }

  /** Closes the connection at once; the request under way is aborted with `reason`. */
  destroy(reason?: Error): void {
    if (this.closed) return;
    this.abortReason = reason;
    this.socket.destroy();
    this.onClose();
  }

  /** @internal */
  override onError(error: NodeJS.ErrnoException): void {
    // resets and broken pipes are how front servers drop connections; 'close' follows
    if (error.code !== "ECONNRESET" && error.code !== "EPIPE") logError(`ajp: connection error from ${this.peer()}`, error);
  }

  /** @internal */
  override onClose(): void {
    if (this.closed) return;
    this.closed = true;
    const exchange = this.exchange;
    if (exchange !== null) {
      this.exchange = null;
      exchange.abort(this.abortReason);
      this.requestFinished();
    }
    this.untrack();
  }
}
