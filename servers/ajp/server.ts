import { createHash } from "node:crypto";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { checkCgiOptions, integerOption, VsgiError, ERR_INVALID_OPTION, type CgiEnvironmentOptions } from "../../vsgi/index.js";
import { SocketServer, SOCKET_SERVER_OPTIONS, systemdOr, type SocketServerOptions } from "../../vsgi/socket-server.js";
import { optionNames } from "../../vsgi/options.js";
import { CGI_ENVIRONMENT_OPTIONS } from "../../vsgi/cgi-environment.js";
import type { ListenAddress } from "../../vsgi/server.js";
import { AjpConnection, type BodyFramingOption, type ConnectionHost } from "./connection.js";
import { DEFAULT_PACKET_SIZE, MAX_PACKET_SIZE } from "./wire.js";

/** Options of the ajp backend. */
export interface AjpServerOptions extends SocketServerOptions, CgiEnvironmentOptions {
  /**
   * The largest AJP packet, in bytes, header included: 8192 by default, up to 65536. It bounds
   * what the front server may send (a FORWARD_REQUEST with all its headers must fit one packet)
   * and what the backend sends (response headers in one packet, body chunks of at most
   * `packetSize - 8` bytes). Both sides must agree: Apache's `ProxyIOBufferSize`.
   */
  packetSize?: number;
  /**
   * The shared secret: when set, a request whose FORWARD_REQUEST does not carry it (Apache:
   * `ProxyPass ... secret=XYZ`) is answered 403 without reaching the application. Compared in
   * constant time.
   */
  secret?: string;
  /**
   * How request bodies arrive. `spec` (the reference, Apache, mod_jk): packets framed with a
   * chunk length, the first one unasked, then one per GET_BODY_CHUNK. `raw` (lighttpd 1.4
   * mod_ajp13): the data alone, sent on credit whenever the front server has it. `auto`
   * (default): `spec` for requests carrying Apache's AJP_REMOTE_PORT attribute; for the others,
   * the framing told from the first body packet, and one GET_BODY_CHUNK outstanding at a time
   * until the front server shows it sends more packets than asked for (lighttpd), so that a
   * reference front server without that optional attribute is read too (see docs/servers/ajp.md).
   */
  bodyFraming?: BodyFramingOption;
  /**
   * Milliseconds a FORWARD_REQUEST packet may take to arrive, from its first byte to its last,
   * however its bytes trickle in; past it the connection is closed and logged. Default 20000;
   * 0 disables it.
   */
  headTimeout?: number;
  /**
   * Milliseconds the backend waits for bytes it is owed: the rest of a packet begun, or a body
   * packet asked for with GET_BODY_CHUNK (or sent unasked by the reference). Past it the
   * connection is closed and the request aborted. Keep it above the front server's own read
   * timeout on its client (Apache `Timeout`, lighttpd `server.max-read-idle`: 60 s). Default
   * 75000; 0 disables it.
   */
  readTimeout?: number;
  /**
   * Milliseconds a connection may stay without a request (after it opens, or after its last
   * response), CPINGs included; then it is closed: a pooling front server reconnects. Set
   * Apache's `ProxyPass ... ttl=` below it so that Apache drops the connection first. Default
   * 300000; 0 disables it.
   */
  idleTimeout?: number;
  /**
   * Requests served on one connection before the backend ends it (END_RESPONSE with reuse = 0,
   * then a close; the front server opens another). 0 (the default): no limit, as a pooling front
   * server chooses when to let go.
   */
  maxRequestsPerConnection?: number;
}

/** Defaults of the ajp backend's limits. */
export const AJP_LIMITS = {
  /** @default 8192 (Apache's ProxyIOBufferSize) */
  packetSize: DEFAULT_PACKET_SIZE,
  /** @default 20000 */
  headTimeout: 20000,
  /** @default 75000 (above Apache's and lighttpd's 60 s read timeouts) */
  readTimeout: 75000,
  /** @default 300000 */
  idleTimeout: 300000,
  /** @default 0 (no limit) */
  maxRequestsPerConnection: 0,
} as const;

/**
 * The ajp backend: AJP13 from Apache mod_proxy_ajp (or mod_jk, lighttpd mod_ajp13), on
 * 127.0.0.1:8009 by default. Connections are reused for request after request; CPING is
 * answered; request bodies are pulled with GET_BODY_CHUNK as the application reads them.
 *
 * @example
 * const server = Server.new("ajp", { handler: app, secret: process.env.AJP_SECRET });
 * await server.listen(); // 127.0.0.1:8009
 */
export default class AjpServer extends SocketServer implements ConnectionHost {
  static override readonly optionNames = optionNames<AjpServerOptions>({
    ...SOCKET_SERVER_OPTIONS,
    ...CGI_ENVIRONMENT_OPTIONS,
    packetSize: true,
    secret: true,
    bodyFraming: true,
    headTimeout: true,
    readTimeout: true,
    idleTimeout: true,
    maxRequestsPerConnection: true,
  });
  declare readonly options: AjpServerOptions;
  readonly packetSize: number;
  readonly bodyFraming: BodyFramingOption;
  readonly secretDigest: Buffer | null;
  readonly cgiOptions: CgiEnvironmentOptions;
  readonly headTimeout: number;
  readonly readTimeout: number;
  readonly idleTimeout: number;
  readonly maxRequestsPerConnection: number;

  constructor(options: AjpServerOptions) {
    super(options);
    this.cgiOptions = checkCgiOptions(options);
    this.packetSize = integerOption(options.packetSize, "packetSize", AJP_LIMITS.packetSize, DEFAULT_PACKET_SIZE, MAX_PACKET_SIZE);
    const secret = options.secret;
    if (secret !== undefined && (typeof secret !== "string" || secret.length === 0)) {
      throw new VsgiError(ERR_INVALID_OPTION, "option secret must be a non-empty string");
    }
    this.secretDigest = secret === undefined ? null : createHash("sha256").update(secret, "latin1").digest();
    const framing = options.bodyFraming ?? "auto";
    if (framing !== "auto" && framing !== "spec" && framing !== "raw") {
      throw new VsgiError(ERR_INVALID_OPTION, `option bodyFraming must be "auto", "spec" or "raw", got ${JSON.stringify(framing)}`);
    }
    this.bodyFraming = framing;
    this.headTimeout = integerOption(options.headTimeout, "headTimeout", AJP_LIMITS.headTimeout, 0);
    this.readTimeout = integerOption(options.readTimeout, "readTimeout", AJP_LIMITS.readTimeout, 0);
    this.idleTimeout = integerOption(options.idleTimeout, "idleTimeout", AJP_LIMITS.idleTimeout, 0);
    this.maxRequestsPerConnection = integerOption(options.maxRequestsPerConnection, "maxRequestsPerConnection", AJP_LIMITS.maxRequestsPerConnection, 0);
    this.onConnection = this.onConnection.bind(this);
  }

  get scheme(): string {
    return "ajp";
  }

  /** systemd's sockets (LISTEN_FDS), else 127.0.0.1:8009: never every interface unless asked (Ghostcat, CVE-2020-1938). */
  protected defaultAddresses(): ListenAddress[] {
    return systemdOr({ port: 8009, host: "127.0.0.1" });
  }

  protected createListener(): NetServer {
    return createServer({ noDelay: true }, this.onConnection);
  }

  protected override shortestTimeout(): number {
    const timeouts = [this.headTimeout, this.readTimeout, this.idleTimeout].filter((t) => t > 0);
    return timeouts.length > 0 ? Math.min(...timeouts) : super.shortestTimeout();
  }

  private onConnection(socket: Socket): void {
    if (!this.admit(socket)) return;
    const connection = new AjpConnection(socket, this);
    this.track(connection);
    connection.startIdle();
  }
}
