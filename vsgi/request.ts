import { Readable } from "node:stream";
import { Headers, type ReadonlyHeaders } from "./headers.js";
import { parseCookies, unsignCookie } from "./cookies.js";
import { normalizePath } from "./path.js";
import { headerFromEnvironment, headersFromEnvironment } from "./cgi-environment.js";
import { CgiVariables } from "./cgi-variables.js";
import type { Response } from "./response.js";
import {
  BODY_LIMIT,
  FORM_MEDIA_TYPE,
  mediaTypeEssence,
  isJsonMediaType,
  unsupportedMediaType,
  bodyTooLarge,
  declaredOver,
  charsetOf,
  parseJsonBody,
  readBody,
  decodeForm,
} from "./body.js";
import { VsgiError, ERR_INVALID_OPTION, abortedError } from "./errors.js";

/** An ended stream, for a request that has no body: built only when the application reads it. */
function emptyBody(): Readable {
  const body = new Readable({ read() {} });
  body.push(null);
  return body;
}

const EMPTY_ENVIRONMENT: Readonly<Record<string, string>> = Object.freeze({});

/** What a backend knows about a request when it hands it to the application. */
export interface RequestInit {
  method: string;
  /** The request-target as received: origin-form (`/a?b`), absolute-form, or `*`. */
  target: string;
  /** `http` or `https`. */
  scheme?: string;
  /** `host[:port]` the client asked for. */
  authority?: string;
  httpVersion?: string;
  /**
   * The body, streamed. Absent: the request has none (CONTENT_LENGTH 0), and an empty stream is
   * made only if the application reads it.
   */
  body?: Readable;
  /** The headers; by default read from `environment` when given (lazily), else none. */
  headers?: Headers;
  /** The mount prefix, percent-encoded (CGI's SCRIPT_NAME); `""` at the root. */
  scriptName?: string;
  /** The routing path (percent-encoded), when the backend knows it better than the target does. */
  path?: string;
  gatewayInterface?: string;
  /** The CGI variables, as an object. */
  environment?: Readonly<Record<string, string>>;
  /** The CGI variables as the CGI-family backends decode them (read lazily); wins over `environment`. */
  variables?: CgiVariables;
  remoteAddress?: string | null;
}

/**
 * An incoming request, the same on every backend. Everything derived (URL, headers, query,
 * cookies) is computed on first use only.
 *
 * @example
 * app.get("/hello", (req, res) => res.expandUtf8(`hello ${req.lookupQuery("name") ?? "world"}`));
 */
export class Request {
  /** The method, upper-case as sent (`GET`, `PATCH`, ...). */
  method: string;
  /** The request-target as received. */
  readonly target: string;
  /** `1.1`, `1.0`, ... */
  readonly httpVersion: string;
  /** `HTTP/1.1` on the http backend, `CGI/1.1` on the CGI family, `AJP/1.3` on ajp. */
  readonly gatewayInterface: string;
  /**
   * The mount prefix the application lives under, percent-encoded: SCRIPT_NAME behind a
   * gateway, extended by `basepath`. `req.uri.pathname` is `scriptName + path`.
   */
  scriptName: string;

  protected readonly scheme: string;
  private readonly _authority: string | undefined;
  private readonly _remoteAddress: string | null;
  protected _headers: Headers | null;
  private readonly _variables: CgiVariables | null;
  private _uri: URL | null = null;
  private _path: string | null = null;
  private _query: Record<string, string> | null | undefined = undefined;
  private _params: URLSearchParams | null = null;
  private _cookies: Map<string, string> | null = null;
  private _controller: AbortController | null = null;
  private _aborted = false;
  private _abortReason: unknown = undefined;
  private _body: Readable | undefined;
  /** @internal The response the access log waits for (see access-log.ts); `null` when the log is off. */
  logResponse: Response | null = null;

  constructor(init: RequestInit) {
    this.method = init.method;
    this.target = init.target;
    this.scheme = init.scheme ?? "http";
    this._authority = init.authority;
    this.httpVersion = init.httpVersion ?? "1.1";
    this._body = init.body;
    this._headers = init.headers ?? null;
    this.scriptName = init.scriptName ?? "";
    if (init.path !== undefined) this._path = init.path;
    this.gatewayInterface = init.gatewayInterface ?? "HTTP/1.1";
    this._variables = init.variables ?? (init.environment !== undefined ? CgiVariables.fromRecord(init.environment) : null);
    this._remoteAddress = init.remoteAddress ?? null;
  }

  /** The request body, streamed; never buffered by the framework unless asked (`flatten`). */
  get body(): Readable {
    return (this._body ??= emptyBody());
  }

  /**
   * Replaces the body with a stream read from it, for middlewares that filter the body
   * (`decode`, `contentLength`): everything that reads the body after them (`flatten`, `form`,
   * a handler's pipe) reads the new stream.
   */
  set body(stream: Readable) {
    this._body = stream;
  }

  /** The peer's address, when the backend knows it (REMOTE_ADDR behind a gateway). */
  get remoteAddress(): string | null {
    return this._remoteAddress;
  }

  /**
   * The user the front server authenticated (`REMOTE_USER` behind a gateway, AJP's
   * remote_user), or `null`.
   *
   * @example if (req.remoteUser === null) throw ClientError.unauthorized("log in first");
   */
  get remoteUser(): string | null {
    return this._variables !== null ? (this._variables.get("REMOTE_USER") ?? null) : null;
  }

  /** `host[:port]` the client asked for; backends that read it lazily override this. */
  protected getAuthority(): string {
    return this._authority ?? "localhost";
  }

  /** True behind a CGI-family gateway (cgi, scgi, fastcgi). */
  get isCgi(): boolean {
    return this.gatewayInterface.startsWith("CGI/");
  }

  /** The CGI-style variables, where the backend has them; empty otherwise. */
  get environment(): Readonly<Record<string, string>> {
    return this._variables === null ? EMPTY_ENVIRONMENT : this._variables.toRecord();
  }

  /**
   * The URL the client asked for, with scheme, host, port, path (mount prefix included) and
   * query.
   */
  get uri(): URL {
    if (this._uri === null) {
      const base = this.scheme + "://" + this.getAuthority();
      let url: URL;
      try {
        url = this.target.charCodeAt(0) === 47 ? new URL(base + this.target) : new URL(this.target === "*" ? base + "/" : this.target);
      } catch {
        url = new URL(this.target.charCodeAt(0) === 47 ? "http://localhost" + this.target : "http://localhost/");
      }
      this._uri = url;
    }
    return this._uri;
  }

  /**
   * The path the application routes on, percent-encoded and normalized: the URL's path without
   * the mount prefix. Assignable, for middlewares such as `basepath`.
   */
  get path(): string {
    if (this._path === null) {
      const target = this.target;
      let path: string;
      if (target.charCodeAt(0) === 47) {
        const q = target.indexOf("?");
        path = normalizePath(q === -1 ? target : target.slice(0, q));
      } else if (target === "*") {
        path = "*";
      } else {
        path = this.uri.pathname;
      }
      const prefix = this.scriptName;
      if (prefix.length > 0 && path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47)) {
        path = path.length === prefix.length ? "/" : path.slice(prefix.length);
      }
      this._path = path;
    }
    return this._path;
  }

  set path(value: string) {
    this._path = value;
  }

  /** The raw query string after `?`, or `null` when the target has no `?`. */
  get queryString(): string | null {
    const q = this.target.indexOf("?");
    if (q === -1) return null;
    const h = this.target.indexOf("#", q);
    return h === -1 ? this.target.slice(q + 1) : this.target.slice(q + 1, h);
  }

  /**
   * The decoded query (`+` is a space), the last value of a key winning (`lookupQueryAll` has
   * them all); `null` when the target has no `?`.
   */
  get query(): Readonly<Record<string, string>> | null {
    if (this._query === undefined) {
      const qs = this.queryString;
      if (qs === null) {
        this._query = null;
      } else {
        const query: Record<string, string> = Object.create(null);
        for (const [k, v] of new URLSearchParams(qs)) query[k] = v;
        this._query = query;
      }
    }
    return this._query;
  }

  /** One query value, the last of a repeated key, or `null` (see `lookupQueryAll`). */
  lookupQuery(key: string): string | null {
    const query = this.query;
    return query === null ? null : (query[key] ?? null);
  }

  /**
   * Every value of a query key, in order (`?a=1&a=2` gives `["1", "2"]`); empty when the key or
   * the query is absent.
   *
   * @example const tags = req.lookupQueryAll("tag");
   */
  lookupQueryAll(key: string): string[] {
    if (this._params === null) {
      const qs = this.queryString;
      if (qs === null) return [];
      this._params = new URLSearchParams(qs);
    }
    return this._params.getAll(key);
  }

  /** The request headers, case-insensitive, multi-valued. */
  get headers(): Headers {
    if (this._headers === null) this._headers = this.loadHeaders();
    return this._headers;
  }

  /**
   * One header value (`null` if absent), read without building the whole header table when
   * the backend can.
   */
  header(name: string): string | null {
    return this._headers !== null ? this._headers.get(name) : this.rawHeader(name);
  }

  /**
   * @internal The access log's headers, as `header()` answers them: sets `into.referer` and
   * `into.userAgent`, returns Authorization (for its user name). A backend that can read the
   * three in one pass overrides it (http: one scan of node's raw list instead of three).
   */
  logHeaders(into: { referer: string | null; userAgent: string | null }): string | null {
    into.referer = this.header("referer");
    into.userAgent = this.header("user-agent");
    return this.header("authorization");
  }

  /**
   * One header before the table is built: from the CGI environment when there is one. Backends
   * with a cheaper store than `Headers` override this and `loadHeaders`.
   */
  protected rawHeader(name: string): string | null {
    return this._variables !== null ? headerFromEnvironment(this._variables, name) : this.headers.get(name);
  }

  /** The header table, built on first use: from the CGI environment when there is one. */
  protected loadHeaders(): Headers {
    return this._variables !== null ? headersFromEnvironment(this._variables) : new Headers();
  }

  /** The cookies, the last of a name winning. */
  get cookies(): ReadonlyMap<string, string> {
    if (this._cookies === null) this._cookies = parseCookies(this.headers.getAll("cookie"));
    return this._cookies;
  }

  /** One cookie value, or `null`. */
  lookupCookie(name: string): string | null {
    return this.cookies.get(name) ?? null;
  }

  /**
   * A cookie signed by `res.setCookie(..., { signed })` or Express's cookie-parser, verified
   * against each secret in turn (for key rotation); `null` when absent or forged.
   *
   * @example req.lookupSignedCookie("session", [process.env.KEY!, process.env.OLD_KEY!]);
   */
  lookupSignedCookie(name: string, secrets: string | readonly string[]): string | null {
    return unsignCookie(this.lookupCookie(name), secrets);
  }

  /** True once the client went away or the front server aborted the request. */
  get aborted(): boolean {
    return this._aborted;
  }

  /**
   * Aborted when the client goes away: pass it to work that should stop then. Its `reason` is a
   * `VsgiError` with code `ERR_VSGI_ABORTED` on every backend (`ERR_VSGI_BAD_REQUEST` when the
   * front server broke the body's framing instead; see docs/errors.md).
   *
   * @example await fetch(upstream, { signal: req.signal });
   */
  get signal(): AbortSignal {
    if (this._controller === null) {
      this._controller = new AbortController();
      // Asked for after the abort: the same reason, not the DOMException of a bare abort().
      if (this._aborted) this._controller.abort(this._abortReason);
    }
    return this._controller.signal;
  }

  /**
   * Called by backends when the request is aborted, with an `abortedError` (or the error of a
   * broken framing, `ERR_VSGI_BAD_REQUEST`); without one, a coded `ERR_VSGI_ABORTED` is made.
   *
   * @example req.abort(abortedError("the front server closed the connection"));
   */
  abort(reason?: unknown): void {
    if (this._aborted) return;
    this._aborted = true;
    this._abortReason = reason ??= abortedError("the request was aborted");
    if (this._controller !== null) this._controller.abort(reason);
    if (this.logResponse !== null) this.logResponse.logAborted();
  }

  /**
   * Reads the whole body into memory, up to `limit` bytes (`BODY_LIMIT` by default).
   * Past it the promise rejects with a 413 `VsgiError` and the rest is not read; a declared
   * Content-Length over the limit rejects before any byte is read.
   *
   * @example const bytes = await req.flatten(8 << 20);
   */
  flatten(limit: number = BODY_LIMIT): Promise<Buffer> {
    // NaN would compare false against every size: no limit at all, silently.
    if (!(limit >= 0)) return Promise.reject(new VsgiError(ERR_INVALID_OPTION, `a body limit is a number of bytes, got ${String(limit)}`));
    if (declaredOver(this.header("content-length"), limit)) return Promise.reject(bodyTooLarge(limit));
    return readBody(this.body, limit);
  }

  /** The whole body as UTF-8 text, bounded like `flatten` (`BODY_LIMIT` by default). */
  async flattenUtf8(limit: number = BODY_LIMIT): Promise<string> {
    return (await this.flatten(limit)).toString("utf8");
  }

  /**
   * Decodes an `application/x-www-form-urlencoded` body, the last value of a key winning, into
   * an object without prototype (a `__proto__` field is an ordinary key, and every value is a
   * string). Another Content-Type (compared on its essence: `Application/X-WWW-Form-Urlencoded;
   * charset=UTF-8` is a form) or none rejects with a 415 `VsgiError` before the body is read;
   * a body over `limit` (`BODY_LIMIT` by default) with a 413.
   *
   * @example app.post("/login", async (req, res) => res.expandUtf8((await req.form()).user ?? ""));
   */
  async form(limit: number = BODY_LIMIT): Promise<Record<string, string>> {
    const type = this.header("content-type");
    if (mediaTypeEssence(type) !== FORM_MEDIA_TYPE) throw unsupportedMediaType(type, FORM_MEDIA_TYPE);
    const text = await this.flattenUtf8(limit);
    return decodeForm(text);
  }

  /**
   * Parses a JSON body: `application/json` or a `+json` type (`application/problem+json`),
   * compared on the essence, in UTF-8. Rejects with a `VsgiError` carrying the status the
   * router answers: 415 for another Content-Type, none, or another charset (before reading);
   * 413 over `limit` (`BODY_LIMIT` by default; a declared Content-Length over it is refused unread);
   * 400 when malformed or holding a `__proto__` key or a `constructor.prototype` (prototype
   * pollution, refused as Fastify does).
   *
   * @example app.post("/items", async (req, res) => res.expandJson(await req.json()));
   */
  async json(limit: number = BODY_LIMIT): Promise<unknown> {
    const type = this.header("content-type");
    const essence = mediaTypeEssence(type);
    if (!isJsonMediaType(essence)) throw unsupportedMediaType(type, "application/json");
    const charset = charsetOf(type!);
    if (charset !== null && charset !== "utf-8" && charset !== "utf8") throw unsupportedMediaType(type, "application/json in UTF-8");
    return parseJsonBody(await this.flattenUtf8(limit));
  }
}

export type { ReadonlyHeaders };
