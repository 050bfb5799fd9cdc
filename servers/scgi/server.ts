import { createServer, type Server as NetServer, type Socket } from "node:net";
import { checkCgiOptions, integerOption, type CgiEnvironmentOptions } from "../../vsgi/index.js";
import { SocketServer, SOCKET_SERVER_OPTIONS, inheritedSockets, type SocketServerOptions } from "../../vsgi/socket-server.js";
import { optionNames } from "../../vsgi/options.js";
import { CGI_ENVIRONMENT_OPTIONS } from "../../vsgi/cgi-environment.js";
import type { ListenAddress } from "../../vsgi/server.js";
import { ScgiConnection, LINGER_MS, type ScgiHost } from "./connection.js";
import { DEFAULT_MAX_HEADER_SIZE } from "./wire.js";

/** Options of the scgi backend. */
export interface ScgiServerOptions extends SocketServerOptions, CgiEnvironmentOptions {
  /**
   * The largest header block (the netstring of CGI variables) accepted, in bytes: 64 KiB by
   * default. A larger one is answered `431` and logged.
   */
  maxHeaderSize?: number;
  /**
   * Milliseconds the backend waits for the next bytes of a request, the head or a body the
   * application is reading (60 s), before it gives up on the connection; 0: no limit. Time the
   * application takes to read or to answer does not count.
   */
  readTimeout?: number;
  /**
   * Milliseconds the whole request head may take to arrive, from the connection's opening,
   * however its bytes trickle in (20 s); past it the connection is closed and logged. 0: no
   * limit. `readTimeout` alone would let a head coming one byte a second hold a connection
   * for ever.
   */
  headTimeout?: number;
}

/** Defaults of the scgi backend's limits. */
export const SCGI_LIMITS = {
  /** @default 65536 */
  maxHeaderSize: DEFAULT_MAX_HEADER_SIZE,
  /** @default 60000 */
  readTimeout: 60000,
  /** @default 20000 */
  headTimeout: 20000,
} as const;

/**
 * The scgi backend: SCGI requests on TCP, on a UNIX socket, or on the listening socket a front
 * server hands over as fd 0 (lighttpd's `bin-path`). One request per connection, bodies
 * streamed both ways with back-pressure.
 *
 * @example
 * const server = Server.new("scgi", { handler: app });
 * await server.listen({ port: 9001 }); // or listen() for fd 0 / systemd sockets
 */
export default class ScgiServer extends SocketServer implements ScgiHost {
  static override readonly optionNames = optionNames<ScgiServerOptions>({
    ...SOCKET_SERVER_OPTIONS,
    ...CGI_ENVIRONMENT_OPTIONS,
    maxHeaderSize: true,
    readTimeout: true,
    headTimeout: true,
  });
  declare readonly options: ScgiServerOptions;
  readonly cgiOptions: CgiEnvironmentOptions;
  readonly maxHeaderSize: number;
  readonly readTimeout: number;
  readonly headTimeout: number;

  constructor(options: ScgiServerOptions) {
    super(options);
    this.cgiOptions = checkCgiOptions(options);
    this.maxHeaderSize = integerOption(options.maxHeaderSize, "maxHeaderSize", SCGI_LIMITS.maxHeaderSize);
    this.readTimeout = integerOption(options.readTimeout, "readTimeout", SCGI_LIMITS.readTimeout, 0);
    this.headTimeout = integerOption(options.headTimeout, "headTimeout", SCGI_LIMITS.headTimeout, 0);
    this.onConnection = this.onConnection.bind(this);
  }

  get scheme(): string {
    return "scgi";
  }

  /** systemd's sockets (LISTEN_FDS) when there are any, else the socket on fd 0. */
  protected defaultAddresses(): ListenAddress[] {
    return inheritedSockets();
  }

  protected createListener(): NetServer {
    // Half-open allowed: a front server that shuts down its side after the request still reads
    // the response.
    return createServer({ allowHalfOpen: true, noDelay: true }, this.onConnection);
  }

  protected override shortestTimeout(): number {
    let shortest = LINGER_MS;
    if (this.readTimeout > 0) shortest = Math.min(shortest, this.readTimeout);
    if (this.headTimeout > 0) shortest = Math.min(shortest, this.headTimeout);
    return shortest;
  }

  private onConnection(socket: Socket): void {
    if (!this.admit(socket)) return;
    // Every SCGI connection carries one request: it is busy from the start, so a graceful stop
    // lets it finish instead of closing it as idle.
    const connection = new ScgiConnection(this, socket);
    this.track(connection);
    connection.startHead();
  }
}
