import type { Readable, Writable } from "node:stream";
import {
  CgiVariables,
  Server,
  Request,
  dispatch,
  logError,
  checkCgiOptions,
  type CheckedCgiOptions,
  requestFromEnvironment,
  VsgiError,
  ERR_INVALID_OPTION,
  abortedError,
  cgiErrorAnswer,
  reasonPhrase,
  type CgiEnvironmentOptions,
  type ListenAddress,
  type ServerOptions,
} from "../../vsgi/index.js";
import { SERVER_OPTIONS } from "../../vsgi/server.js";
import { optionNames } from "../../vsgi/options.js";
import { CGI_ENVIRONMENT_OPTIONS } from "../../vsgi/cgi-environment.js";
import { CgiBody } from "./body.js";
import { dropRequestProxy } from "./httpoxy.js";
import { CgiOutput, CgiStdoutResponse } from "./response.js";

/** Options of the cgi backend. */
export interface CgiServerOptions extends ServerOptions, CgiEnvironmentOptions {
  /** The CGI variables (default: `process.env`, as the front server set it). */
  environment?: Readonly<Record<string, string | undefined>>;
  /**
   * Bytes of request body the application left unread that are still read (and dropped) before
   * the process exits, so that Apache's mod_cgid does not truncate the response (16 MiB).
   */
  maxDiscard?: number;
  /** Where the request body comes from (default: `process.stdin`). */
  stdin?: Readable;
  /** Where the response goes (default: `process.stdout`). A stream given here is ended after the response. */
  stdout?: Writable;
}

/**
 * The cgi backend (RFC 3875): one request per process. `listen()` reads the request from the
 * CGI variables of the environment and from stdin, writes the response to stdout with a
 * `Status:` header, and `done` settles once it is flushed, so `run()` returns and the process
 * exits. Nothing else is ever written to stdout. `HTTP_PROXY` (set from a `Proxy:` request
 * header) is removed from `process.env` before the application runs (httpoxy).
 *
 * @example
 * // app.cgi, run by lighttpd's mod_cgi or Apache's mod_cgi
 * await Server.new("cgi", { handler: app }).run(process.argv);
 */
export default class CgiServer extends Server {
  static override readonly optionNames = optionNames<CgiServerOptions>({
    ...SERVER_OPTIONS,
    ...CGI_ENVIRONMENT_OPTIONS,
    environment: true,
    maxDiscard: true,
    stdin: true,
    stdout: true,
  });
  declare readonly options: CgiServerOptions;
  private started = false;
  private output: CgiOutput | null = null;
  private request: Request | null = null;
  private body: CgiBody | null = null;
  private readonly cgiOptions: CheckedCgiOptions;
  private readonly completed: Promise<void>;
  private resolveCompleted!: () => void;

  constructor(options: CgiServerOptions) {
    super(options);
    this.cgiOptions = checkCgiOptions(options);
    this.completed = new Promise((resolve) => (this.resolveCompleted = resolve));
  }

  get scheme(): string {
    return "cgi";
  }

  /** None: a CGI process listens nowhere (and `run` must not print where on stdout). */
  get uris(): URL[] {
    return [];
  }

  /** Settles once the response is flushed (or the front server went away). */
  override get done(): Promise<void> {
    return this.completed;
  }

  /**
   * Under a front server, the command line is not ours: RFC 3875 4.4 has the server pass a query
   * without `=` as arguments (Apache does: `/app.cgi?--help` would run `app --help`). There, only
   * the program itself is kept.
   */
  override run(argv: readonly string[] = process.argv): Promise<number> {
    const env = this.options.environment ?? process.env;
    if (env.GATEWAY_INTERFACE !== undefined) argv = argv.slice(0, 2);
    return super.run(argv);
  }

  /**
   * Serves the one request of the environment; takes no address. Rejects when the environment
   * is no CGI request (no REQUEST_METHOD: not started by a front server).
   */
  async listen(address?: ListenAddress): Promise<void> {
    if (address !== undefined) {
      throw new VsgiError(
        ERR_INVALID_OPTION,
        "the cgi backend serves the one request of its environment on stdin and stdout: it takes no address (use scgi or fastcgi to listen)",
      );
    }
    if (this.started) throw new VsgiError(ERR_INVALID_OPTION, "the cgi backend serves one request per process: listen() was already called");
    const source = this.options.environment ?? process.env;
    if (source.REQUEST_METHOD === undefined) {
      throw new VsgiError(ERR_INVALID_OPTION, "not run as a CGI script: REQUEST_METHOD is not set (start it from a front server's CGI module)");
    }
    this.started = true;
    this.serve(source);
  }

  private serve(source: Readonly<Record<string, string | undefined>>): void {
    // A copy: process.env is a slow exotic object, and HTTP_PROXY leaves it below.
    const env = CgiVariables.fromRecord(source);
    // httpoxy: a `Proxy:` request header arrives as HTTP_PROXY, which HTTP clients would take
    // for the proxy to use: it must not stay a process setting (nor a request variable: see
    // CgiVariables), and where node already took it, the request is refused.
    const proxyRefusal = source === process.env ? dropRequestProxy(process.env) : null;

    const o = this.options;
    const out = o.stdout ?? process.stdout;
    const output = new CgiOutput(out, out !== process.stdout, (error) => this.onComplete(error));
    this.output = output;

    let request: Request | null = null;
    const body = (this.body = new CgiBody(
      () => o.stdin ?? process.stdin,
      (error) => {
        request?.abort(error);
        // A handler told of the abort may return without a response: when nothing is left to
        // run, the response is given up so that `run()` returns (else the process would exit
        // 13, its top-level await unsettled). One that answers (400) is done before that.
        process.once("beforeExit", () => {
          if (!output.completed) output.fail(error);
        });
      },
    ));
    if (proxyRefusal !== null) {
      logError(proxyRefusal);
      const answer = cgiErrorAnswer(500, reasonPhrase(500));
      output.whole(answer.head, answer.body);
      return;
    }
    try {
      const init = requestFromEnvironment(env, body, this.cgiOptions);
      body.setLength(init.contentLength);
      request = new Request(init);
    } catch (err) {
      const error = err as VsgiError;
      const status = error.status ?? 500;
      logError(`cgi: refused the request: ${error.message}`);
      const answer = cgiErrorAnswer(status, error.message);
      output.whole(answer.head, answer.body);
      return;
    }
    const response = new CgiStdoutResponse(request, output);
    this.request = request;
    void dispatch(this.handler, request, response);
  }

  private onComplete(error: Error | null): void {
    // The front server stopped reading: for the application, the client went away.
    if (error !== null && this.request !== null && !this.request.aborted) {
      this.request.abort(abortedError("the front server stopped reading the response", error));
    }
    if (error !== null || this.body === null) {
      this.resolveCompleted();
      return;
    }
    // The body the application left unread is read before the process may exit (mod_cgid).
    void this.body.discard(this.options.maxDiscard ?? 16 * 1024 * 1024).then(this.resolveCompleted);
  }

  /** Lets the request finish (up to `stopTimeout`), then gives up on it. */
  async stop(): Promise<void> {
    if (!this.started) return;
    const timeout = this.options.stopTimeout ?? 30000;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeout);
      timer.unref();
    });
    await Promise.race([this.completed, expired]);
    clearTimeout(timer);
    if (this.output !== null && !this.output.completed) {
      this.request?.abort(abortedError("the server stopped before the request was over"));
      this.output.fail(new Error(`the request did not finish within stopTimeout (${timeout} ms)`));
    }
  }
}
