// One AJP request on a connection: its body, fed from body packets and asked for with
// GET_BODY_CHUNK as the reader wants it, and its response (SEND_HEADERS, SEND_BODY_CHUNK,
// END_RESPONSE). The connection that reads packets and runs one exchange after another is
// connection.ts.
import { Request, logError, abortedError, reasonPhrase, type Headers } from "../../vsgi/index.js";
import {
  AjpWireError,
  bodyData,
  encodeBodyChunks,
  bodyChunkPieces,
  encodeSendHeaders,
  getBodyChunk,
  isSpecBodyPacket,
  type BodyFraming,
  type HeaderSource,
} from "./wire.js";
import { AjpBody, type BodySource } from "./request.js";
import { AjpResponse, type ResponseTarget } from "./response.js";
import type { AjpConnection } from "./connection.js";

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
/**
 * Bytes asked for ahead from a front server sending raw body packets (lighttpd): four packets of
 * its 8188 bytes. lighttpd 1.4.69 with `server.stream-request-body` stalls when asked for more
 * than about 60000 bytes at once.
 */
const RAW_PACKET = 8188;
const RAW_WINDOW = 4 * RAW_PACKET;

/**
 * One request on a connection: its body (fed from body packets, asked for with GET_BODY_CHUNK as
 * the reader wants it) and its response (SEND_HEADERS, SEND_BODY_CHUNK, END_RESPONSE).
 */
export class Exchange implements BodySource, ResponseTarget {
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
