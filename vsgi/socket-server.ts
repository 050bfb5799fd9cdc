import type { ChildProcess } from "node:child_process";
import { Server as NetServer, type Socket } from "node:net";
import { Server, SERVER_OPTIONS, type ListenAddress, type ServerOptions } from "./server.js";
import { VsgiError, ERR_INVALID_OPTION } from "./errors.js";
import { integerOption, type OptionNames } from "./options.js";
import { ConnectionList, TrackedConnection } from "./connections.js";
import { performance } from "node:perf_hooks";
import { logError } from "./handler.js";
import { removeSocket } from "./socket-paths.js";
import { listenAt, listenerUri } from "./listen-address.js";
import { peerAllowList, peerAllowed } from "./allow-list.js";
import { Workers, isWorker, inheritedListener, listenedOn, leavePrimary } from "./workers.js";

// Socket activation lives in systemd.ts; the backends import it from here, with the rest.
export { systemdSockets, takeSystemdSockets, inheritedSockets, systemdOr, type FdAddress } from "./systemd.js";

/** Options of the backends that accept connections on sockets. */
export interface SocketServerOptions extends ServerOptions {
  /**
   * Peer addresses allowed to connect (like FastCGI's FCGI_WEB_SERVER_ADDRS); others are closed
   * at once. UNIX-socket peers are always allowed. Empty or absent: everyone.
   */
  allow?: readonly string[];
  /**
   * Connections open at once per listening socket; more are closed as soon as they are
   * accepted, before a byte is read (one line logged per burst). Default
   * `SOCKET_LIMITS.maxConnections`.
   */
  maxConnections?: number;
}

/** The names of `SocketServerOptions`, for the backends' `optionNames`. */
export const SOCKET_SERVER_OPTIONS: OptionNames<SocketServerOptions> = { ...SERVER_OPTIONS, allow: true, maxConnections: true };

/** Defaults of the limits every socket backend applies. */
export const SOCKET_LIMITS = {
  /**
   * @default 10000 (a front server pools far fewer; past a few thousand, a process runs out
   * of file descriptors under Debian's default limit of 1024 anyway, unless raised)
   */
  maxConnections: 10000,
} as const;

// Refused connections come in bursts (a flood, a front server's pool opening at once): one line
// for the first of a burst, then none until none was refused for this long.
const REFUSALS_QUIET_MS = 10000;

interface Listener {
  /** The server that serves the protocol. */
  server: NetServer;
  /** The server that owns the listening socket: `server` itself, or a listening `net.Server` given as `handle`. */
  bound: NetServer;
  address: ListenAddress;
}

/** How long a stop that hands over leaves idle connections open (ms): see `idleGrace`. @default 1000 */
const IDLE_GRACE = 1000;

/** How long a graceful stop waits for requests in flight, in ms. @default 30000 */
export const DEFAULT_STOP_TIMEOUT = 30000;

// The connection `acceptConnection` made for a socket, for `requestStarted(socket)`.
const TRACKED = Symbol("accepted connection");
type SocketWithConnection = Socket & { [TRACKED]?: TrackedConnection };

/**
 * The part shared by the backends that listen on sockets (http, scgi, fastcgi, ajp): listeners,
 * URIs, peer allow-list, and a graceful stop that waits for in-flight requests.
 *
 * A backend implements `createListener` (a `net.Server` with its connection handling). Its
 * connection class extends `TrackedConnection` (timeouts without a timer per connection); the
 * backend `admit`s each socket and `track`s its connection, which calls its own
 * `requestStarted`/`requestFinished` around each request (so that a stop can close idle
 * connections and let busy ones finish) and `untrack` on close. A simpler backend calls
 * `acceptConnection(socket)` and marks requests by socket.
 */
export abstract class SocketServer extends Server {
  declare readonly options: SocketServerOptions;
  private readonly listening: Listener[] = [];
  private list: ConnectionList | null = null;
  private stopping: Promise<void> | null = null;
  private readonly allow: ReadonlySet<string> | null;
  private readonly stopTimeout: number;
  /** Connections open at once per listening socket (FastCGI's FCGI_MAX_CONNS). */
  readonly maxConnections: number;
  /** When the last connection over `maxConnections` was refused (performance.now()). */
  private lastRefusal = -Infinity;
  /** The workers `fork()` started (primary), or whether `listen` took the primary's sockets (worker). */
  private workers: Workers | null = null;
  private adopted = false;
  /** UNIX socket paths this process bound, removed by `stop()` unless other processes serve them. */
  private readonly paths: string[] = [];
  /** Other processes serve the sockets: see `handOver`. */
  private handedOver = false;
  /** `done`, and what settles it. */
  private settleStopped!: () => void;
  private readonly stopped = new Promise<void>((resolve) => (this.settleStopped = resolve));

  constructor(options: SocketServerOptions) {
    super(options);
    this.stopTimeout = integerOption(options.stopTimeout, "stopTimeout", DEFAULT_STOP_TIMEOUT, 0);
    this.maxConnections = integerOption(options.maxConnections, "maxConnections", SOCKET_LIMITS.maxConnections);
    this.onDrop = this.onDrop.bind(this);
    this.allow = peerAllowList(options.allow);
  }

  /** A new `net.Server` (or `http.Server`) that serves this backend's protocol. */
  protected abstract createListener(): NetServer;

  /** Where to listen when `listen()` is given no address. */
  protected abstract defaultAddresses(): ListenAddress[];

  /**
   * The smallest timeout (ms) the backend's connections arm with `expireIn`: it sets how often
   * timeouts are checked (a quarter of it, at most every second).
   */
  protected shortestTimeout(): number {
    return 4000;
  }

  /**
   * Settles once the server stopped, unless it handed its sockets over to processes that serve
   * on (`handOver`): `run()` ends then, whether a signal or the application's own `stop()`
   * stopped it.
   */
  override get done(): Promise<void> {
    return this.stopped;
  }

  /** True while a stop is under way: backends refuse new requests on kept-alive connections. */
  get isStopping(): boolean {
    return this.stopping !== null;
  }

  override listeners(): NetServer[] {
    return this.listening.map((l) => l.bound);
  }

  /** The open connections (built when first needed, after the backend's constructor ran). */
  protected get connections(): ConnectionList {
    return (this.list ??= new ConnectionList(this.shortestTimeout()));
  }

  /**
   * Whether to serve a new connection: false (and the socket destroyed) when its peer is not
   * allowed or the server is stopping. Backends call it first thing in their connection handler,
   * then `track` their connection object.
   */
  protected admit(socket: Socket): boolean {
    if (this.allow !== null && !peerAllowed(this.allow, socket.remoteAddress)) {
      socket.destroy();
      return false;
    }
    if (this.stopping !== null) {
      socket.destroy();
      return false;
    }
    return true;
  }

  /**
   * node's listener closed a connection over `maxConnections` (before any socket object was
   * made for it): logged once per burst.
   */
  private onDrop(): void {
    const now = performance.now();
    if (now - this.lastRefusal > REFUSALS_QUIET_MS) {
      logError(`${this.scheme}: refusing connections over maxConnections (${this.maxConnections} per listener); quiet until none is refused for ${REFUSALS_QUIET_MS / 1000} s`);
    }
    this.lastRefusal = now;
  }

  /** Tracks a connection: its timeouts, and a stop waits for its requests. It `untrack`s itself on close. */
  protected track(connection: TrackedConnection): void {
    this.connections.add(connection);
  }


  /**
   * For backends that keep no connection object: admits the socket (as `admit`) and tracks it
   * until it closes; mark its requests with `requestStarted(socket)`/`requestFinished(socket)`.
   *
   * @example createServer((socket) => { if (!this.acceptConnection(socket)) return; ... })
   */
  protected acceptConnection(socket: Socket): boolean {
    if (!this.admit(socket)) return false;
    const connection = new TrackedConnection(socket);
    (socket as SocketWithConnection)[TRACKED] = connection;
    this.track(connection);
    socket.once("close", () => connection.untrack());
    return true;
  }

  /** Marks a request as started on a socket given to `acceptConnection`. */
  protected requestStarted(socket: Socket): void {
    (socket as SocketWithConnection)[TRACKED]?.requestStarted();
  }

  /** Marks a request as finished on a socket given to `acceptConnection`. */
  protected requestFinished(socket: Socket): void {
    (socket as SocketWithConnection)[TRACKED]?.requestFinished();
  }


  /**
   * Closes the idle connections; the http backend overrides it with node's own tracking. A
   * connection that has received nothing yet is not idle: its client just connected and is
   * about to send a request (it may be in flight, or the connection was accepted as the stop
   * began); its read timeout or the stop timeout ends it if nothing comes.
   */
  protected closeIdleConnections(): void {
    if (this.list === null) return;
    for (const connection of this.list.toArray()) if (connection.busy <= 0 && connection.socket.bytesRead > 0) connection.closeIdle();
  }

  /** Resolves when `server` has no connection left (it may not be listening itself). */
  private connectionsClosed(server: NetServer): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        server.getConnections((err, count) => {
          if (err || count === 0) resolve();
          else setTimeout(check, 50);
        });
      };
      check();
    });
  }

  /** Closes every connection, busy or not: the end of a stop that timed out. */
  protected closeAllConnections(): void {
    if (this.list === null) return;
    for (const connection of this.list.toArray()) connection.socket.destroy();
  }

  async listen(address?: ListenAddress): Promise<void> {
    if (isWorker() && (address === undefined || !("handle" in address))) {
      // A worker: the program listens as its parent did; it gets the parent's socket instead.
      this.adopted = true;
      const { handle, index } = await inheritedListener();
      listenedOn(index, await this.listenOne({ handle }));
      return;
    }
    const addresses = address === undefined ? this.defaultAddresses() : [address];
    if (addresses.length === 0) {
      throw new VsgiError(ERR_INVALID_OPTION, `the ${this.scheme} server has nowhere to listen: give a port, a socket or a file descriptor`);
    }
    for (const where of addresses) await this.listenOne(where);
  }

  /** Listens on one address; resolves with the server that accepts on it. */
  private listenOne(address: ListenAddress): Promise<NetServer> {
    const server = this.createListener();
    if ("handle" in address && address.handle instanceof NetServer && address.handle.listening) {
      // A listening net.Server (as node's IPC delivers one): take its connections from now on,
      // synchronously, so that none is lost in between.
      const bound = address.handle;
      this.limitConnections(bound);
      // That server was made without the listener's options: every protocol here wants
      // TCP_NODELAY (a response's last small write must not wait for an ACK).
      bound.on("connection", (socket: Socket) => {
        socket.setNoDelay(true);
        server.emit("connection", socket);
      });
      this.listening.push({ server, bound, address });
      return Promise.resolve(server);
    }
    this.limitConnections(server);
    return listenAt(server, address, this.scheme, (placed) => {
      // A UNIX socket's path: stop() removes it, unless the socket was handed over.
      if (placed !== null) this.paths.push(placed);
      this.listening.push({ server, bound: server, address });
    });
  }

  // node counts a listener's connections and closes those over its maxConnections at accept,
  // which is cheaper than any check of ours ('drop' tells of each).
  private limitConnections(server: NetServer): void {
    server.maxConnections = this.maxConnections;
    server.on("drop", this.onDrop);
  }

  /**
   * The listening sockets live on in other processes (a reload handed them to a worker):
   * `stop()` leaves the UNIX socket paths in place and gives idle connections the backend's
   * grace. Returns the paths, for whoever removes them last.
   */
  override handOver(): string[] {
    this.handedOver = true;
    return this.paths.splice(0);
  }

  get uris(): URL[] {
    const uris: URL[] = [];
    for (const listener of this.listening) {
      const uri = listenerUri(this.scheme, listener.address, listener.bound);
      if (uri !== null) uris.push(uri);
    }
    return uris;
  }

  override async fork(): Promise<ChildProcess | null> {
    if (isWorker()) return null;
    if (this.listening.length === 0) {
      throw new VsgiError(ERR_INVALID_OPTION, "fork() shares the server's listening sockets with the worker: call listen() first");
    }
    if (this.stopping !== null) throw new VsgiError(ERR_INVALID_OPTION, "fork() on a server that is stopping");
    return (this.workers ??= new Workers(() => this.listeners())).spawn();
  }

  /**
   * `timeout`: how long to wait for requests in flight (ms), instead of the `stopTimeout` option
   * (`--stop-timeout` on the command line).
   */
  stop(timeout = this.stopTimeout): Promise<void> {
    if (this.stopping === null) {
      this.stopping = Promise.all([this.stopNow(timeout), this.workers?.stop()]).then(() => {
        for (const path of this.paths.splice(0)) removeSocket(path);
        // A worker lets go of its parent once its server stopped, so that it can exit.
        if (this.adopted) leavePrimary();
        if (!this.handedOver) this.settleStopped();
      });
    }
    return this.stopping;
  }

  private async stopNow(timeout: number): Promise<void> {
    const closed = Promise.all(
      this.listening.flatMap(({ server, bound }) => {
        const close = (s: NetServer): Promise<void> => new Promise<void>((resolve) => this.closeListener(s, () => resolve()));
        // A protocol server that never listened itself: wait for its connections to end.
        return bound === server ? [close(server)] : [close(bound), this.connectionsClosed(server)];
      }),
    );
    if (this.list !== null) this.list.stopping = true;
    // Connections that were busy become idle as their requests end; sweep them, from the start
    // or once the backend's grace for kept-alive clients is over.
    let sweep: NodeJS.Timeout | undefined;
    const sweepIdle = (): void => {
      this.closeIdleConnections();
      sweep = setInterval(() => this.closeIdleConnections(), 50);
    };
    // Only when other processes serve on (a worker, which is stopped when replaced, or a
    // process that handed its sockets over): otherwise the client has nowhere to go anyway.
    const grace = this.adopted || this.handedOver ? this.idleGrace() : 0;
    const graceTimer = grace > 0 ? setTimeout(sweepIdle, grace) : undefined;
    if (grace === 0) sweepIdle();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.closeAllConnections();
        resolve();
      }, timeout);
    });
    await Promise.race([closed, expired]);
    clearTimeout(graceTimer);
    clearInterval(sweep);
    clearTimeout(timer);
    await closed;
    this.list?.close();
  }

  /**
   * Stops accepting on `server`; `done` once its connections are all closed too. The http
   * backend overrides it: node's own `close()` would close its idle connections at once.
   */
  protected closeListener(server: NetServer, done: () => void): void {
    server.close(() => done());
  }

  /**
   * How long (ms) a stop that hands over to other processes leaves idle connections open before
   * closing them. A front server that keeps its connections (nginx's fastcgi_keep_conn, Apache's
   * AJP pool, an http client) sends its next request as soon as it has the previous response:
   * a connection that looks idle may hold a request not read yet (a busy event loop reads
   * late), and closing it loses that request (nginx: "upstream prematurely closed"). During the
   * grace each such request is served and its connection closed after the response; only those
   * still quiet after it are closed. The http backend takes the smaller of this and its
   * keep-alive timeout.
   */
  protected idleGrace(): number {
    return IDLE_GRACE;
  }
}
