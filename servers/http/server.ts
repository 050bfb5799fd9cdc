import { createServer as createHttpServer, ServerResponse, type IncomingMessage, type Server as NodeHttpServer } from "node:http";
import type { Duplex } from "node:stream";
import { createServer as createHttpsServer } from "node:https";
import type { Server as NetServer, Socket } from "node:net";
import { dispatch, integerOption, VsgiError, ERR_INVALID_OPTION } from "../../vsgi/index.js";
import { SocketServer, SOCKET_SERVER_OPTIONS, type SocketServerOptions } from "../../vsgi/socket-server.js";
import { optionNames } from "../../vsgi/options.js";
import type { ListenAddress } from "../../vsgi/server.js";
import { HttpRequest, VsgiIncomingMessage } from "./request.js";
import { HttpResponse } from "./response.js";

/** Options of the http backend. */
export interface HttpServerOptions extends SocketServerOptions {
  /** TLS private key (PEM): with `cert`, the server speaks https. */
  key?: string | Buffer;
  /** TLS certificate chain (PEM). */
  cert?: string | Buffer;
  /** Milliseconds an idle kept-alive connection stays open (node's default: 5000). */
  keepAliveTimeout?: number;
  /** Milliseconds allowed to receive a whole request (node's default: 300000). */
  requestTimeout?: number;
  /** Milliseconds allowed to receive the head (node's default: 60000). */
  headersTimeout?: number;
  /** Largest head accepted, in bytes (node's default: 16 KiB); larger ones get 431. */
  maxHeaderSize?: number;
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
    maxHeaderSize: true,
  });
  declare readonly options: HttpServerOptions;
  private readonly nodeServers: NodeHttpServer[] = [];
  private readonly tls: boolean;
  private readonly limits: { maxHeaderSize: number; requestTimeout: number; headersTimeout: number; keepAliveTimeout: number };

  constructor(options: HttpServerOptions) {
    super(options);
    if ((options.key === undefined) !== (options.cert === undefined)) {
      throw new VsgiError(ERR_INVALID_OPTION, "options key and cert go together: give both for https, or neither");
    }
    this.tls = options.key !== undefined;
    // node's own defaults where an option is absent; checked here, so that a bad one fails at once.
    this.limits = {
      maxHeaderSize: integerOption(options.maxHeaderSize, "maxHeaderSize", 16 * 1024),
      requestTimeout: integerOption(options.requestTimeout, "requestTimeout", 300000, 0),
      headersTimeout: integerOption(options.headersTimeout, "headersTimeout", 60000, 0),
      keepAliveTimeout: integerOption(options.keepAliveTimeout, "keepAliveTimeout", 5000, 0),
    };
    this.onRequest = this.onRequest.bind(this);
  }

  get scheme(): string {
    return this.tls ? "https" : "http";
  }

  protected defaultAddresses(): ListenAddress[] {
    return [{ port: 3003, host: "127.0.0.1" }];
  }

  protected createListener(): NetServer {
    const o = this.options;
    const common = { ...this.limits, IncomingMessage: VsgiIncomingMessage };
    const server = this.tls ? createHttpsServer({ ...common, key: o.key, cert: o.cert }, this.onRequest) : createHttpServer(common, this.onRequest);
    server.keepAliveTimeout = common.keepAliveTimeout;
    server.on("connect", (req: IncomingMessage, socket: Duplex) => this.onConnect(req, socket));
    if (o.allow !== undefined && o.allow.length > 0) {
      // node tracks the connections itself (closeIdleConnections): only the allow-list is ours.
      server.on("connection", (socket: Socket) => void this.admit(socket));
    }
    this.nodeServers.push(server);
    return server;
  }

  private onRequest(nodeReq: IncomingMessage, nodeRes: ServerResponse): void {
    const req = new HttpRequest(nodeReq, nodeRes, this.tls ? "https" : "http");
    void dispatch(this.handler, req, new HttpResponse(req, nodeRes));
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

  protected override closeIdleConnections(): void {
    for (const server of this.nodeServers) server.closeIdleConnections();
  }

  protected override closeAllConnections(): void {
    for (const server of this.nodeServers) server.closeAllConnections();
  }
}
