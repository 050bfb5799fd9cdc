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
  type Headers,
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
  bodyData,
  encodeBodyChunks,
  bodyChunkPieces,
  encodeSendHeaders,
  getBodyChunk,
  isBodyEnd,
  isSpecBodyPacket,
  parseForwardRequest,
  type BodyFraming,
  type HeaderSource,
} from "./wire.js";
import { AjpBody, environmentOf, type BodySource } from "./request.js";
import { AjpResponse, type ResponseTarget } from "./response.js";

/** How the body packets of the front server frame their data (see docs/servers/ajp.md). */
export type BodyFramingOption = "auto" | BodyFraming;

/**
 * How a request body arrives. `reference` (Apache, mod_jk: they send AJP_REMOTE_PORT; or
 * `bodyFraming: "spec"`): the first packet unasked when there is a Content-Length, then exactly
 * one packet per GET_BODY_CHUNK. `credit` (lighttpd, or `bodyFraming: "raw"`): a GET_BODY_CHUNK
 * adds to the bytes the front server may send, in as many packets as it likes, whenever it has
 * them; the first packet may come unasked or not at all (`server.stream-request-body`). `probe`
 * (any other front server): read safely for both until the client shows credit delivery (raw
 * packets, or more packets than asked for), then `credit`. The reference lets a front server
 * omit AJP_REMOTE_PORT, so its absence proves nothing: never wait for a second packet per ask
 * before seeing one.
 */
type Delivery = "reference" | "probe" | "credit";

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

// The 500 sent when the application's headers do not fit a packet: its phrase from the one
// table every head uses, its body built once.
const FALLBACK_STATUS = 500;
const FALLBACK_REASON = reasonPhrase(FALLBACK_STATUS);
const FALLBACK_BODY = Buffer.from(FALLBACK_REASON);
// Below this many bytes a body block is copied behind its packet headers (one buffer); above,
// it is written as it is, between them.
const COPY_BELOW = 4096;
/** SEND_BODY_CHUNK with no data (and the trailing 0x00): "flush" to the front server. */
const FLUSH_PACKET = Buffer.from([0x41, 0x42, 0x00, 0x04, 0x03, 0x00, 0x00, 0x00]);
const FALLBACK_HEADERS: HeaderSource = {
  forEachValue(fn) {
    fn("Content-Type", "text/plain; charset=UTF-8");
    fn("Content-Length", String(FALLBACK_BODY.length));
  },
};
const FORBIDDEN_BODY = reasonPhrase(403);
/**
 * Bytes asked for ahead from a front server sending raw body packets (lighttpd): four packets of
 * its 8188 bytes. lighttpd 1.4.69 with `server.stream-request-body` stalls when asked for more
 * than about 60000 bytes at once.
 */
const RAW_PACKET = 8188;
const RAW_WINDOW = 4 * RAW_PACKET;

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
 * One request on a connection: its body (fed from body packets, asked for with GET_BODY_CHUNK as
 * the reader wants it) and its response (SEND_HEADERS, SEND_BODY_CHUNK, END_RESPONSE).
 */
class Exchange implements BodySource, ResponseTarget {
  readonly conn: AjpConnection;
  readonly body: AjpBody;
  request: Request | null = null;
  response: AjpResponse | null = null;
  private contentLength: number | null = null;
  private received = 0;
  /** How the body arrives (see {@link Delivery}); `probe` turns into `credit` on evidence. */
  private delivery: Delivery;
  /** Reference mode (and bodies of unknown length): the unasked first body packet is on its way. */
  private firstPending = false;
  /** Reference mode (and bodies of unknown length): a GET_BODY_CHUNK is outstanding. */
  private asked = false;
  /** Probe and credit modes: bytes asked for and not received yet (a credit client's credit). */
  private outstanding = 0;
  /** Probe mode: GET_BODY_CHUNKs sent, body packets received, asks no packet has answered yet. */
  private asks = 0;
  private packets = 0;
  private open = 0;
  private bodyEnded = false;
  private framing: BodyFraming | null;
  private framingGuessed = false;
  private dropBody = false;
  /** The response is complete: END_RESPONSE waits only for the body packet in flight. */
  private done = false;
  private drainCallback: ((error?: Error | null) => void) | null = null;

  constructor(conn: AjpConnection, framing: BodyFraming | null, delivery: Delivery) {
    this.conn = conn;
    this.framing = framing;
    this.delivery = delivery;
    this.body = new AjpBody(this);
  }

  /** Sets how the body arrives, from the request's Content-Length and Transfer-Encoding. */
  expectBody(contentLength: number | null, chunked: boolean): void {
    this.contentLength = chunked ? null : contentLength;
    if (this.contentLength === 0) this.endBody();
    else if (this.contentLength !== null && this.delivery === "reference") this.firstPending = true;
    // Unknown length (Apache, chunked upload): nothing comes unasked; ask when read.
  }

  /** Whether a packet arriving now is request body. */
  get expectingBody(): boolean {
    if (this.contentLength === null || this.delivery === "reference") return this.firstPending || this.asked;
    // Probe and credit: body packets until the declared length is in. An answer to an ask still
    // open after that can only be an end-of-body packet, ignored wherever it lands.
    return !this.bodyEnded;
  }

  /**
   * Whether the front server owes body bytes: the unasked first packet, an answer to
   * GET_BODY_CHUNK, credit not used up. Only then may the connection time out during a request.
   */
  get awaitingBody(): boolean {
    return !this.bodyEnded && (this.firstPending || this.asked || this.open > 0 || this.outstanding > 0);
  }

  // ---- request body ----

  /** The application reads: ask the front server for more, and wait for it at most readTimeout. */
  wantBody(): void {
    this.ask();
    this.conn.armTimeout();
  }

  private ask(): void {
    if (this.bodyEnded || this.firstPending || this.done || this.conn.closed) return;
    if (this.contentLength !== null && this.delivery === "probe") {
      // Not known to send more than one packet per GET_BODY_CHUNK: ask whenever no ask is left
      // unanswered, for one packet's worth, even before a first packet (lighttpd streaming sends
      // none unasked). A reference front server sending that first packet unasked answers the
      // extra ask at the end with an empty packet; a credit one gains credit, bounded by the body.
      if (this.open > 0) return;
      const n = Math.min(this.conn.host.packetSize - 6, this.contentLength - this.received);
      if (n <= 0) return;
      this.open++;
      this.asks++;
      this.outstanding += n;
      this.conn.write(getBodyChunk(n));
      return;
    }
    if (this.contentLength !== null && this.delivery === "credit") {
      // lighttpd writes each packet's header and data separately without TCP_NODELAY: asking
      // for one packet at a time costs a delayed ACK (~40 ms) per packet. Keep a window of bytes
      // asked for, topped up as the reader takes data, so that lighttpd always may send.
      const left = this.contentLength - this.received - this.outstanding;
      if (left <= 0 || this.outstanding > RAW_WINDOW - RAW_PACKET) return;
      const n = Math.min(RAW_WINDOW - this.outstanding, left);
      this.outstanding += n;
      this.conn.write(getBodyChunk(n));
      return;
    }
    if (this.asked) return;
    this.asked = true;
    const max = this.conn.host.packetSize - 6;
    const remaining = this.contentLength === null ? max : this.contentLength - this.received;
    this.conn.write(getBodyChunk(Math.min(max, remaining)));
  }

  /**
   * Credit mode: a packet is arriving in pieces. lighttpd writes a packet's 4-byte header alone,
   * and its data only once that is acknowledged; a small GET_BODY_CHUNK now carries the ACK at
   * once instead of the ~40 ms delayed one. Bounded by what the reader has not taken yet.
   */
  partial(): void {
    if (this.delivery !== "credit" || this.bodyEnded || this.done || this.contentLength === null || this.conn.closed) return;
    const left = this.contentLength - this.received - this.outstanding;
    if (left <= 0 || this.outstanding + this.body.readableLength >= 2 * RAW_WINDOW) return;
    const n = Math.min(RAW_PACKET, left);
    this.outstanding += n;
    this.conn.write(getBodyChunk(n));
  }

  /** A body packet arrived (the first one, or the answer to GET_BODY_CHUNK). */
  bodyPacket(payload: Buffer): void {
    this.firstPending = false;
    const guessed = this.framing === null;
    let data: Buffer;
    try {
      data = bodyData(payload, this.framingOf(payload));
      if (this.contentLength === null || this.delivery === "reference") this.asked = false;
      else this.outstanding = data.length >= this.outstanding ? 0 : this.outstanding - data.length;
      if (this.delivery === "probe" && this.contentLength !== null) {
        this.packets++;
        if (this.open > 0) this.open--;
        // Evidence of credit delivery: lighttpd's raw packets, or more packets than asks plus
        // the one a reference front server may send unasked.
        if (this.framing === "raw" || this.packets > this.asks + 1) this.delivery = "credit";
      }
    } catch (error) {
      if (!this.framingGuessed && !guessed) throw error;
      throw new AjpWireError(
        `${(error as Error).message}; the body framing was guessed from the first packet: ` +
          `set option bodyFraming to "raw" behind lighttpd, "spec" behind other front servers`,
      );
    }
    if (data.length === 0) {
      if (this.contentLength !== null && this.received < this.contentLength && !this.done) {
        throw new AjpWireError(`the request body ended after ${this.received} of ${this.contentLength} bytes`);
      }
      this.endBody();
    } else {
      this.received += data.length;
      if (this.contentLength !== null && this.received > this.contentLength) {
        throw new AjpWireError(`the request body is longer than its Content-Length ${this.contentLength}`);
      }
      if (!this.bodyEnded && !this.body.destroyed) this.body.push(data);
      if (this.received === this.contentLength) this.endBody();
    }
    if (this.done && !this.expectingBody) this.conn.endResponse(this);
  }

  private framingOf(payload: Buffer): BodyFraming {
    if (this.framing !== null) return this.framing;
    if (payload.length === 0) return "spec";
    // lighttpd sends the data without the chunk length, and no AJP_REMOTE_PORT attribute
    // (which Apache and mod_jk always send: those requests are decided "spec" up front).
    const remaining = this.contentLength === null ? -1 : this.contentLength - this.received;
    this.framing = !isSpecBodyPacket(payload) || payload.length === remaining ? "raw" : "spec";
    this.framingGuessed = true;
    return this.framing;
  }

  private endBody(): void {
    if (this.bodyEnded) return;
    this.bodyEnded = true;
    if (!this.body.destroyed) this.body.push(null);
  }

  // ---- response ----

  private head(status: number, reason: string, headers: HeaderSource, hasBody: boolean): Buffer {
    const packetSize = this.conn.host.packetSize;
    const head = encodeSendHeaders(status, reason, headers, packetSize);
    this.dropBody = !hasBody;
    if (head !== null) return head;
    const req = this.request!;
    logError(
      `ajp: ${req.method} ${req.target}: the response headers do not fit one AJP packet of ${packetSize} bytes ` +
        `(raise option packetSize together with Apache's ProxyIOBufferSize); answering 500 instead`,
    );
    this.dropBody = true;
    const fallback = encodeSendHeaders(FALLBACK_STATUS, FALLBACK_REASON, FALLBACK_HEADERS, packetSize)!;
    if (req.method === "HEAD") return fallback;
    return Buffer.concat([fallback, encodeBodyChunks([FALLBACK_BODY], FALLBACK_BODY.length, packetSize)]);
  }

  sendHead(status: number, reason: string, headers: Headers, hasBody: boolean): void {
    this.conn.write(this.head(status, reason, headers, hasBody));
  }

  sendWhole(status: number, reason: string, headers: Headers, body: string | Uint8Array | null): void {
    const head = this.head(status, reason, headers, body !== null);
    let bytes: Buffer = head;
    if (body !== null && !this.dropBody) {
      const data = typeof body === "string" ? Buffer.from(body) : body;
      if (data.length > 0) bytes = Buffer.concat([head, encodeBodyChunks([data], data.length, this.conn.host.packetSize)]);
    }
    this.done = true;
    if (this.delivery !== "reference" && this.expectingBody) {
      // packets may still come, unasked: close rather than guess (lighttpd never reuses anyway)
      this.conn.endResponse(this, bytes, true);
    } else if (this.expectingBody) {
      this.conn.write(bytes);
    } else {
      // head, body and END_RESPONSE in one write
      this.conn.endResponse(this, bytes);
    }
  }

  writeBody(chunks: readonly Uint8Array[], total: number, callback: (error?: Error | null) => void): void {
    if (this.dropBody || total === 0 || this.conn.closed) {
      callback();
      return;
    }
    const packetSize = this.conn.host.packetSize;
    // Small blocks are copied into one buffer; large ones go out as they are, framed around.
    const ok = total < COPY_BELOW ? this.conn.write(encodeBodyChunks(chunks, total, packetSize)) : this.conn.writePieces(bodyChunkPieces(chunks, total, packetSize));
    if (ok) callback();
    else this.drainCallback = callback;
  }

  flushBody(): void {
    if (this.dropBody || this.done || this.conn.closed) return;
    this.conn.write(FLUSH_PACKET);
  }

  /** The socket drained: the writer waiting for it goes on. */
  drained(): void {
    const callback = this.drainCallback;
    if (callback !== null) {
      this.drainCallback = null;
      callback();
    }
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.delivery !== "reference" && this.expectingBody) this.conn.endResponse(this, undefined, true);
    else if (!this.expectingBody) this.conn.endResponse(this);
    // else: END_RESPONSE once the body packet in flight is read (bodyPacket), so that no body
    // packet is left on the connection to be read as the next request.
  }

  destroy(): void {
    this.conn.destroy();
  }

  /** The connection is gone: the application sees an aborted request, writers are released. */
  abort(reason: Error = abortedError("the front server closed the connection")): void {
    this.request?.abort(reason);
    if (!this.bodyEnded && !this.body.destroyed) {
      // Readers get the error; a body nobody listens to is closed quietly (no crash).
      if (this.body.listenerCount("error") > 0) this.body.destroy(reason);
      else this.body.destroy();
    }
    this.response?.closeSink();
    this.drained();
  }

  /** The exchange is over: the body the application did not read is dropped. */
  close(): void {
    if (!this.body.destroyed && !this.body.readableEnded) this.body.destroy();
  }
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
