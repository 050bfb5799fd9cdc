import { IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Readable } from "node:stream";
import { Request, Headers, abortedError } from "../../vsgi/index.js";
import type { BodyTimeouts, WatchedBody } from "./body-timeout.js";

/**
 * node's request body, which tells its `HttpRequest` when the client goes away. node destroys
 * the body of every unfinished request with a plain `Error("aborted")` (code ECONNRESET) when
 * the connection closes: readers get an `ERR_VSGI_ABORTED` error instead, the same on every
 * backend, and the request's signal fires. Given to node:http as its `IncomingMessage` class: a
 * prototype method, no listener or closure per request.
 */
export class VsgiIncomingMessage extends IncomingMessage implements WatchedBody {
  /** @internal The request built on this message. */
  vsgiRequest: HttpRequest | null = null;
  /** @internal The server's body read timeout, when it has one (`bodyTimeout`). */
  bodyTimeouts: BodyTimeouts | null = null;
  /** @internal When the bytes the reader waits for are due (0: not waiting). */
  bodyDeadline = 0;

  override _read(size: number): void {
    this.bodyTimeouts?.arm(this);
    super._read(size);
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    const more = super.push(chunk, encoding);
    const timeouts = this.bodyTimeouts;
    // Bytes came: the next are due a timeout from now while the reader wants more; none are
    // due when it has enough (node stops reading the socket) or the body ended.
    if (timeouts !== null) {
      if (more && chunk !== null) timeouts.arm(this);
      else timeouts.disarm(this);
    }
    return more;
  }

  /** @internal The body stopped arriving: the request is aborted with `reason`. */
  abortBody(reason: Error): void {
    this.vsgiRequest?.abort(reason);
    this.destroy(reason);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.bodyTimeouts?.disarm(this);
    const request = this.vsgiRequest;
    if (error !== null && request !== null && (error as NodeJS.ErrnoException).code === "ECONNRESET") {
      error = abortedError(this.complete ? "the client closed the connection" : "the client closed the connection before the end of the request body", error);
      request.abort(error);
    }
    super._destroy(error, callback);
  }
}

// The headers of which node keeps the first and drops the duplicates (`matchKnownFields` in
// node's _http_incoming.js): node's header object has lost what the header table keeps, so
// these are read from rawHeaders, every value joined by ", " as the table joins them: header()
// answers as headers.get() does, whether or not the table was built, as on every backend. A
// scan of the raw list also costs less than building node's object for a few look-ups (the
// access log's Referer, User-Agent and Authorization).
const NODE_KEEPS_FIRST: ReadonlySet<string> = new Set([
  "content-type", "content-length", "user-agent", "referer", "host", "authorization", "proxy-authorization",
  "if-modified-since", "if-unmodified-since", "from", "location", "max-forwards", "retry-after", "etag",
  "last-modified", "server", "age", "expires",
]);

/** The values of header `lower` in the raw list, joined by ", "; `null` if absent. */
function joinedRawHeader(raw: readonly string[], lower: string): string | null {
  const n = lower.length;
  let value: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === n && (name === lower || sameLetters(name, lower))) value = joined(value, raw[i + 1]!);
  }
  return value;
}

/** A repeated header's values, as the header table joins them. */
function joined(before: string | null, value: string): string {
  return before === null ? value : before + ", " + value;
}

/**
 * Whether a header name is `lower` in any case, without making a lower-case copy (toLowerCase
 * was half of what the access log's three look-ups cost): names are tokens, ASCII only.
 */
function sameLetters(name: string, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

// The peer's address, kept on node's socket once read: node's getter goes through the socket's
// handle at each read (520 instructions a request under callgrind, for the access log's read).
const PEER = Symbol("vsgi.peer");
type PeerSocket = Socket & { [PEER]?: string | null };

/**
 * A request from node:http. Node parses the head; this reads it lazily: the host, the peer and
 * the header table are only looked at when asked for.
 */
export class HttpRequest extends Request {
  private readonly node: IncomingMessage;
  private readonly nodeResponse: ServerResponse;
  private listening = false;

  /** `body`: where the body comes from when it is not `node` (an upgrade request's, left on the socket). */
  constructor(node: IncomingMessage, nodeResponse: ServerResponse, scheme: string, body: Readable | null = null) {
    super({ method: node.method!, target: node.url!, scheme, httpVersion: node.httpVersion, body: body ?? node });
    this.node = node;
    this.nodeResponse = nodeResponse;
    if (node instanceof VsgiIncomingMessage) node.vsgiRequest = this;
  }

  protected override getAuthority(): string {
    const host = this.node.headers.host;
    if (host !== undefined && host.length > 0) return host;
    const socket = this.node.socket;
    const address = socket.localAddress ?? "localhost";
    return (address.includes(":") ? `[${address}]` : address) + ":" + socket.localPort;
  }

  override get remoteAddress(): string | null {
    const socket = this.node.socket as PeerSocket;
    let peer = socket[PEER];
    if (peer === undefined) peer = socket[PEER] = socket.remoteAddress ?? null;
    return peer;
  }

  protected override rawHeader(name: string): string | null {
    // the framework's own look-ups are in lower case already: no copy for them
    if (NODE_KEEPS_FIRST.has(name)) return joinedRawHeader(this.node.rawHeaders, name);
    const lower = name.toLowerCase();
    if (NODE_KEEPS_FIRST.has(lower)) return joinedRawHeader(this.node.rawHeaders, lower);
    const value = this.node.headers[lower];
    if (value === undefined) return null;
    return typeof value === "string" ? value : value.join(", ");
  }

  /** @internal The access log's three headers in one scan of the raw list, while there is no table. */
  override logHeaders(into: { referer: string | null; userAgent: string | null }): string | null {
    if (this._headers !== null) return super.logHeaders(into);
    const raw = this.node.rawHeaders;
    let referer: string | null = null;
    let userAgent: string | null = null;
    let authorization: string | null = null;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      // most names are none of the three: their length tells, without a letter compared
      if (name.length === 7) {
        if (sameLetters(name, "referer")) referer = joined(referer, raw[i + 1]!);
      } else if (name.length === 10) {
        if (sameLetters(name, "user-agent")) userAgent = joined(userAgent, raw[i + 1]!);
      } else if (name.length === 13 && sameLetters(name, "authorization")) authorization = joined(authorization, raw[i + 1]!);
    }
    into.referer = referer;
    into.userAgent = userAgent;
    return authorization;
  }

  protected override loadHeaders(): Headers {
    const raw = this.node.rawHeaders;
    const headers = new Headers(null, false);
    for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
    return headers;
  }

  override get signal(): AbortSignal {
    if (!this.listening) {
      this.listening = true;
      // The response closing before it finished means the client went away.
      this.nodeResponse.once("close", () => {
        if (!this.nodeResponse.writableFinished) this.abort(abortedError("the client closed the connection"));
      });
    }
    return super.signal;
  }

  override get aborted(): boolean {
    return super.aborted || (this.nodeResponse.destroyed && !this.nodeResponse.writableFinished);
  }
}
