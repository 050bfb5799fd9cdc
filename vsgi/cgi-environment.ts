import { isUtf8 } from "node:buffer";
import type { Readable } from "node:stream";
import { Headers } from "./headers.js";
import { encodePath, normalizePath } from "./path.js";
import type { RequestInit } from "./request.js";
import { VsgiError, ERR_BAD_REQUEST, ERR_INVALID_OPTION } from "./errors.js";
import { CgiVariables } from "./cgi-variables.js";
import { integerOption, type OptionNames } from "./options.js";

/** CGI variables as backends give them (`CgiVariables`), or as an object (`process.env`, tests). */
export type CgiEnvironment = CgiVariables | Readonly<Record<string, string | undefined>>;

function variablesOf(env: CgiEnvironment): CgiVariables {
  return env instanceof CgiVariables ? env : CgiVariables.fromRecord(env);
}

/** How a CGI-family backend rebuilds requests; every such backend takes these options. */
export interface CgiEnvironmentOptions {
  /**
   * The public origin (`https://example.com:8443`), when the front server's variables do not
   * say it right (Debian's nginx params drop the port from HTTP_HOST, a TLS terminator hides
   * the scheme). It replaces scheme and authority.
   */
  publicOrigin?: string;
  /**
   * The mount prefix, when the front server does not send it as SCRIPT_NAME + PATH_INFO (nginx,
   * Apache's mod_proxy_fcgi): `/app` makes `/app/users` route as `/users`.
   */
  scriptName?: string;
  /**
   * Most header fields (`HTTP_*` variables) a request may carry (default
   * `CGI_LIMITS.maxHeaderFields`, as the http backend's); one more is answered 431 without
   * reaching the application.
   */
  maxHeaderFields?: number;
}

/** The names of `CgiEnvironmentOptions`, for the backends' `optionNames`. */
export const CGI_ENVIRONMENT_OPTIONS: OptionNames<CgiEnvironmentOptions> = { publicOrigin: true, scriptName: true, maxHeaderFields: true };

/** Defaults of the limits every CGI-family backend applies to the variables it gets. */
export const CGI_LIMITS = {
  /** @default 100 (Apache's LimitRequestFields, Tomcat's maxHeaderCount, the http backend's) */
  maxHeaderFields: 100,
} as const;

/** A request rebuilt from CGI variables, and what the backend must know to frame its body. */
export interface CgiRequestInit extends RequestInit {
  /** CONTENT_LENGTH; `null` when absent or empty: the body runs to the end of the stream. */
  contentLength: number | null;
}

// Request headers the front server already consumed: they describe the hop, not the body the
// backend receives (PROTOCOLS.md: never trust Transfer-Encoding or HTTP_CONTENT_LENGTH). And
// HTTP_PROXY, a client's `Proxy:` header (no standard header; httpoxy, CVE-2016-5385): dropped
// as the variables drop it from `req.environment`, so no spelling of it reaches the application.
const DROPPED = new Set(["HTTP_TRANSFER_ENCODING", "HTTP_CONTENT_LENGTH", "HTTP_CONNECTION", "HTTP_KEEP_ALIVE", "HTTP_PROXY"]);

const HEADER_NAMES = new Map<string, string>();

// Methods checked once here instead of by the token pattern on every request.
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function headerName(variable: string): string {
  let name = HEADER_NAMES.get(variable);
  if (name === undefined) {
    // HTTP_ACCEPT_LANGUAGE -> Accept-Language
    const parts = variable.slice(5).toLowerCase().split("_");
    name = parts.map((p) => (p.length > 0 ? p[0]!.toUpperCase() + p.slice(1) : p)).join("-");
    // Front servers send a few dozen names at most; a client inventing names gets no cache.
    if (HEADER_NAMES.size < 1024) HEADER_NAMES.set(variable, name);
  }
  return name;
}

/**
 * The request headers a CGI environment carries: `HTTP_*` (less the hop-by-hop ones the front
 * server consumed), CONTENT_TYPE and CONTENT_LENGTH. Requests build it only when a handler
 * reads the whole table.
 *
 * @example headersFromEnvironment({ HTTP_ACCEPT_LANGUAGE: "fr" }).get("accept-language"); // "fr"
 */
export function headersFromEnvironment(environment: CgiEnvironment): Headers {
  const headers = new Headers(null, false);
  const env = variablesOf(environment).toRecord();
  for (const name in env) {
    if (name.startsWith("HTTP_") && !DROPPED.has(name)) headers.append(headerName(name), env[name]!);
  }
  if (env.CONTENT_TYPE !== undefined && env.CONTENT_TYPE !== "") headers.set("Content-Type", env.CONTENT_TYPE);
  const length = env.CONTENT_LENGTH;
  if (length !== undefined && length !== "") headers.set("Content-Length", length);
  return headers;
}

/**
 * One request header read straight from a CGI environment, without building the table.
 *
 * @example headerFromEnvironment({ HTTP_X_A: "1" }, "x-a"); // "1"
 */
export function headerFromEnvironment(environment: CgiEnvironment, name: string): string | null {
  const env = variablesOf(environment);
  const upper = name.toUpperCase().replace(/-/g, "_");
  if (upper === "CONTENT_TYPE" || upper === "CONTENT_LENGTH") {
    const value = env.get(upper);
    return value === undefined || value === "" ? null : value;
  }
  const variable = "HTTP_" + upper;
  if (DROPPED.has(variable)) return null;
  return env.get(variable) ?? null;
}

/** CGI options as `checkCgiOptions` returns them: checked, and the public origin parsed. */
export interface CheckedCgiOptions extends CgiEnvironmentOptions {
  /** `publicOrigin`, parsed once instead of on every request. */
  readonly origin: { readonly scheme: string; readonly authority: string } | undefined;
}

/**
 * Checks `options.publicOrigin` and `options.scriptName` once, at start-up, and returns them
 * ready for `requestFromEnvironment`: a backend keeps the result and passes it on each request.
 *
 * @example this.cgiOptions = checkCgiOptions(options);
 */
export function checkCgiOptions(options: CgiEnvironmentOptions): CheckedCgiOptions {
  let origin: CheckedCgiOptions["origin"];
  if (options.publicOrigin !== undefined) {
    let url: URL;
    try {
      url = new URL(options.publicOrigin);
    } catch {
      throw new VsgiError(ERR_INVALID_OPTION, `option publicOrigin must be an absolute URL, got ${JSON.stringify(options.publicOrigin)}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new VsgiError(ERR_INVALID_OPTION, `option publicOrigin must be an http or https origin, got ${JSON.stringify(options.publicOrigin)}`);
    }
    origin = { scheme: url.protocol.slice(0, -1), authority: url.host };
  }
  if (options.scriptName !== undefined && options.scriptName !== "" && (!options.scriptName.startsWith("/") || options.scriptName.endsWith("/"))) {
    throw new VsgiError(ERR_INVALID_OPTION, `option scriptName must start with / and not end with one, got ${JSON.stringify(options.scriptName)}`);
  }
  const maxHeaderFields = integerOption(options.maxHeaderFields, "maxHeaderFields", CGI_LIMITS.maxHeaderFields);
  return { publicOrigin: options.publicOrigin, scriptName: options.scriptName, maxHeaderFields, origin };
}

/**
 * Decodes the bytes of a CGI variable's value the one way every backend does: `HTTP_*` values
 * byte for byte (Latin-1), as node:http reads headers, so a header reads the same on every
 * backend; the others (paths, query, server names) as UTF-8, or byte for byte when they are not
 * valid UTF-8. (The cgi backend reads `process.env`, which node decodes as UTF-8.)
 *
 * @example decodeVariable("PATH_INFO", Buffer.from("/café")); // "/café"
 */
export function decodeVariable(name: string, bytes: Buffer): string {
  if (name.startsWith("HTTP_") || !isUtf8(bytes)) return bytes.toString("latin1");
  return bytes.toString("utf8");
}

/**
 * Collects CGI variables given as pairs, in order. Front servers may send a variable twice
 * (nginx 1.22 and HAProxy send two HTTP_COOKIE): the values are combined, `; ` for cookies and
 * `, ` otherwise, as HTTP combines repeated headers (see `CgiVariables.get`).
 *
 * @example variablesFromPairs([["HTTP_COOKIE", "a=1"], ["HTTP_COOKIE", "b=2"]]).get("HTTP_COOKIE"); // "a=1; b=2"
 */
export function variablesFromPairs(pairs: Iterable<readonly [string, string]>): CgiVariables {
  const variables = new CgiVariables();
  for (const pair of pairs) variables.add(pair[0], pair[1]);
  return variables;
}

/**
 * `variablesFromPairs` as an object.
 *
 * @example environmentFromPairs([["HTTP_COOKIE", "a=1"], ["HTTP_COOKIE", "b=2"]]).HTTP_COOKIE; // "a=1; b=2"
 */
export function environmentFromPairs(pairs: Iterable<readonly [string, string]>): Readonly<Record<string, string>> {
  return variablesFromPairs(pairs).toRecord();
}

function authorityOf(env: CgiVariables, scheme: string): string {
  const host = env.get("HTTP_HOST");
  if (host !== undefined && host.length > 0) return host;
  // nginx sends SERVER_NAME empty when its server block has no server_name: treat it as absent.
  const name = env.get("SERVER_NAME") || env.get("SERVER_ADDR") || "localhost";
  const bracketed = name.includes(":") && !name.startsWith("[") ? `[${name}]` : name;
  const port = env.get("SERVER_PORT");
  const standard = (scheme === "https" && port === "443") || (scheme === "http" && port === "80");
  return port === undefined || port === "" || standard ? bracketed : `${bracketed}:${port}`;
}

function schemeOf(env: CgiVariables): string {
  const https = env.get("HTTPS");
  if (https !== undefined && (https === "on" || https === "1" || https.toLowerCase() === "on")) return "https";
  const scheme = env.get("REQUEST_SCHEME");
  return scheme !== undefined && scheme !== "http" && scheme.toLowerCase() === "https" ? "https" : "http";
}

/**
 * `encodePath` of SCRIPT_NAME and PATH_INFO, starting with `/` as RFC 3875 has them (a path
 * without one would read as a URL of its own, `a:b`); text that cannot be encoded (a lone
 * surrogate) is a 400.
 */
function encodeVariablePath(text: string): string {
  let path: string;
  try {
    path = encodePath(text);
  } catch {
    throw new VsgiError(ERR_BAD_REQUEST, `SCRIPT_NAME + PATH_INFO is not well-formed text: ${JSON.stringify(text.slice(0, 64))}`, { status: 400 });
  }
  return path.charCodeAt(0) === 47 ? path : "/" + path;
}

/** The origin-form path and query of a REQUEST_URI that may be in absolute form. */
function originForm(requestUri: string): string {
  if (requestUri.startsWith("/")) return requestUri;
  try {
    const url = new URL(requestUri);
    // An absolute form is http(s); `a:b` (another scheme, a path without `/`) is a path.
    if (url.protocol === "http:" || url.protocol === "https:") return url.pathname + url.search;
  } catch {
    // not a URL: a path without its `/`
  }
  return "/" + requestUri;
}

/**
 * Rebuilds a request from CGI variables (RFC 3875, and what lighttpd, nginx, Apache and HAProxy
 * really send): scheme from HTTPS or REQUEST_SCHEME, authority from HTTP_HOST or
 * SERVER_NAME:SERVER_PORT, path and query from REQUEST_URI (else SCRIPT_NAME + PATH_INFO +
 * QUERY_STRING), the mount prefix from SCRIPT_NAME when PATH_INFO is present, `HTTP_*` as
 * headers, and the body length from CONTENT_LENGTH only.
 *
 * @example
 * const init = requestFromEnvironment({ REQUEST_METHOD: "GET", REQUEST_URI: "/a?b=1", HTTP_HOST: "x" }, body);
 * new Request(init).uri.href; // "http://x/a?b=1"
 */
export function requestFromEnvironment(
  environment: CgiEnvironment,
  body: Readable | undefined,
  options: CgiEnvironmentOptions = {},
): CgiRequestInit {
  const env = variablesOf(environment);
  const maxFields = options.maxHeaderFields ?? CGI_LIMITS.maxHeaderFields;
  // Counted only when the variables alone could be too many: a request carries a few dozen.
  if (env.count > maxFields && env.countPrefixed("HTTP_") > maxFields) {
    throw new VsgiError(ERR_BAD_REQUEST, `too many header fields: more than ${maxFields}`, { status: 431 });
  }
  const method = env.get("REQUEST_METHOD");
  if (method === undefined || (!KNOWN_METHODS.has(method) && !TOKEN.test(method))) {
    throw new VsgiError(ERR_BAD_REQUEST, `invalid REQUEST_METHOD ${JSON.stringify(method ?? null)}`, { status: 400 });
  }

  let contentLength: number | null = null;
  const length = env.get("CONTENT_LENGTH");
  if (length === "0") {
    contentLength = 0;
  } else if (length !== undefined && length !== "") {
    if (!/^\d{1,15}$/.test(length)) {
      throw new VsgiError(ERR_BAD_REQUEST, `invalid CONTENT_LENGTH ${JSON.stringify(length)}`, { status: 400 });
    }
    contentLength = Number(length);
  }

  let scheme = schemeOf(env);
  let authority = authorityOf(env, scheme);
  if (options.publicOrigin !== undefined) {
    const origin = "origin" in options ? (options as CheckedCgiOptions).origin! : checkCgiOptions(options).origin!;
    scheme = origin.scheme;
    authority = origin.authority;
  }

  const query = env.get("QUERY_STRING");
  const pathInfo = env.get("PATH_INFO");
  const scriptName = env.get("SCRIPT_NAME") ?? "";
  const requestUri = env.get("REQUEST_URI");
  let target: string;
  if (requestUri !== undefined && requestUri !== "") {
    target = originForm(requestUri);
  } else {
    target = encodeVariablePath(scriptName + (pathInfo ?? ""));
    if (query !== undefined && query !== "") target += "?" + query;
  }
  const q = target.indexOf("?");
  const fullPath = normalizePath(q === -1 ? target : target.slice(0, q));

  // The mount prefix: configured, or SCRIPT_NAME when the front server split the path (lighttpd
  // at a prefix, Apache mod_cgi). nginx and mod_proxy_fcgi put the whole path in SCRIPT_NAME and
  // send no PATH_INFO: then there is no prefix to strip.
  let prefix = "";
  if (options.scriptName !== undefined) prefix = options.scriptName;
  else if (pathInfo !== undefined && pathInfo !== "" && scriptName !== "") prefix = encodeVariablePath(scriptName);

  let path = fullPath;
  if (prefix !== "") {
    if (fullPath === prefix || fullPath.startsWith(prefix + "/")) {
      path = fullPath.length === prefix.length ? "/" : fullPath.slice(prefix.length);
    } else if (options.scriptName === undefined && pathInfo !== undefined) {
      // REQUEST_URI spells the prefix differently (encoding, rewrites): trust PATH_INFO.
      path = normalizePath(encodeVariablePath(pathInfo));
    } else {
      prefix = "";
    }
  }

  const protocol = env.get("SERVER_PROTOCOL");
  return {
    method,
    target,
    scheme,
    authority,
    httpVersion: protocol !== undefined && protocol.startsWith("HTTP/") ? protocol.slice(5) : "1.1",
    body,
    scriptName: prefix,
    path,
    gatewayInterface: env.get("GATEWAY_INTERFACE") ?? "CGI/1.1",
    variables: env,
    remoteAddress: env.get("REMOTE_ADDR") ?? null,
    contentLength,
  };
}
