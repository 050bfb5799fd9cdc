/**
 * Thrown HTTP statuses. A handler may `throw` one anywhere (even deep inside a helper) and the
 * router turns it into a response; `router.status(code, handler)` catches one code on its way
 * up.
 */
import { STATUS_CODES } from "node:http";
import { VsgiError, type Request, type Response } from "../vsgi/index.js";
import type { HandlerCallback } from "./handler.js";

/** Extra options of a thrown status. */
export interface StatusOptions {
  /** Headers to add to the response (e.g. `Retry-After`). */
  headers?: Record<string, string>;
  /** The error that caused this status, kept for logs. */
  cause?: unknown;
}

/**
 * The header a status's message goes into, instead of the body: `Location` for 201 and 3xx
 * (except 304), `WWW-Authenticate` for 401, `Proxy-Authenticate` for 407, `Allow` for 405 and
 * `Upgrade` for 101 and 426.
 *
 * @example headerOfStatus(302); // "Location"
 */
export function headerOfStatus(code: number): string | null {
  if (code === 201 || (code >= 300 && code < 400 && code !== 304)) return "Location";
  switch (code) {
    case 401:
      return "WWW-Authenticate";
    case 407:
      return "Proxy-Authenticate";
    case 405:
      return "Allow";
    case 101:
    case 426:
      return "Upgrade";
    default:
      return null;
  }
}

/**
 * Whether a status is answered without a body at all: 1xx, 204, 205 and 304.
 *
 * @example statusIsBodiless(204); // true
 */
export function statusIsBodiless(code: number): boolean {
  return code < 200 || code === 204 || code === 205 || code === 304;
}

/**
 * The base of every thrown status: an `Error` with an HTTP `code`. Its `message` is the body of
 * the response, or for the statuses that carry a header (see `headerOfStatus`) the value of
 * that header.
 *
 * @example throw new Status(418, "short and stout");
 */
export class Status extends Error {
  /** The HTTP status code. */
  readonly code: number;
  /** Headers added to the response, including the one the message went into. */
  readonly headers: Record<string, string>;
  /** True when the message went into a header (Location, Allow, ...) rather than the body. */
  readonly messageIsHeader: boolean;

  constructor(code: number, message?: string, options?: StatusOptions) {
    if (!Number.isInteger(code) || code < 100 || code > 599) {
      throw new RangeError(`invalid HTTP status ${code}: a status is an integer from 100 to 599`);
    }
    super(message ?? STATUS_CODES[code] ?? `Status ${code}`, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    this.headers = { ...options?.headers };
    const header = message === undefined ? null : headerOfStatus(code);
    this.messageIsHeader = header !== null;
    if (header !== null) this.headers[header] = message!;
  }
}

function check(kind: string, code: number, low: number): void {
  if (!(code >= low && code < low + 100)) throw new RangeError(`${kind} takes a ${low / 100}xx status, not ${code}`);
}

/**
 * A thrown 1xx. `101` and its message become `Upgrade`.
 *
 * @example throw Informational.switchingProtocols("websocket");
 */
export class Informational extends Status {
  constructor(code: number, message?: string, options?: StatusOptions) {
    check("Informational", code, 100);
    super(code, message, options);
  }
  /** 100 Continue. @example throw Informational.continue(); */
  static continue(): Informational {
    return new Informational(100);
  }
  /** 101 Switching Protocols, `upgrade` into `Upgrade`. @example throw Informational.switchingProtocols("websocket"); */
  static switchingProtocols(upgrade: string): Informational {
    return new Informational(101, upgrade);
  }
  /** 102 Processing. @example throw Informational.processing(); */
  static processing(): Informational {
    return new Informational(102);
  }
  /** 103 Early Hints. @example throw Informational.earlyHints(); */
  static earlyHints(): Informational {
    return new Informational(103);
  }
}

/**
 * A thrown 2xx: a shortcut out of deep code. For 201 the message is the `Location`.
 *
 * @example throw Success.created(`/users/${id}`);
 */
export class Success extends Status {
  constructor(code: number, message?: string, options?: StatusOptions) {
    check("Success", code, 200);
    super(code, message, options);
  }
  /** 200 OK, with `message` as body. @example throw Success.ok("done"); */
  static ok(message?: string): Success {
    return new Success(200, message);
  }
  /** 201 Created, `location` into `Location`. @example throw Success.created("/users/5"); */
  static created(location?: string): Success {
    return new Success(201, location);
  }
  /** 202 Accepted. @example throw Success.accepted("queued"); */
  static accepted(message?: string): Success {
    return new Success(202, message);
  }
  /** 203 Non-Authoritative Information. @example throw Success.nonAuthoritativeInformation(); */
  static nonAuthoritativeInformation(message?: string): Success {
    return new Success(203, message);
  }
  /** 204 No Content (no body). @example throw Success.noContent(); */
  static noContent(): Success {
    return new Success(204);
  }
  /** 205 Reset Content (no body). @example throw Success.resetContent(); */
  static resetContent(): Success {
    return new Success(205);
  }
  /** 206 Partial Content. @example throw Success.partialContent(); */
  static partialContent(message?: string): Success {
    return new Success(206, message);
  }
  /** 207 Multi-Status. @example throw Success.multiStatus(xml); */
  static multiStatus(message?: string): Success {
    return new Success(207, message);
  }
  /** 208 Already Reported. @example throw Success.alreadyReported(); */
  static alreadyReported(message?: string): Success {
    return new Success(208, message);
  }
  /** 226 IM Used. @example throw Success.imUsed(); */
  static imUsed(message?: string): Success {
    return new Success(226, message);
  }
}

/**
 * A thrown 3xx: the message is the `Location` (none for 304).
 *
 * @example throw Redirection.found("/login");
 */
export class Redirection extends Status {
  constructor(code: number, location?: string, options?: StatusOptions) {
    check("Redirection", code, 300);
    super(code, location, options);
  }
  /** 300 Multiple Choices. @example throw Redirection.multipleChoices("/preferred"); */
  static multipleChoices(location?: string): Redirection {
    return new Redirection(300, location);
  }
  /** 301 Moved Permanently. @example throw Redirection.movedPermanently("/new"); */
  static movedPermanently(location: string): Redirection {
    return new Redirection(301, location);
  }
  /** 302 Found. @example throw Redirection.found("/login"); */
  static found(location: string): Redirection {
    return new Redirection(302, location);
  }
  /** 303 See Other. @example throw Redirection.seeOther("/orders/7"); */
  static seeOther(location: string): Redirection {
    return new Redirection(303, location);
  }
  /** 304 Not Modified (no body, no Location). @example throw Redirection.notModified(); */
  static notModified(): Redirection {
    return new Redirection(304);
  }
  /** 305 Use Proxy (deprecated). @example throw Redirection.useProxy("http://proxy/"); */
  static useProxy(location: string): Redirection {
    return new Redirection(305, location);
  }
  /** 307 Temporary Redirect (keeps the method). @example throw Redirection.temporaryRedirect("/v2/x"); */
  static temporaryRedirect(location: string): Redirection {
    return new Redirection(307, location);
  }
  /** 308 Permanent Redirect (keeps the method). @example throw Redirection.permanentRedirect("/v2/x"); */
  static permanentRedirect(location: string): Redirection {
    return new Redirection(308, location);
  }
}

/**
 * A thrown 4xx: the message is the text/plain body, or the header for 401 (`WWW-Authenticate`),
 * 405 (`Allow`), 407 (`Proxy-Authenticate`) and 426 (`Upgrade`).
 *
 * @example throw ClientError.notFound(`no user ${id}`);
 */
export class ClientError extends Status {
  constructor(code: number, message?: string, options?: StatusOptions) {
    check("ClientError", code, 400);
    super(code, message, options);
  }
  /** 400. @example throw ClientError.badRequest("missing name"); */
  static badRequest(message?: string): ClientError {
    return new ClientError(400, message);
  }
  /** 401, `challenge` into `WWW-Authenticate`. @example throw ClientError.unauthorized('Basic realm="app"'); */
  static unauthorized(challenge?: string): ClientError {
    return new ClientError(401, challenge);
  }
  /** 402. @example throw ClientError.paymentRequired(); */
  static paymentRequired(message?: string): ClientError {
    return new ClientError(402, message);
  }
  /** 403. @example throw ClientError.forbidden(); */
  static forbidden(message?: string): ClientError {
    return new ClientError(403, message);
  }
  /** 404. @example throw ClientError.notFound(); */
  static notFound(message?: string): ClientError {
    return new ClientError(404, message);
  }
  /** 405, `allow` into `Allow`. @example throw ClientError.methodNotAllowed("GET, HEAD"); */
  static methodNotAllowed(allow?: string): ClientError {
    return new ClientError(405, allow);
  }
  /** 406. @example throw ClientError.notAcceptable(); */
  static notAcceptable(message?: string): ClientError {
    return new ClientError(406, message);
  }
  /** 407, `challenge` into `Proxy-Authenticate`. @example throw ClientError.proxyAuthenticationRequired("Basic"); */
  static proxyAuthenticationRequired(challenge?: string): ClientError {
    return new ClientError(407, challenge);
  }
  /** 408. @example throw ClientError.requestTimeout(); */
  static requestTimeout(message?: string): ClientError {
    return new ClientError(408, message);
  }
  /** 409. @example throw ClientError.conflict("name taken"); */
  static conflict(message?: string): ClientError {
    return new ClientError(409, message);
  }
  /** 410. @example throw ClientError.gone(); */
  static gone(message?: string): ClientError {
    return new ClientError(410, message);
  }
  /** 411. @example throw ClientError.lengthRequired(); */
  static lengthRequired(message?: string): ClientError {
    return new ClientError(411, message);
  }
  /** 412. @example throw ClientError.preconditionFailed(); */
  static preconditionFailed(message?: string): ClientError {
    return new ClientError(412, message);
  }
  /** 413. @example throw ClientError.contentTooLarge(); */
  static contentTooLarge(message?: string): ClientError {
    return new ClientError(413, message);
  }
  /** 413, under its former name. @example throw ClientError.payloadTooLarge(); */
  static payloadTooLarge(message?: string): ClientError {
    return new ClientError(413, message);
  }
  /** 414. @example throw ClientError.uriTooLong(); */
  static uriTooLong(message?: string): ClientError {
    return new ClientError(414, message);
  }
  /** 415. @example throw ClientError.unsupportedMediaType(); */
  static unsupportedMediaType(message?: string): ClientError {
    return new ClientError(415, message);
  }
  /** 416. @example throw ClientError.rangeNotSatisfiable(); */
  static rangeNotSatisfiable(message?: string): ClientError {
    return new ClientError(416, message);
  }
  /** 417. @example throw ClientError.expectationFailed(); */
  static expectationFailed(message?: string): ClientError {
    return new ClientError(417, message);
  }
  /** 418. @example throw ClientError.imATeapot(); */
  static imATeapot(message?: string): ClientError {
    return new ClientError(418, message);
  }
  /** 421. @example throw ClientError.misdirectedRequest(); */
  static misdirectedRequest(message?: string): ClientError {
    return new ClientError(421, message);
  }
  /** 422. @example throw ClientError.unprocessableContent("bad email"); */
  static unprocessableContent(message?: string): ClientError {
    return new ClientError(422, message);
  }
  /** 422, under its former name. @example throw ClientError.unprocessableEntity(); */
  static unprocessableEntity(message?: string): ClientError {
    return new ClientError(422, message);
  }
  /** 423. @example throw ClientError.locked(); */
  static locked(message?: string): ClientError {
    return new ClientError(423, message);
  }
  /** 424. @example throw ClientError.failedDependency(); */
  static failedDependency(message?: string): ClientError {
    return new ClientError(424, message);
  }
  /** 425. @example throw ClientError.tooEarly(); */
  static tooEarly(message?: string): ClientError {
    return new ClientError(425, message);
  }
  /** 426, `upgrade` into `Upgrade`. @example throw ClientError.upgradeRequired("TLS/1.3"); */
  static upgradeRequired(upgrade?: string): ClientError {
    return new ClientError(426, upgrade);
  }
  /** 428. @example throw ClientError.preconditionRequired(); */
  static preconditionRequired(message?: string): ClientError {
    return new ClientError(428, message);
  }
  /** 429. @example throw ClientError.tooManyRequests(undefined, 60); */
  static tooManyRequests(message?: string, retryAfter?: number): ClientError {
    return new ClientError(429, message, retryAfter === undefined ? undefined : { headers: { "Retry-After": String(retryAfter) } });
  }
  /** 431. @example throw ClientError.requestHeaderFieldsTooLarge(); */
  static requestHeaderFieldsTooLarge(message?: string): ClientError {
    return new ClientError(431, message);
  }
  /** 451. @example throw ClientError.unavailableForLegalReasons(); */
  static unavailableForLegalReasons(message?: string): ClientError {
    return new ClientError(451, message);
  }
}

/**
 * A thrown 5xx, with its message as body. (An error that is not a status also becomes a 500,
 * but one whose body reveals nothing.)
 *
 * @example throw ServerError.serviceUnavailable("maintenance", 120);
 */
export class ServerError extends Status {
  constructor(code: number, message?: string, options?: StatusOptions) {
    check("ServerError", code, 500);
    super(code, message, options);
  }
  /** 500. @example throw ServerError.internalServerError(); */
  static internalServerError(message?: string): ServerError {
    return new ServerError(500, message);
  }
  /** 501. @example throw ServerError.notImplemented(); */
  static notImplemented(message?: string): ServerError {
    return new ServerError(501, message);
  }
  /** 502. @example throw ServerError.badGateway(); */
  static badGateway(message?: string): ServerError {
    return new ServerError(502, message);
  }
  /** 503, with an optional `Retry-After` in seconds. @example throw ServerError.serviceUnavailable(undefined, 30); */
  static serviceUnavailable(message?: string, retryAfter?: number): ServerError {
    return new ServerError(503, message, retryAfter === undefined ? undefined : { headers: { "Retry-After": String(retryAfter) } });
  }
  /** 504. @example throw ServerError.gatewayTimeout(); */
  static gatewayTimeout(message?: string): ServerError {
    return new ServerError(504, message);
  }
  /** 505. @example throw ServerError.httpVersionNotSupported(); */
  static httpVersionNotSupported(message?: string): ServerError {
    return new ServerError(505, message);
  }
  /** 506. @example throw ServerError.variantAlsoNegotiates(); */
  static variantAlsoNegotiates(message?: string): ServerError {
    return new ServerError(506, message);
  }
  /** 507. @example throw ServerError.insufficientStorage(); */
  static insufficientStorage(message?: string): ServerError {
    return new ServerError(507, message);
  }
  /** 508. @example throw ServerError.loopDetected(); */
  static loopDetected(message?: string): ServerError {
    return new ServerError(508, message);
  }
  /** 510. @example throw ServerError.notExtended(); */
  static notExtended(message?: string): ServerError {
    return new ServerError(510, message);
  }
  /** 511. @example throw ServerError.networkAuthenticationRequired(); */
  static networkAuthenticationRequired(message?: string): ServerError {
    return new ServerError(511, message);
  }
}

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
 * (e.g. the 413 of `req.flatten(limit)`); `null` for any other error.
 *
 * @example toStatus(err)?.code ?? 500;
 */
export function toStatus(error: unknown): Status | null {
  if (error instanceof Status) return error;
  if (error instanceof VsgiError && error.status !== undefined && error.status >= 100 && error.status <= 599) {
    return statusFromCode(error.status, error.message, { cause: error });
  }
  return null;
}

/** The representation headers a status response replaces: they described the abandoned body. */
const STALE = ["content-type", "content-length", "content-encoding", "content-range", "content-language", "content-location", "etag", "last-modified"];

/**
 * Writes `status` as the response: its code, its headers (the message in `Location`,
 * `WWW-Authenticate`, `Allow` or `Upgrade` where it belongs), and the message as a
 * `text/plain` body otherwise; no body for 1xx, 204, 205 and 304. The response head must not be
 * written yet.
 *
 * @example return respondWithStatus(res, ClientError.notFound());
 */
export function respondWithStatus(res: Response, status: Status): Promise<true> {
  const code = status.code;
  res.status = code;
  res.reasonPhrase = null;
  const headers = res.headers;
  for (const name of STALE) headers.delete(name);
  for (const name in status.headers) headers.set(name, status.headers[name]!);
  if (statusIsBodiless(code)) {
    if (code === 205) headers.set("Content-Length", 0);
    return res.end();
  }
  if (status.messageIsHeader) return res.expand("");
  headers.set("Content-Type", "text/plain; charset=UTF-8");
  return res.expand(status.message);
}

function describe(req: Request): string {
  return `${req.method} ${req.target}`;
}

/**
 * The default status handling, which the router applies to whatever its routes throw:
 * a status (or a `VsgiError` with a `status`) becomes its response; any other error is logged
 * with its stack and answered with a 500 whose body reveals nothing. Once the head is written
 * nothing can be answered any more: the error is logged and the connection closed.
 *
 * @example
 * try { return await work(); } catch (err) { return respondToError(req, res, err); }
 */
export function respondToError(req: Request, res: Response, error: unknown): Promise<boolean> {
  const status = toStatus(error);
  if (res.headWritten) {
    res.logError(
      status === null
        ? `${describe(req)}: error after the head was written; closing the connection`
        : `${describe(req)}: status ${status.code} thrown after the head was written; closing the connection`,
      error,
    );
    res.destroy(error instanceof Error ? error : new Error(String(error)));
    return Promise.resolve(true);
  }
  try {
    if (status !== null) return respondWithStatus(res, status);
    res.logError(`${describe(req)}: unhandled error`, error);
    res.headers.clear();
    res.status = 500;
    res.reasonPhrase = null;
    res.headers.set("Content-Type", "text/plain; charset=UTF-8");
    return res.expand("Internal Server Error");
  } catch (again) {
    res.logError(`${describe(req)}: could not answer the error`, again);
    res.destroy(again instanceof Error ? again : new Error(String(again)));
    return Promise.resolve(true);
  }
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
