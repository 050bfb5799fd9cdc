import { createServer as createHttpServer, ServerResponse, type IncomingMessage, type Server as NodeHttpServer } from "node:http";
import type { Duplex, Readable } from "node:stream";
import { createServer as createHttpsServer } from "node:https";
import { Server as NetServer, type Socket } from "node:net";
import { dispatch, integerOption, reasonPhrase, VsgiError, ERR_INVALID_OPTION } from "../../vsgi/index.js";
import { SocketServer, SOCKET_SERVER_OPTIONS, systemdOr, type SocketServerOptions } from "../../vsgi/socket-server.js";
import { optionNames } from "../../vsgi/options.js";
import { SERVER_LIMITS, type ListenAddress } from "../../vsgi/server.js";
import { HttpRequest, VsgiIncomingMessage } from "./request.js";
import { HttpResponse } from "./response.js";
import { upgradeBody, upgradeBodyOf } from "./upgrade.js";
import { BodyTimeouts } from "./body-timeout.js";

/** Options of the http backend. */
export interface HttpServerOptions extends SocketServerOptions {
  /** TLS private key (PEM): with `cert`, the server speaks https. */
  key?: string | Buffer;
  /** TLS certificate chain (PEM). */
  cert?: string | Buffer;
  /** Milliseconds an idle kept-alive connection stays open, between requests (default 5000, node's). */
  keepAliveTimeout?: number;
  /**
   * Milliseconds allowed to receive a whole request, head and body, from its first byte
   * (default 300000, node's); 408 and a close past it. 0: no limit.
   */
  requestTimeout?: number;
  /**
   * Milliseconds allowed to receive a request head, from the connection's opening (or, on a
   * kept-alive connection, the request's first byte) to its blank line, however the bytes
   * trickle in (default 20000, at most `requestTimeout`); 408 and a close past it. 0: no limit.
   */
  headersTimeout?: number;
  /**
   * Milliseconds the backend waits for the next bytes of a request body the application is
   * reading (default `HTTP_LIMITS.bodyTimeout`); past it the request is aborted, the client gets
   * 408 (when no response started) and the connection is closed. An application that does not
   * read, or reads slowly, never trips it. 0: no limit (then only `requestTimeout` bounds a body).
   */
  bodyTimeout?: number;
  /** Largest head accepted, in bytes (default 16 KiB, node's); a larger one gets 431. */
  maxHeaderSize?: number;
  /**
   * Most header fields a request head may have (default 100, Apache's LimitRequestFields and
   * Tomcat's maxHeaderCount); one more gets 431 and never reaches the application.
   */
  maxHeaderFields?: number;
  /**
   * Requests served on one kept-alive connection (default `HTTP_LIMITS.maxRequestsPerConnection`);
   * the last one's response carries `Connection: close` and the connection ends after it. 0: no
   * limit. node's `maxRequestsPerSocket`.
   */
  maxRequestsPerConnection?: number;
}

/** Defaults of the http backend's limits. */
export const HTTP_LIMITS = {
  /** @default 5000 (node's) */
  keepAliveTimeout: 5000,
  /** @default 300000 (node's) */
  requestTimeout: 300000,
  /** @default 20000 (node's 60000, checked every 30 s, held a trickled head for up to 90 s) */
  headersTimeout: 20000,
  /** @default 60000 (the scgi backend's readTimeout, nginx's client_body_timeout) */
  bodyTimeout: 60000,
  /** @default 16384 (node's) */
  maxHeaderSize: 16 * 1024,
  /** @default 100 */
  maxHeaderFields: 100,
  /** @default 1000 (nginx's keepalive_requests; node's own default is no limit) */
  maxRequestsPerConnection: 1000,
} as const;

// node's answers to a head it could not parse (`socketOnError`), which a 'clientError'
// listener replaces: the same bytes, but for a 414 where the request line is what overflowed.
const statusLine = (code: number): string => `${code} ${reasonPhrase(code)}`;
const CLIENT_ERROR_ANSWERS: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: statusLine(431),
  HPE_CHUNK_EXTENSIONS_OVERFLOW: statusLine(413),
  ERR_HTTP_REQUEST_TIMEOUT: statusLine(408),
};
const BAD_REQUEST = statusLine(400);
const URI_TOO_LONG = statusLine(414);

// A request line: a method token, one space, a request-target (origin-form, `*` or an absolute
// URI). A header line has a colon right after its name instead.
const REQUEST_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ (?:\/|\*|[A-Za-z][A-Za-z0-9+.-]*:\/\/)/;

/**
 * Whether the head that overflowed `maxHeaderSize` has a request-target longer than `max`, as
 * far as the bytes node parsed from its last read show: llhttp counts the request line into its
 * header limit, but a URL too long is a 414 (RFC 9110 15.5.15), not a 431. A request line split
 * across reads shows only its tail here, and stays a 431.
 */
function targetTooLong(error: Error & { rawPacket?: Buffer; bytesParsed?: number }, max: number): boolean {
  const raw = error.rawPacket;
  if (max === 0 || !Buffer.isBuffer(raw)) return false;
  const seen = typeof error.bytesParsed === "number" ? raw.subarray(0, error.bytesParsed) : raw;
  // The head being parsed starts the read, or follows the previous (pipelined) request's head.
  const previous = seen.lastIndexOf("\r\n\r\n");
  let start = previous === -1 ? 0 : previous + 4;
  while (seen[start] === 0x0d || seen[start] === 0x0a) start++;
  const method = REQUEST_LINE.exec(seen.toString("latin1", start, start + 64));
  if (method === null) return false;
  const target = start + method[0].indexOf(" ") + 1;
  let end = seen.indexOf(0x20, target);
  if (end === -1) end = seen.indexOf(0x0a, target);
  return (end === -1 ? seen.length : end) - target > max;
}

// node checks headersTimeout and requestTimeout only every connectionsCheckingInterval (30 s by
// default): check at a quarter of the shortest, so that the cut comes close to the timeout.
function checkingInterval(headersTimeout: number, requestTimeout: number): number {
  const shortest = Math.min(headersTimeout || Infinity, requestTimeout || Infinity);
  return shortest === Infinity ? 30000 : Math.min(1000, Math.max(10, Math.floor(shortest / 4)));
}

/**
 * The http backend, on node:http (or node:https with `key` and `cert`): keep-alive, chunked
 * bodies both ways, `Expect: 100-continue` answered as the body is needed.
 *
 * @example
 * const server = Server.new("http", { handler: app });
 * await server.listen({ port: 8080 });
 */
export default class HttpServer extends SocketServer {
  static override readonly optionNames = optionNames<HttpServerOptions>({
    ...SOCKET_SERVER_OPTIONS,
    key: true,
    cert: true,
    keepAliveTimeout: true,
    requestTimeout: true,
    headersTimeout: true,
    bodyTimeout: true,
    maxHeaderSize: true,
    maxHeaderFields: true,
    maxRequestsPerConnection: true,
  });
  declare readonly options: HttpServerOptions;
  private readonly nodeServers: NodeHttpServer[] = [];
  /** The connections of upgrade requests, which node no longer tracks: a stop that times out closes them. */
  private readonly upgraded = new Set<Duplex>();
  private readonly tls: boolean;
  private readonly limits: { maxHeaderSize: number; requestTimeout: number; headersTimeout: number; keepAliveTimeout: number; connectionsCheckingInterval: number };
  /** The most header fields a request may have. */
  readonly maxHeaderFields: number;
  /** The body read timeout, or null when `bodyTimeout` is 0. */
  private readonly bodyTimeouts: BodyTimeouts | null;
  /** Requests served on one connection; 0: no limit. */
  readonly maxRequestsPerConnection: number;
  /** The longest request-target, for the 414 of a request line that overflows the head. */
  private readonly maxUrlLength: number;

  constructor(options: HttpServerOptions) {
    super(options);
    if ((options.key === undefined) !== (options.cert === undefined)) {
      throw new VsgiError(ERR_INVALID_OPTION, "options key and cert go together: give both for https, or neither");
    }
    this.tls = options.key !== undefined;
    // Checked here, so that a bad option fails at once rather than in listen().
    const requestTimeout = integerOption(options.requestTimeout, "requestTimeout", HTTP_LIMITS.requestTimeout, 0);
    const headersFallback = requestTimeout > 0 ? Math.min(HTTP_LIMITS.headersTimeout, requestTimeout) : HTTP_LIMITS.headersTimeout;
    const headersTimeout = integerOption(options.headersTimeout, "headersTimeout", headersFallback, 0);
    if (requestTimeout > 0 && headersTimeout > requestTimeout) {
      throw new VsgiError(
        ERR_INVALID_OPTION,
        `option headersTimeout (${headersTimeout}) must be at most requestTimeout (${requestTimeout}): the head is part of the request`,
      );
    }
    this.limits = {
      maxHeaderSize: integerOption(options.maxHeaderSize, "maxHeaderSize", HTTP_LIMITS.maxHeaderSize),
      requestTimeout,
      headersTimeout,
      keepAliveTimeout: integerOption(options.keepAliveTimeout, "keepAliveTimeout", HTTP_LIMITS.keepAliveTimeout, 0),
      connectionsCheckingInterval: checkingInterval(headersTimeout, requestTimeout),
    };
    this.maxHeaderFields = integerOption(options.maxHeaderFields, "maxHeaderFields", HTTP_LIMITS.maxHeaderFields);
    const bodyTimeout = integerOption(options.bodyTimeout, "bodyTimeout", HTTP_LIMITS.bodyTimeout, 0);
    this.bodyTimeouts = bodyTimeout > 0 ? new BodyTimeouts(bodyTimeout) : null;
    this.maxRequestsPerConnection = integerOption(options.maxRequestsPerConnection, "maxRequestsPerConnection", HTTP_LIMITS.maxRequestsPerConnection, 0);
    // checked by Server's constructor already
    this.maxUrlLength = options.maxUrlLength ?? SERVER_LIMITS.maxUrlLength;
    this.onClientError = this.onClientError.bind(this);
    this.onRequest = this.onRequest.bind(this);
  }

  get scheme(): string {
    return this.tls ? "https" : "http";
  }

  /** systemd's sockets (LISTEN_FDS) when it passed any to this process, else 127.0.0.1:3003. */
  protected defaultAddresses(): ListenAddress[] {
    return systemdOr({ port: 3003, host: "127.0.0.1" });
  }

  protected createListener(): NetServer {
    const o = this.options;
    // Strict parsing whatever NODE_OPTIONS says: --insecure-http-parser (or a library that sets
    // it) would let CL + TE and obfuscated Transfer-Encoding through, request smuggling's shapes.
    const common = { ...this.limits, IncomingMessage: VsgiIncomingMessage, insecureHTTPParser: false };
    const server = this.tls ? createHttpsServer({ ...common, key: o.key, cert: o.cert }, this.onRequest) : createHttpServer(common, this.onRequest);
    server.keepAliveTimeout = common.keepAliveTimeout;
    // node keeps this many fields and drops the rest silently: one more than the limit shows
    // that a request went past it (see tooManyFields).
    server.maxHeadersCount = this.maxHeaderFields + 1;
    server.maxRequestsPerSocket = this.maxRequestsPerConnection;
    server.on("clientError", this.onClientError);
    server.on("connect", (req: IncomingMessage, socket: Duplex) => this.onConnect(req, socket));
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    if (o.allow !== undefined && o.allow.length > 0) {
      // node tracks the connections itself (closeIdleConnections): only the allow-list is ours.
      server.on("connection", (socket: Socket) => void this.admit(socket));
    }
    this.nodeServers.push(server);
    return server;
  }

  private onRequest(nodeReq: IncomingMessage, nodeRes: ServerResponse): void {
    if (this.tooManyFields(nodeReq)) {
      refuseTooManyFields(nodeRes, this.maxHeaderFields);
      return;
    }
    if (this.bodyTimeouts !== null) (nodeReq as VsgiIncomingMessage).bodyTimeouts = this.bodyTimeouts;
    // A request on a kept-alive connection while stopping is answered, then the connection
    // closes (`Connection: close`): the client knows not to send another on it.
    if (this.isStopping) nodeRes.shouldKeepAlive = false;
    const req = new HttpRequest(nodeReq, nodeRes, this.tls ? "https" : "http");
    void dispatch(this.handler, req, new HttpResponse(req, nodeRes));
  }

  /**
   * A head node could not parse: answered as node does by default (431, 413, 408 or 400, then
   * closed), except a request line longer than `maxUrlLength`, which is a 414.
   */
  private onClientError(error: Error & { code?: string }, socket: Duplex): void {
    // A response of this connection already under way: any bytes now would corrupt it.
    const inFlight = (socket as Duplex & { _httpMessage?: { _headerSent?: boolean } | null })._httpMessage;
    if (socket.writable && (inFlight == null || inFlight._headerSent !== true)) {
      let status = CLIENT_ERROR_ANSWERS[error.code ?? ""] ?? BAD_REQUEST;
      if (error.code === "HPE_HEADER_OVERFLOW" && targetTooLong(error, this.maxUrlLength)) status = URI_TOO_LONG;
      socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    }
    socket.destroy(error);
  }

  // node:http hands CONNECT to its own event, outside the request cycle: give it a response on
  // the socket so that the application routes it like any method. The connection ends with it.
  private onConnect(nodeReq: IncomingMessage, socket: Duplex): void {
    const nodeRes = new ServerResponse(nodeReq);
    nodeRes.shouldKeepAlive = false;
    nodeRes.assignSocket(socket as import("node:net").Socket);
    nodeRes.once("finish", () => socket.end());
    socket.on("error", () => socket.destroy());
    this.onRequest(nodeReq, nodeRes);
  }

  /**
   * Whether a request head had more fields than `maxHeaderFields` (node kept one more than the
   * limit, and dropped the rest): such a request must not reach the application, which would
   * see a request the client did not send. An upgrade handler checks it too.
   */
  tooManyFields(nodeReq: IncomingMessage): boolean {
    return nodeReq.rawHeaders.length > 2 * this.maxHeaderFields;
  }

  // node:http hands a request with `Connection: upgrade` to its own event, with the socket and the
  // bytes read past the head: route it like any request, so that routes and middlewares (auth,
  // subdomain) run first, with a response on the socket that a handler may take over
  // (`res.takeConnection()`, the websocket middleware). Answered instead, the connection ends.
  private onUpgrade(nodeReq: IncomingMessage, socket: Duplex, head: Buffer): void {
    const nodeRes = new ServerResponse(nodeReq);
    nodeRes.shouldKeepAlive = false;
    nodeRes.assignSocket(socket as Socket);
    nodeRes.once("finish", () => socket.end());
    socket.on("error", () => socket.destroy());
    this.upgraded.add(socket);
    socket.once("close", () => this.upgraded.delete(socket));
    if (this.tooManyFields(nodeReq)) {
      refuseTooManyFields(nodeRes, this.maxHeaderFields);
      return;
    }
    const framing = upgradeBodyOf(nodeReq);
    if (framing.kind === "unsupported") {
      nodeRes.writeHead(411, { "Content-Type": "text/plain; charset=UTF-8" });
      nodeRes.end("a request asking to upgrade must give its body a Content-Length");
      return;
    }
    let body: Readable | null = null;
    if (framing.kind === "length") {
      // node 20 and 24 stop parsing at the head of an upgrade and leave its body on the socket;
      // node 26 parses the body into the request itself and gives the socket only what follows.
      // Which one this is shows on the request: complete with nothing buffered is the older kind.
      body = nodeReq.complete && nodeReq.readableLength === 0 ? upgradeBody(framing.length, head, socket) : nodeReq;
    }
    const req = new HttpRequest(nodeReq, nodeRes, this.tls ? "https" : "http", body);
    const upgrade = framing.kind === "length" ? null : { socket, head, request: nodeReq };
    void dispatch(this.handler, req, new HttpResponse(req, nodeRes, upgrade));
  }

  // A client sends its next request on a kept-alive connection as soon as it has the previous
  // response: closing an idle connection then races that request, which is lost (RFC 9112
  // 9.3.1 lets clients retry only idempotent ones, and many do not). So when other processes
  // serve on (a reload), a stop closes only the listener at first; each request that still
  // arrives is answered with `Connection: close` (onRequest), and the connections still idle
  // after the grace (a second, at most keepAliveTimeout) are closed: those clients were quiet.
  protected override idleGrace(): number {
    return Math.min(this.limits.keepAliveTimeout, super.idleGrace());
  }

  protected override closeListener(server: NetServer, done: () => void): void {
    NetServer.prototype.close.call(server, () => {
      // node's close() also stops the timer that checks the connections' timeouts: now it can.
      server.close();
      done();
    });
  }

  protected override closeIdleConnections(): void {
    for (const server of this.nodeServers) server.closeIdleConnections();
  }

  protected override closeAllConnections(): void {
    for (const server of this.nodeServers) server.closeAllConnections();
    for (const socket of this.upgraded) socket.destroy();
  }
}

/** 431 (RFC 6585) for a head with too many fields, and the connection closed after it. */
function refuseTooManyFields(nodeRes: ServerResponse, limit: number): void {
  const body = `too many header fields: more than ${limit}\n`;
  nodeRes.shouldKeepAlive = false;
  nodeRes.writeHead(431, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(body), Connection: "close" });
  nodeRes.end(body);
}
