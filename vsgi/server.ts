import type { ChildProcess } from "node:child_process";
import type { Server as NetServer } from "node:net";
import { VsgiError, ERR_INVALID_OPTION } from "./errors.js";
import { toHandlerFunction, type HandlerFunction, type HandlerLike } from "./handler.js";
import { loadServer, checkServerName } from "./loader.js";
import { checkOptionNames, integerOption, type OptionNames } from "./options.js";
import { answerStatus } from "./answer.js";
import { HandlerTimeouts } from "./handler-timeout.js";
// Types only: this layer loads the built-ins by path at run time and never imports them.
import type { HttpServerOptions } from "../servers/http/server.js";
import type { CgiServerOptions } from "../servers/cgi/server.js";
import type { ScgiServerOptions } from "../servers/scgi/server.js";
import type { FastcgiServerOptions } from "../servers/fastcgi/server.js";
import type { AjpServerOptions } from "../servers/ajp/server.js";

/** Where a server listens. */
export type ListenAddress =
  /** A TCP port (`0` = any free one) on `host` (default: the loopback). */
  | { port: number; host?: string; ipv6Only?: boolean }
  /** A UNIX socket. */
  | { path: string }
  /**
   * A listening socket inherited as a file descriptor (`0` when spawned by lighttpd or
   * spawn-fcgi; from `3` under systemd), with the name systemd gave it (`LISTEN_FDNAMES`).
   */
  | { fd: number; name?: string }
  /**
   * A listening socket handed over by another process (`--forks`, a reload): a listening
   * `net.Server`, or a raw handle (node's TCP or Pipe wrap, as `net.Server` keeps in `_handle`).
   */
  | { handle: NetServer | { readonly fd: number } };

/**
 * Options of a backend `Server.new` knows nothing about (one from `VSGI_SERVER_PATH`, or a name
 * only known at run time): the common ones plus anything; the backend checks them.
 */
export type AnyServerOptions = ServerOptions & { readonly [option: string]: unknown };

/** The options of each built-in backend, by name: what `Server.new("scgi", ...)` is checked against. */
export interface BuiltInServerOptions {
  http: HttpServerOptions;
  cgi: CgiServerOptions;
  scgi: ScgiServerOptions;
  fastcgi: FastcgiServerOptions;
  ajp: AjpServerOptions;
}

/**
 * A backend name: a built-in's (offered by editors) or any other, for `VSGI_SERVER_PATH`.
 * (`string & {}` keeps the built-in names from collapsing into `string`.)
 */
export type ServerName = keyof BuiltInServerOptions | (string & {});

/** The options `Server.new(name, ...)` takes: a built-in's own type, else `AnyServerOptions`. */
export type ServerOptionsOf<Name extends string> = Name extends keyof BuiltInServerOptions ? BuiltInServerOptions[Name] : AnyServerOptions;

/** Options every backend takes; backends add their own. */
export interface ServerOptions {
  /** The application: a Router, an object with `handle(req, res)`, or a function. */
  handler: HandlerLike;
  /** Milliseconds `stop()` waits for in-flight requests before closing their connections (30 s). */
  stopTimeout?: number;
  /**
   * Longest request-target (path and query, as received), in characters; a longer one is answered
   * 414 without reaching the application. 0: no limit. Default `SERVER_LIMITS.maxUrlLength`.
   */
  maxUrlLength?: number;
  /**
   * Milliseconds a handler may take to settle (opt-in: 0, the default, is no limit). Past it the
   * request is answered 503 if its head is not written yet, else its connection is closed, and
   * in both cases its `req.signal` fires with an `ERR_VSGI_HANDLER_TIMEOUT` error. A handler
   * that streams a long response counts until it settles: keep such routes under the limit or
   * leave it off. A connection given away (`res.takeConnection()`, a websocket) is not timed.
   */
  handlerTimeout?: number;
}

/** The names of `ServerOptions`, for the backends' `optionNames`. */
export const SERVER_OPTIONS: OptionNames<ServerOptions> = { handler: true, stopTimeout: true, maxUrlLength: true, handlerTimeout: true };

/** Defaults of the limits every backend applies. */
export const SERVER_LIMITS = {
  /** @default 8192 (Apache's LimitRequestLine is 8190, nginx's large_client_header_buffers 8 KiB) */
  maxUrlLength: 8192,
  /** @default 0 (off) */
  handlerTimeout: 0,
} as const;

/**
 * The application as the backend calls it: the handler, behind the URL length check and, when
 * asked for, the handler timeout. Built once, at construction: what is off costs nothing.
 */
function guardedHandler(options: ServerOptions): HandlerFunction {
  let handler = toHandlerFunction(options.handler);
  const maxUrlLength = integerOption(options.maxUrlLength, "maxUrlLength", SERVER_LIMITS.maxUrlLength, 0);
  const handlerTimeout = integerOption(options.handlerTimeout, "handlerTimeout", SERVER_LIMITS.handlerTimeout, 0);
  if (handlerTimeout > 0) handler = new HandlerTimeouts(handlerTimeout).wrap(handler);
  if (maxUrlLength > 0) {
    const inner = handler;
    const tooLong = { code: 414, message: `URI Too Long: the request-target is longer than ${maxUrlLength} bytes` };
    handler = (req, res) => (req.target.length > maxUrlLength ? answerStatus(res, tooLong) : inner(req, res));
  }
  return handler;
}

/**
 * A backend: turns its protocol into `Request`s for the handler and writes the `Response`s.
 * Backends are loaded by name with `Server.new`.
 *
 * @example
 * await Server.new("scgi", { handler: app }).run(process.argv);
 */
export abstract class Server {
  /**
   * The option names the backend takes: an option not listed is refused at construction with
   * a `VsgiError` (`ERR_VSGI_INVALID_OPTION`) naming it and the closest known name. Checked
   * only when the backend class declares its own list (every built-in does, with
   * `optionNames`); a backend that does not is left to check its options itself.
   *
   * @example static override readonly optionNames = optionNames<MyOptions>({ ...SERVER_OPTIONS, color: true });
   */
  static readonly optionNames: readonly string[] | null = null;

  /** The application, as a function. */
  readonly handler: HandlerFunction;
  readonly options: ServerOptions;

  constructor(options: ServerOptions) {
    if (options === null || typeof options !== "object") {
      throw new VsgiError(ERR_INVALID_OPTION, "server options must be an object with a handler");
    }
    const backend = new.target as typeof Server;
    if (Object.hasOwn(backend, "optionNames") && backend.optionNames !== null) checkOptionNames(options, backend.optionNames);
    this.options = options;
    this.handler = guardedHandler(options);
  }

  /**
   * Creates the backend called `name`: a built-in (`http`, `cgi`, `scgi`, `fastcgi`, `ajp`) or a
   * module `<name>.js` in a folder of `VSGI_SERVER_PATH`. The module loads asynchronously: the
   * returned server waits for it in `listen`, `run` and `stop`; an unknown name, or an option the
   * backend does not take, rejects there with an error that lists the built-ins and where it
   * looked, or names the option. Use `Server.load` to await the backend itself. A built-in's
   * options are type-checked (`BuiltInServerOptions`): a misspelled option does not compile.
   *
   * @example
   * const server = Server.new("fastcgi", { handler: app });
   * await server.listen({ port: 9000 });
   */
  static new<const Name extends ServerName>(name: Name, options: ServerOptionsOf<Name>): Server {
    checkServerName(name);
    return new DeferredServer(name, options);
  }

  /**
   * Loads the backend called `name` and creates it.
   *
   * @example const server = await Server.load("http", { handler: app });
   */
  static async load<const Name extends ServerName>(name: Name, options: ServerOptionsOf<Name>): Promise<Server> {
    const Backend = await loadServer(name);
    return new Backend(options);
  }

  /** The backend's name in URIs: `http`, `scgi`, ... */
  abstract get scheme(): string;

  /**
   * Starts listening; with no address, where the backend listens by default: systemd's sockets
   * (`LISTEN_FDS`) when it passed any to this process, else http 127.0.0.1:3003, ajp
   * 127.0.0.1:8009, scgi and fastcgi the socket on fd 0.
   *
   * @example await server.listen({ port: 0 }); console.log(server.uris);
   */
  abstract listen(address?: ListenAddress): Promise<void>;

  /**
   * Stops gracefully: no new requests, in-flight ones finish (up to `timeout` ms, by default the
   * `stopTimeout` option), then resolves.
   *
   * @example process.on("SIGTERM", () => server.stop());
   */
  abstract stop(timeout?: number): Promise<void>;

  /**
   * Where it listens, e.g. `http://127.0.0.1:3003/`, `scgi+unix:///run/app.sock/`, `scgi+fd://0/`,
   * `http+fd://3/?name=web` (a systemd socket named `web`).
   */
  abstract get uris(): URL[];

  /**
   * Settles when the server has nothing more to serve: the cgi backend after its one request, a
   * socket backend once stopped (by a signal under `run()`, or by the application's own
   * `stop()`), unless it handed its sockets over to processes that serve on. `null` for a
   * backend that does not tell.
   *
   * @example await server.done; // the server stopped
   */
  get done(): Promise<void> | null {
    return null;
  }

  /** The listening sockets, for sharing with worker processes; empty if there are none. */
  listeners(): NetServer[] {
    return [];
  }

  /**
   * Says that other processes serve the listening sockets from now on (a reload handed them
   * over), so that the coming `stop()` leaves the UNIX socket paths in place and lets clients
   * of kept-alive connections move over without losing a request (http: a grace before idle
   * connections close). Returns the paths, for whoever removes them last.
   *
   * @example const paths = server.handOver(); await server.stop(); // ... paths.forEach(unlink)
   */
  handOver(): string[] {
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
   * listens, logs one line per listener, serves with N+1 supervised workers with `--forks N`,
   * replaces the serving code without losing a request on SIGHUP, and stops gracefully on
   * SIGTERM or SIGINT. Resolves with the exit status once stopped (docs/application.md).
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

  constructor(name: string, options: ServerOptions) {
    super(options);
    this.name = name;
    this.loading = Server.load<string>(name, options as AnyServerOptions).then((server) => (this.loaded = server));
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

  override handOver(): string[] {
    return this.loaded?.handOver() ?? [];
  }

  override async fork(): Promise<ChildProcess | null> {
    return (await this.loading).fork();
  }

  async listen(address?: ListenAddress): Promise<void> {
    await (await this.loading).listen(address);
  }

  async stop(timeout?: number): Promise<void> {
    await (await this.loading).stop(timeout);
  }

  override async run(argv: readonly string[] = process.argv): Promise<number> {
    return (await this.loading).run(argv);
  }
}
