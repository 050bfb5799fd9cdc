import type { Request, Response } from "../../vsgi/index.js";
import type { HandlerCallback, NextCallback } from "../handler.js";
import { isToken, splitList } from "../http/tokens.js";
import { mergeVary } from "../http/vary.js";
import { invalidOption } from "./options.js";

/**
 * Which origins may read the answers: `"*"` (any, without credentials), one origin, a list, a
 * RegExp anchored with `^` and `$`, or a function deciding per request.
 */
export type CorsOrigin = string | readonly string[] | RegExp | ((origin: string, req: Request) => boolean | Promise<boolean>);

/** Options of `cors`. */
export interface CorsOptions {
  /**
   * The origins allowed, compared with the request's `Origin` as the browser serialises it
   * (`https://app.example`, with a port only when not the default). A list, a string other
   * than `"*"` and a RegExp never allow `null` (sandboxed frames, `file:` pages); a function
   * may.
   * @default "*"
   */
  origin?: CorsOrigin;
  /**
   * Sends `Access-Control-Allow-Credentials: true`: the browser then sends cookies and reads the
   * answer. Never with `origin: "*"` (an error at registration).
   * @default false
   */
  credentials?: boolean;
  /**
   * The methods a preflight allows (`Access-Control-Allow-Methods`).
   * @default ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"]
   */
  methods?: readonly string[];
  /**
   * The request headers a preflight allows; `null` allows those the preflight asks for
   * (`Access-Control-Request-Headers`, with `Vary` on it).
   * @default null
   */
  allowHeaders?: readonly string[] | null;
  /**
   * The response headers the page may read beyond the safelisted ones.
   * @default []
   */
  exposeHeaders?: readonly string[];
  /**
   * How long a browser may keep a preflight's answer, in seconds (`Access-Control-Max-Age`);
   * `null` sends none (browsers then keep it 5 seconds).
   * @default null
   */
  maxAge?: number | null;
}

/** The defaults of `cors`'s options. */
export const CORS_DEFAULTS: Readonly<Required<CorsOptions>> = Object.freeze({
  origin: "*",
  credentials: false,
  methods: Object.freeze(["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"]),
  allowHeaders: null,
  exposeHeaders: Object.freeze([]),
  maxAge: null,
});

const OPTION_NAMES = new Set(Object.keys(CORS_DEFAULTS));
const ORIGIN = ["Origin"];
const REQUEST_HEADERS = ["Access-Control-Request-Headers"];
const ANY = 0;
const LIST = 1;
const PATTERN = 2;
const FUNCTION = 3;

/** Sets Vary to its current value with `names` added once. */
function vary(res: Response, names: readonly string[]): void {
  res.headers.setTrusted("Vary", mergeVary(res.headers.get("vary"), names));
}

function checkOrigin(entry: unknown): string {
  if (typeof entry !== "string") throw invalidOption("cors", "origin", "origins as strings", entry);
  if (entry === "null") {
    throw invalidOption("cors", "origin", 'real origins (the opaque origin "null" is shared by every sandboxed frame and file: page; use a function to allow it)', entry);
  }
  let serialised: string;
  try {
    serialised = new URL(entry).origin;
  } catch {
    serialised = "null";
  }
  if (serialised === "null") throw invalidOption("cors", "origin", "origins such as https://app.example (http or https)", entry);
  if (serialised !== entry) throw invalidOption("cors", "origin", `origins as browsers send them (${serialised}: no path, no default port, lower case)`, entry);
  return entry;
}

/** The RegExp, anchored as written, with every alternative anchored too, without g or y state. */
function checkPattern(pattern: RegExp): RegExp {
  const source = pattern.source;
  let slashes = 0;
  for (let i = source.length - 2; i >= 0 && source[i] === "\\"; i--) slashes++;
  if (!source.startsWith("^") || !source.endsWith("$") || slashes % 2 === 1 || pattern.flags.includes("m")) {
    throw invalidOption("cors", "origin", "a RegExp anchored with ^ and $ (without m), so that look-alike origins such as https://app.example.evil.example do not match", pattern);
  }
  return new RegExp(`^(?:${source})$`, pattern.flags.replace(/[gym]/g, ""));
}

/** A list of tokens joined; `star`: whether `*` may be one (it is a wildcard only without credentials). */
function checkTokens(option: string, value: unknown, star: boolean): string | null {
  if (!Array.isArray(value) || !value.every((name) => typeof name === "string" && isToken(name) && (star || name !== "*"))) {
    throw invalidOption("cors", option, option === "methods" ? "a list of method names" : 'a list of header names ("*" only without credentials)', value);
  }
  return value.length === 0 ? null : value.join(", ");
}

/**
 * The CORS protocol (Fetch standard, 3.2): lets pages of other origins read the answers. A
 * preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered 204 here,
 * before any later handler (authentication included) runs; other requests get their
 * `Access-Control-*` headers and go on to `next`. `Vary: Origin` is added (once, merged with
 * what is there) whenever the answer depends on the origin, refused origins and preflights
 * included. Options are checked at registration: an unanchored RegExp, a list holding `null`
 * or an origin with a path, and `"*"` with credentials are errors.
 *
 * @example
 * app.use(cors({ origin: ["https://app.example"], credentials: true, maxAge: 600 }));
 * app.use(requireLogin); // preflights never reach it
 */
export function cors(options: CorsOptions = {}): HandlerCallback {
  if (options === null || typeof options !== "object") throw invalidOption("cors", "options", "an object", options);
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.has(key)) throw invalidOption("cors", key, `one of ${[...OPTION_NAMES].join(", ")}`, (options as Record<string, unknown>)[key]);
  }
  const origin = options.origin ?? CORS_DEFAULTS.origin;
  const credentials = options.credentials ?? CORS_DEFAULTS.credentials;
  if (typeof credentials !== "boolean") throw invalidOption("cors", "credentials", "a boolean", credentials);

  let mode: number;
  let allowed: ReadonlySet<string> = new Set();
  let pattern: RegExp | null = null;
  let decide: ((origin: string, req: Request) => boolean | Promise<boolean>) | null = null;
  if (origin === "*") {
    if (credentials) throw invalidOption("cors", "origin", 'the allowed origins when credentials is true (never "*", which would let any site act as the user)', origin);
    mode = ANY;
  } else if (typeof origin === "string" || Array.isArray(origin)) {
    const list = typeof origin === "string" ? [origin] : (origin as readonly unknown[]);
    if (list.length === 0) throw invalidOption("cors", "origin", "a non-empty list of origins", origin);
    allowed = new Set(list.map(checkOrigin));
    mode = LIST;
  } else if (origin instanceof RegExp) {
    pattern = checkPattern(origin);
    mode = PATTERN;
  } else if (typeof origin === "function") {
    decide = origin as (origin: string, req: Request) => boolean | Promise<boolean>;
    mode = FUNCTION;
  } else {
    throw invalidOption("cors", "origin", '"*", an origin, a list of origins, an anchored RegExp or a function', origin);
  }

  const methods = checkTokens("methods", options.methods ?? CORS_DEFAULTS.methods, false);
  const allowHeadersOption = options.allowHeaders ?? CORS_DEFAULTS.allowHeaders;
  const allowHeaders = allowHeadersOption === null ? null : (checkTokens("allowHeaders", allowHeadersOption, !credentials) ?? "");
  const exposeHeaders = checkTokens("exposeHeaders", options.exposeHeaders ?? CORS_DEFAULTS.exposeHeaders, !credentials);
  const maxAgeOption = options.maxAge ?? CORS_DEFAULTS.maxAge;
  if (maxAgeOption !== null && (typeof maxAgeOption !== "number" || !Number.isSafeInteger(maxAgeOption) || maxAgeOption < 0)) {
    throw invalidOption("cors", "maxAge", "a whole number of seconds, 0 or more, or null", maxAgeOption);
  }
  const maxAge = maxAgeOption === null ? null : String(maxAgeOption);
  const preflightVary = mode === ANY ? (allowHeaders === null ? REQUEST_HEADERS : []) : allowHeaders === null ? [...ORIGIN, ...REQUEST_HEADERS] : ORIGIN;

  /** The preflight's answer: 204, with the permissions when the origin is allowed. */
  function preflight(req: Request, res: Response, origin: string, ok: boolean): Promise<boolean> {
    res.status = 204;
    const headers = res.headers;
    if (preflightVary.length > 0) vary(res, preflightVary);
    if (ok) {
      headers.setTrusted("Access-Control-Allow-Origin", mode === ANY ? "*" : origin);
      if (credentials) headers.setTrusted("Access-Control-Allow-Credentials", "true");
      if (methods !== null) headers.setTrusted("Access-Control-Allow-Methods", methods);
      const requested = allowHeaders === null ? requestedHeaders(req) : allowHeaders;
      if (requested !== null && requested.length > 0) headers.setTrusted("Access-Control-Allow-Headers", requested);
      if (maxAge !== null) headers.setTrusted("Access-Control-Max-Age", maxAge);
    }
    return res.end();
  }

  /** Another request: the headers that let the page read the answer, then the next route. */
  function actual(res: Response, next: NextCallback, origin: string, ok: boolean): boolean | Promise<boolean> {
    if (ok) {
      const headers = res.headers;
      headers.setTrusted("Access-Control-Allow-Origin", mode === ANY ? "*" : origin);
      if (credentials) headers.setTrusted("Access-Control-Allow-Credentials", "true");
      if (exposeHeaders !== null) headers.setTrusted("Access-Control-Expose-Headers", exposeHeaders);
    }
    return next();
  }

  return function cors(req: Request, res: Response, next: NextCallback): boolean | Promise<boolean> {
    const origin = req.header("origin");
    const isPreflight = origin !== null && req.method === "OPTIONS" && req.header("access-control-request-method") !== null;
    if (mode === ANY) {
      if (isPreflight) return preflight(req, res, origin, true);
      // the same answer for every origin: cacheable without Vary, even without an Origin
      return actual(res, next, "*", true);
    }
    if (origin === null) {
      vary(res, ORIGIN);
      return next();
    }
    if (!isPreflight) vary(res, ORIGIN);
    let ok: boolean | Promise<boolean>;
    if (mode === LIST) ok = allowed.has(origin);
    else if (mode === PATTERN) ok = origin !== "null" && pattern!.test(origin);
    else ok = decide!(origin, req);
    if (typeof ok === "boolean") return isPreflight ? preflight(req, res, origin, ok) : actual(res, next, origin, ok);
    return Promise.resolve(ok).then((yes) => (isPreflight ? preflight(req, res, origin, yes === true) : actual(res, next, origin, yes === true)));
  };
}

/** The headers a preflight asks for, if they are a well-formed list of names. */
function requestedHeaders(req: Request): string | null {
  return parseRequestHeaders(req.header("access-control-request-headers"));
}

/**
 * Reads an `Access-Control-Request-Headers` value: the names, lower-cased and joined with `, `
 * (what a preflight's answer allows when `allowHeaders` is null), or `null` when absent or not a
 * list of header names (then none is allowed).
 *
 * @example parseRequestHeaders("X-Token,  Content-Type"); // "x-token, content-type"
 */
export function parseRequestHeaders(value: string | null): string | null {
  if (value === null) return null;
  const names = splitList(value);
  if (names === null || !names.every(isToken)) return null;
  return names.join(", ").toLowerCase();
}
