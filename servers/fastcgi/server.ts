import { createServer, type Server as NetServer, type Socket } from "node:net";
import { SocketServer, SOCKET_SERVER_OPTIONS, inheritedSockets, type SocketServerOptions } from "../../vsgi/socket-server.js";
import type { ListenAddress } from "../../vsgi/server.js";
import type { HandlerFunction } from "../../vsgi/handler.js";
import { checkCgiOptions, CGI_ENVIRONMENT_OPTIONS, type CgiEnvironmentOptions } from "../../vsgi/cgi-environment.js";
import { VsgiError, ERR_INVALID_OPTION } from "../../vsgi/errors.js";
import { integerOption, optionNames } from "../../vsgi/options.js";
import { FastcgiConnection, type ConnectionHost } from "./connection.js";

/** Options of the fastcgi backend. */
export interface FastcgiServerOptions extends SocketServerOptions, CgiEnvironmentOptions {
  /**
   * Largest PARAMS stream (all CGI variables of a request), in bytes; a larger one is answered
   * 431 and the connection stays usable. Default 64 KiB.
   */
  maxParamsSize?: number;
  /**
   * Milliseconds a connection may stay silent before it is closed, unless the application is
   * working on one of its requests. Keep it above the front server's keepalive timeout (nginx:
   * 60 s) so that the front server closes first. Default 75000; 0 disables it.
   */
  idleTimeout?: number;
  /**
   * Milliseconds a request's PARAMS may take, from its BEGIN_REQUEST to their end, however
   * their bytes trickle in; past it the connection is closed and logged. `idleTimeout` counts
   * from the last bytes only. Default 20000; 0 disables it.
   */
  headTimeout?: number;
  /**
   * Requests in flight at once on one connection (FCGI_MAX_REQS, which HAProxy reads as a
   * per-connection limit); more are answered END_REQUEST OVERLOADED. Default 1024.
   */
  maxRequests?: number;
  /** Whether one connection may carry several requests at once (FCGI_MPXS_CONNS). Default true. */
  multiplex?: boolean;
  /**
   * Bytes of request body buffered for the application before the connection stops reading.
   * On a multiplexed connection this pauses every request on it: raise it if handlers read
   * their bodies slowly behind HAProxy `option mpxs-conns`. Default 64 KiB.
   */
  bodyHighWaterMark?: number;
}

/** Defaults of the fastcgi backend's limits. */
export const FASTCGI_LIMITS = {
  /** @default 65536 */
  maxParamsSize: 64 * 1024,
  /** @default 75000 (above nginx's 60 s keepalive_timeout, so that nginx closes first) */
  idleTimeout: 75000,
  /** @default 20000 */
  headTimeout: 20000,
  /** @default 1024 */
  maxRequests: 1024,
  /** @default 65536 */
  bodyHighWaterMark: 64 * 1024,
} as const;

/** FCGI_WEB_SERVER_ADDRS (`127.0.0.1,10.0.0.2`), the FastCGI convention for the peer allow-list. */
function allowFromEnvironment(env: NodeJS.ProcessEnv): string[] | undefined {
  const addresses = env.FCGI_WEB_SERVER_ADDRS;
  if (addresses === undefined || addresses.trim() === "") return undefined;
  return addresses.split(",").map((a) => a.trim()).filter((a) => a.length > 0);
}

/**
 * The fastcgi backend: FastCGI 1.0 as a RESPONDER, with FCGI_KEEP_CONN, multiplexing,
 * GET_VALUES, ABORT_REQUEST, STDERR for the application's error log, and back-pressure both
 * ways. With no address it accepts on systemd's LISTEN_FDS sockets, else on fd 0 (lighttpd
 * `bin-path`, spawn-fcgi).
 *
 * @example
 * const server = Server.new("fastcgi", { handler: app, allow: ["127.0.0.1"] });
 * await server.listen({ port: 9000 });
 */
export default class FastcgiServer extends SocketServer implements ConnectionHost {
  static override readonly optionNames = optionNames<FastcgiServerOptions>({
    ...SOCKET_SERVER_OPTIONS,
    ...CGI_ENVIRONMENT_OPTIONS,
    maxParamsSize: true,
    idleTimeout: true,
    headTimeout: true,
    maxRequests: true,
    multiplex: true,
    bodyHighWaterMark: true,
  });
  declare readonly options: FastcgiServerOptions;
  /** @internal The application (its errors reach the request's STDERR through FastcgiResponse.logError). */
  readonly app: HandlerFunction;
  /** @internal */
  readonly cgiOptions: CgiEnvironmentOptions;
  /** @internal */
  readonly maxParamsSize: number;
  /** @internal */
  readonly maxRequests: number;
  /** @internal */
  readonly multiplex: boolean;
  /** @internal */
  readonly bodyHighWaterMark: number;
  /** @internal */
  readonly idleTimeout: number;
  /** @internal */
  readonly headTimeout: number;

  constructor(options: FastcgiServerOptions) {
    const allow = options?.allow ?? allowFromEnvironment(process.env);
    super(allow === undefined ? options : { ...options, allow });
    this.cgiOptions = checkCgiOptions(options);
    this.maxParamsSize = integerOption(options.maxParamsSize, "maxParamsSize", FASTCGI_LIMITS.maxParamsSize);
    this.maxRequests = integerOption(options.maxRequests, "maxRequests", FASTCGI_LIMITS.maxRequests);
    this.bodyHighWaterMark = integerOption(options.bodyHighWaterMark, "bodyHighWaterMark", FASTCGI_LIMITS.bodyHighWaterMark);
    this.idleTimeout = integerOption(options.idleTimeout, "idleTimeout", FASTCGI_LIMITS.idleTimeout, 0);
    this.headTimeout = integerOption(options.headTimeout, "headTimeout", FASTCGI_LIMITS.headTimeout, 0);
    if (options.multiplex !== undefined && typeof options.multiplex !== "boolean") {
      throw new VsgiError(ERR_INVALID_OPTION, `option multiplex must be a boolean, got ${JSON.stringify(options.multiplex)}`);
    }
    this.multiplex = options.multiplex ?? true;
    this.app = this.handler;
    this.onConnection = this.onConnection.bind(this);
  }

  get scheme(): string {
    return "fastcgi";
  }

  protected defaultAddresses(): ListenAddress[] {
    return inheritedSockets();
  }

  protected createListener(): NetServer {
    // Half-open allowed: a front server that shuts down its side after its last request still
    // reads the responses in flight; the connection closes once they are sent.
    return createServer({ noDelay: true, allowHalfOpen: true }, this.onConnection);
  }

  protected override shortestTimeout(): number {
    const timeouts = [this.idleTimeout, this.headTimeout].filter((t) => t > 0);
    return timeouts.length > 0 ? Math.min(...timeouts) : super.shortestTimeout();
  }

  private onConnection(socket: Socket): void {
    // TCP_NODELAY comes from the listener's noDelay option.
    if (!this.admit(socket)) return;
    const connection = new FastcgiConnection(this, socket);
    this.track(connection);
    if (this.idleTimeout > 0) connection.expireIn(this.idleTimeout);
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Bytes written to the sockets and not yet sent, over all connections: what a slow front
   * server makes the backend hold. Back-pressure keeps it near the sockets' high-water marks,
   * whatever the size of the responses.
   */
  get bufferedBytes(): number {
    let total = 0;
    for (const connection of this.connections.toArray()) total += connection.socket.writableLength;
    return total;
  }
}
