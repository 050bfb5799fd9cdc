import type { ChildProcess } from "node:child_process";
import type { Server as NetServer } from "node:net";
import { VsgiError, ERR_INVALID_OPTION } from "./errors.js";
import { toHandlerFunction, type HandlerFunction, type HandlerLike } from "./handler.js";
import { loadServer } from "./loader.js";

/** Where a server listens. */
export type ListenAddress =
  /** A TCP port (`0` = any free one) on `host` (default: the loopback). */
  | { port: number; host?: string; ipv6Only?: boolean }
  /** A UNIX socket. */
  | { path: string }
  /** A listening socket inherited as a file descriptor (`0` when spawned by lighttpd or spawn-fcgi). */
  | { fd: number }
  /** A listening socket shared by the primary process with a worker (`--forks`). */
  | { handle: NetServer };

/** Options of any backend, as `Server.new` takes them: the common ones plus the backend's own. */
export type AnyServerOptions = ServerOptions & { readonly [option: string]: unknown };

/** Options every backend takes; backends add their own. */
export interface ServerOptions {
  /** The application: a Router, an object with `handle(req, res)`, or a function. */
  handler: HandlerLike;
  /** Milliseconds `stop()` waits for in-flight requests before closing their connections (30 s). */
  stopTimeout?: number;
}

/**
 * A backend: turns its protocol into `Request`s for the handler and writes the `Response`s.
 * Backends are loaded by name with `Server.new`.
 *
 * @example
 * await Server.new("scgi", { handler: app }).run(process.argv);
 */
export abstract class Server {
  /** The application, as a function. */
  readonly handler: HandlerFunction;
  readonly options: ServerOptions;

  constructor(options: ServerOptions) {
    if (options === null || typeof options !== "object") {
      throw new TypeError("Server options must be an object with a handler");
    }
    this.options = options;
    this.handler = toHandlerFunction(options.handler);
  }

  /**
   * Creates the backend called `name`: a built-in (`http`, `cgi`, `scgi`, `fastcgi`, `ajp`) or a
   * module `<name>.js` in a folder of `VSGI_SERVER_PATH`. The module loads asynchronously: the
   * returned server waits for it in `listen`, `run` and `stop`; an unknown name rejects there with
   * an error that lists where it looked. Use `Server.load` to await the backend itself.
   *
   * @example
   * const server = Server.new("fastcgi", { handler: app });
   * await server.listen({ port: 9000 });
   */
  static new(name: string, options: AnyServerOptions): Server {
    return new DeferredServer(name, options);
  }

  /**
   * Loads the backend called `name` and creates it.
   *
   * @example const server = await Server.load("http", { handler: app });
   */
  static async load(name: string, options: AnyServerOptions): Promise<Server> {
    const Backend = await loadServer(name);
    return new Backend(options);
  }

  /** The backend's name in URIs: `http`, `scgi`, ... */
  abstract get scheme(): string;

  /**
   * Starts listening; with no address, where the backend listens by default (http:
   * 127.0.0.1:3003; scgi and fastcgi: the socket on fd 0 or systemd's LISTEN_FDS).
   *
   * @example await server.listen({ port: 0 }); console.log(server.uris);
   */
  abstract listen(address?: ListenAddress): Promise<void>;

  /**
   * Stops gracefully: no new requests, in-flight ones finish (up to `stopTimeout`), then resolves.
   *
   * @example process.on("SIGTERM", () => server.stop());
   */
  abstract stop(): Promise<void>;

  /** Where it listens, e.g. `http://127.0.0.1:3003/`, `scgi+unix:///run/app.sock/`, `scgi+fd://0/`. */
  abstract get uris(): URL[];

  /**
   * Settles when the server has nothing more to serve by itself (the cgi backend after its one
   * request); `null` for servers that serve until stopped.
   */
  get done(): Promise<void> | null {
    return null;
  }

  /** The listening sockets, for sharing with worker processes; empty if there are none. */
  listeners(): NetServer[] {
    return [];
  }

  /**
   * Starts one more process that serves this server's listening sockets: Valum's fork after
   * listen, done the way Node can. The program is started again with `VSGI_WORKER` set; in it,
   * `listen()` takes the primary's sockets, in the order the primary listened, instead of
   * binding, and `fork()` resolves to `null`. In the primary it resolves to the worker's
   * `ChildProcess`; a worker that dies is started again, and `stop()` stops the workers too
   * (SIGTERM). A backend without listening sockets (cgi) refuses.
   *
   * @example
   * await server.listen({ port: 3003 });
   * for (let i = 0; i < 3; i++) await server.fork(); // null in the workers
   */
  async fork(): Promise<ChildProcess | null> {
    throw new VsgiError(ERR_INVALID_OPTION, `the ${this.scheme} server has no listening socket to share with a worker`);
  }

  /**
   * Runs the server as an application: parses the command line (`--help` lists the flags),
   * listens, logs one line per listener, forks workers with `--forks N`, and stops gracefully on
   * SIGTERM or SIGINT. Resolves with the exit status once stopped.
   *
   * @example await Server.new("http", { handler: app }).run(process.argv);
   */
  async run(argv: readonly string[] = process.argv): Promise<number> {
    const { Application } = await import("./application.js");
    return new Application(this).run(argv);
  }
}

/** What `Server.new` returns: the real backend once its module is loaded. */
class DeferredServer extends Server {
  private readonly name: string;
  private readonly loading: Promise<Server>;
  private loaded: Server | null = null;

  constructor(name: string, options: AnyServerOptions) {
    super(options);
    this.name = name;
    this.loading = Server.load(name, options).then((server) => (this.loaded = server));
    // Reported by the first call that needs the backend; never an unhandled rejection.
    this.loading.catch(() => undefined);
  }

  get scheme(): string {
    return this.loaded?.scheme ?? this.name;
  }

  get uris(): URL[] {
    return this.loaded?.uris ?? [];
  }

  /** The backend itself, once loaded. */
  backend(): Promise<Server> {
    return this.loading;
  }

  override listeners(): NetServer[] {
    return this.loaded?.listeners() ?? [];
  }

  override get done(): Promise<void> | null {
    return this.loaded?.done ?? null;
  }

  override async fork(): Promise<ChildProcess | null> {
    return (await this.loading).fork();
  }

  async listen(address?: ListenAddress): Promise<void> {
    await (await this.loading).listen(address);
  }

  async stop(): Promise<void> {
    await (await this.loading).stop();
  }

  override async run(argv: readonly string[] = process.argv): Promise<number> {
    return (await this.loading).run(argv);
  }
}
