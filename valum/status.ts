/**
 * Thrown HTTP statuses. A handler may `throw` one anywhere (even deep inside a helper) and the
 * router turns it into a response; `router.status(code, handler)` catches one code on its way
 * up. The named helpers (`ClientError.notFound()`, ...) come from one table per class.
 */
import { answerError, answerStatus, statusHasBody, VsgiError, type Request, type Response } from "../vsgi/index.js";
import type { Context } from "./context.js";
import type { HandlerCallback, NextCallback } from "./handler.js";
import {
  ClientError as ClientErrorClass,
  Informational as InformationalClass,
  Redirection as RedirectionClass,
  ServerError as ServerErrorClass,
  Status,
  Success as SuccessClass,
  headerOfStatus,
  type StatusOptions,
} from "./status-classes.js";

export { Status, headerOfStatus, type StatusOptions };

/**
 * Whether a status is answered without a body at all: 1xx, 204, 205 and 304. The rule is VSGI's
 * (`statusHasBody`), the one the responses follow.
 *
 * @example statusIsBodiless(204); // true
 */
export function statusIsBodiless(code: number): boolean {
  return !statusHasBody("GET", code);
}

// ---------------------------------------------------------------------------------------------
// The tables: for each helper, its code and what its argument is. Where the argument goes (the
// body or a header) follows from the code (`headerOfStatus`).

/** The parameters of a helper, by what its argument is. */
interface HelperArguments {
  /** None: the status has no body and no header to fill. */
  none: [];
  /** An optional `text/plain` body. */
  message: [message?: string];
  /** An optional body and `Retry-After`, in seconds. */
  retry: [message?: string, retryAfter?: number];
  /** The `Location`. */
  location: [location: string];
  /** The `Location`, if any. */
  optionalLocation: [location?: string];
  /** The challenge for `WWW-Authenticate` (401) or `Proxy-Authenticate` (407). */
  challenge: [challenge?: string];
  /** The methods for `Allow`. */
  allow: [allow?: string];
  /** The protocols for `Upgrade`. */
  upgrade: [upgrade: string];
  /** The protocols for `Upgrade`, if any. */
  optionalUpgrade: [upgrade?: string];
}

type HelperTable = Readonly<Record<string, readonly [code: number, argument: keyof HelperArguments]>>;

/** The helpers a table describes, each typed by its argument kind (and documented by its entry). */
export type StatusHelpers<T extends HelperTable, S> = { readonly [K in keyof T]: (...args: HelperArguments[T[K][1]]) => S };

/** Adds the helpers of `table` to `base`, as static functions that need no `this`. */
function withHelpers<C extends new (code: number, message?: string, options?: StatusOptions) => Status, T extends HelperTable>(
  base: C,
  table: T,
): C & StatusHelpers<T, InstanceType<C>> {
  for (const name of Object.keys(table)) {
    const [code, argument] = table[name]!;
    const helper =
      argument === "none"
        ? () => new base(code)
        : argument === "retry"
          ? (message?: string, retryAfter?: number) =>
              new base(code, message, retryAfter === undefined ? undefined : { headers: { "Retry-After": String(retryAfter) } })
          : (text?: string) => new base(code, text);
    Object.defineProperty(base, name, { value: helper, writable: true, configurable: true });
  }
  return base as C & StatusHelpers<T, InstanceType<C>>;
}

const INFORMATIONAL = {
  /** 100 Continue. @example throw Informational.continue(); */
  continue: [100, "none"],
  /** 101 Switching Protocols, `upgrade` into `Upgrade`. @example throw Informational.switchingProtocols("websocket"); */
  switchingProtocols: [101, "upgrade"],
  /** 102 Processing. @example throw Informational.processing(); */
  processing: [102, "none"],
  /** 103 Early Hints. @example throw Informational.earlyHints(); */
  earlyHints: [103, "none"],
} as const;

const SUCCESS = {
  /** 200 OK, with `message` as body. @example throw Success.ok("done"); */
  ok: [200, "message"],
  /** 201 Created, `location` into `Location`. @example throw Success.created("/users/5"); */
  created: [201, "optionalLocation"],
  /** 202 Accepted. @example throw Success.accepted("queued"); */
  accepted: [202, "message"],
  /** 203 Non-Authoritative Information. @example throw Success.nonAuthoritativeInformation(); */
  nonAuthoritativeInformation: [203, "message"],
  /** 204 No Content (no body). @example throw Success.noContent(); */
  noContent: [204, "none"],
  /** 205 Reset Content (no body, `Content-Length: 0`). @example throw Success.resetContent(); */
  resetContent: [205, "none"],
  /** 206 Partial Content. @example throw Success.partialContent(); */
  partialContent: [206, "message"],
  /** 207 Multi-Status. @example throw Success.multiStatus(xml); */
  multiStatus: [207, "message"],
  /** 208 Already Reported. @example throw Success.alreadyReported(); */
  alreadyReported: [208, "message"],
  /** 226 IM Used. @example throw Success.imUsed(); */
  imUsed: [226, "message"],
} as const;

const REDIRECTION = {
  /** 300 Multiple Choices. @example throw Redirection.multipleChoices("/preferred"); */
  multipleChoices: [300, "optionalLocation"],
  /** 301 Moved Permanently. @example throw Redirection.movedPermanently("/new"); */
  movedPermanently: [301, "location"],
  /** 302 Found. @example throw Redirection.found("/login"); */
  found: [302, "location"],
  /** 303 See Other. @example throw Redirection.seeOther("/orders/7"); */
  seeOther: [303, "location"],
  /** 304 Not Modified (no body, no Location). @example throw Redirection.notModified(); */
  notModified: [304, "none"],
  /** 305 Use Proxy (deprecated). @example throw Redirection.useProxy("http://proxy/"); */
  useProxy: [305, "location"],
  /** 307 Temporary Redirect (keeps the method). @example throw Redirection.temporaryRedirect("/v2/x"); */
  temporaryRedirect: [307, "location"],
  /** 308 Permanent Redirect (keeps the method). @example throw Redirection.permanentRedirect("/v2/x"); */
  permanentRedirect: [308, "location"],
} as const;

const CLIENT_ERROR = {
  /** 400 Bad Request. @example throw ClientError.badRequest("missing name"); */
  badRequest: [400, "message"],
  /** 401 Unauthorized, `challenge` into `WWW-Authenticate`. @example throw ClientError.unauthorized('Basic realm="app"'); */
  unauthorized: [401, "challenge"],
  /** 402 Payment Required. @example throw ClientError.paymentRequired(); */
  paymentRequired: [402, "message"],
  /** 403 Forbidden. @example throw ClientError.forbidden(); */
  forbidden: [403, "message"],
  /** 404 Not Found. @example throw ClientError.notFound(); */
  notFound: [404, "message"],
  /** 405 Method Not Allowed, `allow` into `Allow`. @example throw ClientError.methodNotAllowed("GET, HEAD"); */
  methodNotAllowed: [405, "allow"],
  /** 406 Not Acceptable. @example throw ClientError.notAcceptable(); */
  notAcceptable: [406, "message"],
  /** 407 Proxy Authentication Required, `challenge` into `Proxy-Authenticate`. @example throw ClientError.proxyAuthenticationRequired("Basic"); */
  proxyAuthenticationRequired: [407, "challenge"],
  /** 408 Request Timeout. @example throw ClientError.requestTimeout(); */
  requestTimeout: [408, "message"],
  /** 409 Conflict. @example throw ClientError.conflict("name taken"); */
  conflict: [409, "message"],
  /** 410 Gone. @example throw ClientError.gone(); */
  gone: [410, "message"],
  /** 411 Length Required. @example throw ClientError.lengthRequired(); */
  lengthRequired: [411, "message"],
  /** 412 Precondition Failed. @example throw ClientError.preconditionFailed(); */
  preconditionFailed: [412, "message"],
  /** 413 Content Too Large. @example throw ClientError.contentTooLarge(); */
  contentTooLarge: [413, "message"],
  /** 413, under its former name. @example throw ClientError.payloadTooLarge(); */
  payloadTooLarge: [413, "message"],
  /** 414 URI Too Long. @example throw ClientError.uriTooLong(); */
  uriTooLong: [414, "message"],
  /** 415 Unsupported Media Type. @example throw ClientError.unsupportedMediaType(); */
  unsupportedMediaType: [415, "message"],
  /** 416 Range Not Satisfiable. @example throw ClientError.rangeNotSatisfiable(); */
  rangeNotSatisfiable: [416, "message"],
  /** 417 Expectation Failed. @example throw ClientError.expectationFailed(); */
  expectationFailed: [417, "message"],
  /** 418 I'm a Teapot. @example throw ClientError.imATeapot(); */
  imATeapot: [418, "message"],
  /** 421 Misdirected Request. @example throw ClientError.misdirectedRequest(); */
  misdirectedRequest: [421, "message"],
  /** 422 Unprocessable Content. @example throw ClientError.unprocessableContent("bad email"); */
  unprocessableContent: [422, "message"],
  /** 422, under its former name. @example throw ClientError.unprocessableEntity(); */
  unprocessableEntity: [422, "message"],
  /** 423 Locked. @example throw ClientError.locked(); */
  locked: [423, "message"],
  /** 424 Failed Dependency. @example throw ClientError.failedDependency(); */
  failedDependency: [424, "message"],
  /** 425 Too Early. @example throw ClientError.tooEarly(); */
  tooEarly: [425, "message"],
  /** 426 Upgrade Required, `upgrade` into `Upgrade`. @example throw ClientError.upgradeRequired("TLS/1.3"); */
  upgradeRequired: [426, "optionalUpgrade"],
  /** 428 Precondition Required. @example throw ClientError.preconditionRequired(); */
  preconditionRequired: [428, "message"],
  /** 429 Too Many Requests, with an optional `Retry-After` in seconds. @example throw ClientError.tooManyRequests(undefined, 60); */
  tooManyRequests: [429, "retry"],
  /** 431 Request Header Fields Too Large. @example throw ClientError.requestHeaderFieldsTooLarge(); */
  requestHeaderFieldsTooLarge: [431, "message"],
  /** 451 Unavailable For Legal Reasons. @example throw ClientError.unavailableForLegalReasons(); */
  unavailableForLegalReasons: [451, "message"],
} as const;

const SERVER_ERROR = {
  /** 500 Internal Server Error. @example throw ServerError.internalServerError(); */
  internalServerError: [500, "message"],
  /** 501 Not Implemented. @example throw ServerError.notImplemented(); */
  notImplemented: [501, "message"],
  /** 502 Bad Gateway. @example throw ServerError.badGateway(); */
  badGateway: [502, "message"],
  /** 503 Service Unavailable, with an optional `Retry-After` in seconds. @example throw ServerError.serviceUnavailable(undefined, 30); */
  serviceUnavailable: [503, "retry"],
  /** 504 Gateway Timeout. @example throw ServerError.gatewayTimeout(); */
  gatewayTimeout: [504, "message"],
  /** 505 HTTP Version Not Supported. @example throw ServerError.httpVersionNotSupported(); */
  httpVersionNotSupported: [505, "message"],
  /** 506 Variant Also Negotiates. @example throw ServerError.variantAlsoNegotiates(); */
  variantAlsoNegotiates: [506, "message"],
  /** 507 Insufficient Storage. @example throw ServerError.insufficientStorage(); */
  insufficientStorage: [507, "message"],
  /** 508 Loop Detected. @example throw ServerError.loopDetected(); */
  loopDetected: [508, "message"],
  /** 510 Not Extended. @example throw ServerError.notExtended(); */
  notExtended: [510, "message"],
  /** 511 Network Authentication Required. @example throw ServerError.networkAuthenticationRequired(); */
  networkAuthenticationRequired: [511, "message"],
} as const;

/**
 * A thrown 1xx. `101` and its message become `Upgrade`.
 *
 * @example throw Informational.switchingProtocols("websocket");
 */
export const Informational = withHelpers(InformationalClass, INFORMATIONAL);
export type Informational = InformationalClass;

/**
 * A thrown 2xx: a shortcut out of deep code. For 201 the message is the `Location`.
 *
 * @example throw Success.created(`/users/${id}`);
 */
export const Success = withHelpers(SuccessClass, SUCCESS);
export type Success = SuccessClass;

/**
 * A thrown 3xx: the message is the `Location` (none for 304).
 *
 * @example throw Redirection.found("/login");
 */
export const Redirection = withHelpers(RedirectionClass, REDIRECTION);
export type Redirection = RedirectionClass;

/**
 * A thrown 4xx: the message is the text/plain body, or the header for 401 (`WWW-Authenticate`),
 * 405 (`Allow`), 407 (`Proxy-Authenticate`) and 426 (`Upgrade`).
 *
 * @example throw ClientError.notFound(`no user ${id}`);
 */
export const ClientError = withHelpers(ClientErrorClass, CLIENT_ERROR);
export type ClientError = ClientErrorClass;

/**
 * A thrown 5xx, with its message as body. (An error that is not a status also becomes a 500,
 * but one whose body reveals nothing.)
 *
 * @example throw ServerError.serviceUnavailable("maintenance", 120);
 */
export const ServerError = withHelpers(ServerErrorClass, SERVER_ERROR);
export type ServerError = ServerErrorClass;

// ---------------------------------------------------------------------------------------------
// From errors to statuses to responses

/**
 * A status of the right class for `code`.
 *
 * @example statusFromCode(404, "no such user") instanceof ClientError; // true
 */
export function statusFromCode(code: number, message?: string, options?: StatusOptions): Status {
  if (code >= 100 && code < 200) return new Informational(code, message, options);
  if (code >= 200 && code < 300) return new Success(code, message, options);
  if (code >= 300 && code < 400) return new Redirection(code, message, options);
  if (code >= 400 && code < 500) return new ClientError(code, message, options);
  return new ServerError(code, message, options);
}

/**
 * The status an error stands for: a `Status` itself, or a `VsgiError` that carries a `status`
 * (e.g. the 413 of `req.flatten(limit)`); `null` for any other error. A `VsgiError`'s message
 * becomes the status's for a 4xx only: a 5xx's message is internal (see `statusOfError`).
 *
 * @example toStatus(err)?.code ?? 500;
 */
export function toStatus(error: unknown): Status | null {
  if (error instanceof Status) return error;
  if (error instanceof VsgiError && error.status !== undefined && error.status >= 100 && error.status <= 599) {
    return statusFromCode(error.status, error.status >= 500 ? undefined : error.message, { cause: error });
  }
  return null;
}

/**
 * Writes `status` as the response: its code, its headers (the message in `Location`,
 * `WWW-Authenticate`, `Allow` or `Upgrade` where it belongs), and the message as a
 * `text/plain` body otherwise; no body for 1xx, 204, 205 and 304. The response head must not be
 * written yet. (VSGI's `answerStatus` does it, the same for the gateway's own answers.)
 *
 * @example return respondWithStatus(res, ClientError.notFound());
 */
export function respondWithStatus(res: Response, status: Status): Promise<true> {
  return answerStatus(res, status);
}

/**
 * The default status handling, which the router applies to whatever its routes throw:
 * a status (or a `VsgiError` with a `status`) becomes its response; any other error is logged
 * with its stack and answered with a 500 whose body reveals nothing. Once the head is written
 * nothing can be answered any more: the error is logged and the connection closed. (VSGI's
 * `answerError` does it, the same for the gateway's own answers.)
 *
 * @example
 * try { return await work(); } catch (err) { return respondToError(req, res, err); }
 */
export function respondToError(req: Request, res: Response, error: unknown): Promise<boolean> {
  return answerError(res, error, toStatus(error));
}

/**
 * The default status handling as a middleware: runs the following routes and turns what they
 * throw into a response (see `respondToError`). The router already does this around every
 * request; use `basic()` to handle statuses at a given point, e.g. inside a sub-handler.
 *
 * @example app.use(basic());
 */
export function basic(): HandlerCallback {
  return (req, res, next) => {
    let result: boolean | Promise<boolean>;
    try {
      result = next();
    } catch (error) {
      return respondToError(req, res, error);
    }
    if (typeof result === "boolean") return result;
    return Promise.resolve(result).then(undefined, (error: unknown) => respondToError(req, res, error));
  };
}

/** The context of a `status` handler: the status caught, and its message. */
export type StatusContext = Context & { status: Status; message: string };

/**
 * @internal What `router.status(code, handler)` registers everywhere: a middleware that runs
 * the following routes and, when they throw the status `code` before a head was sent, runs
 * `handler` with it in a child context; anything else goes on up.
 *
 * @example this.pushEverywhere(Method.ANY, catchStatus(code, handler), null, false);
 */
export function catchStatus(code: number, handler: HandlerCallback<StatusContext>): HandlerCallback {
  const recover = (req: Request, res: Response, next: NextCallback, ctx: Context, error: unknown): boolean | Promise<boolean> => {
    const status = toStatus(error);
    if (status === null || status.code !== code || res.headWritten) throw error;
    const child = Object.create(ctx) as StatusContext;
    child.status = status;
    child.message = status.message;
    return handler(req, res, next, child);
  };
  return (req, res, next, ctx) => {
    let result: boolean | Promise<boolean>;
    try {
      result = next();
    } catch (error) {
      return recover(req, res, next, ctx, error);
    }
    if (result === true || result === false) return result;
    return Promise.resolve(result).then(undefined, (error: unknown) => recover(req, res, next, ctx, error));
  };
}
