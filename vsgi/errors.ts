/**
 * The catalogue of coded errors thrown by the gateway layer. A code never changes once shipped,
 * so that applications can test `err.code` instead of parsing messages.
 */
export class VsgiError extends Error {
  readonly code: string;
  /** The HTTP status the router answers with when this error reaches it (500 when absent). */
  readonly status: number | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = "VsgiError";
    this.code = code;
    this.status = options?.status;
  }
}

/** A header name or value that would break the message framing (CR, LF, NUL) or is no token. */
export const ERR_INVALID_HEADER = "ERR_VSGI_INVALID_HEADER";
/** The head was already sent: status and headers can no longer change. */
export const ERR_HEAD_WRITTEN = "ERR_VSGI_HEAD_WRITTEN";
/** `Server.new` found no backend of that name. */
export const ERR_UNKNOWN_SERVER = "ERR_VSGI_UNKNOWN_SERVER";
/** A backend module exists but does not export a server class by default. */
export const ERR_INVALID_SERVER_MODULE = "ERR_VSGI_INVALID_SERVER_MODULE";
/** A server option or command-line flag is unknown (a misspelling, usually) or has a wrong value. */
export const ERR_INVALID_OPTION = "ERR_VSGI_INVALID_OPTION";
/** `options.handler` is none of the accepted forms. */
export const ERR_INVALID_HANDLER = "ERR_VSGI_INVALID_HANDLER";
/** A request body was larger than a configured or declared limit. */
export const ERR_BODY_TOO_LARGE = "ERR_VSGI_BODY_TOO_LARGE";
/** A request could not be decoded: bad framing, bad variables, a malformed body (`req.json()`). */
export const ERR_BAD_REQUEST = "ERR_VSGI_BAD_REQUEST";
/**
 * The request was cut short: the client went away (the front server closed the connection or
 * the CGI input, or sent ABORT_REQUEST), or the server stopped before the request was over.
 * It is `req.signal.reason` and the error of an unfinished `req.body`; its status is 400, as
 * raw-body's (body-parser's) "request aborted": rethrown, the router answers it as a client
 * error instead of logging a 500.
 */
export const ERR_ABORTED = "ERR_VSGI_ABORTED";
/**
 * A handler did not finish within the server's `handlerTimeout`: it is `req.signal.reason`
 * once the backend answered 503 (or closed the connection, if the head was out).
 */
export const ERR_HANDLER_TIMEOUT = "ERR_VSGI_HANDLER_TIMEOUT";
/** A write on a response whose request is already over (aborted, or the connection closed). */
export const ERR_REQUEST_ENDED = "ERR_VSGI_REQUEST_ENDED";

/**
 * The error of an aborted request: what backends pass to `req.abort()`.
 *
 * @example req.abort(abortedError("the front server closed the connection"));
 */
export function abortedError(why: string, cause?: unknown): VsgiError {
  return new VsgiError(ERR_ABORTED, why, cause !== undefined ? { cause, status: 400 } : { status: 400 });
}

/**
 * A request body of a media type the reader does not decode (`req.form()` on a JSON body,
 * `req.json()` on a form, or no Content-Type at all): 415, RFC 9110 15.5.16.
 */
export const ERR_UNSUPPORTED_MEDIA_TYPE = "ERR_VSGI_UNSUPPORTED_MEDIA_TYPE";

/** The access log file cannot be opened (at start: the process exits 1 naming it). */
export const ERR_LOG_FILE = "ERR_VSGI_LOG_FILE";
