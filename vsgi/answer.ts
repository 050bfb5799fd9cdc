/**
 * The one place a status or an error becomes a response: the dispatcher's 404 and 500 here, and
 * the router's thrown statuses (valum's `respondWithStatus` and `respondToError` call these).
 */
import { statusHasBody } from "./content-rules.js";
import type { Response } from "./response.js";
import { VsgiError, ERR_ABORTED } from "./errors.js";
import { reasonPhrase } from "./reason-phrases.js";

/**
 * A status to answer with. valum's `Status` is one; `statusOfError` makes one of a `VsgiError`
 * that carries a status.
 */
export interface StatusAnswer {
  /** The HTTP status code. */
  readonly code: number;
  /** The `text/plain` body, unless the message went into a header or the status has no body. */
  readonly message: string;
  /** Headers to set (`Location`, `WWW-Authenticate`, `Retry-After`, ...); a list is one line per value. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  /** True when the message went into one of `headers`: the body is then empty. */
  readonly messageIsHeader?: boolean;
}

/** The representation headers a status response replaces: they described the abandoned body. */
const STALE = ["content-type", "content-length", "content-encoding", "content-range", "content-language", "content-location", "etag", "last-modified"];

const INTERNAL: StatusAnswer = { code: 500, message: "Internal Server Error" };

function describe(res: Response): string {
  return `${res.request.method} ${res.request.target}`;
}

function destroy(res: Response, error: unknown): Promise<true> {
  res.logAborted(500);
  res.destroy(error instanceof Error ? error : new Error(String(error)));
  return Promise.resolve(true);
}

/**
 * Writes `status` as the response: its code, its headers, and its message as a `text/plain`
 * body, or an empty body when the message went into a header; no body at all where the status
 * has none (`statusHasBody`). Headers already set are kept, except those that described a body
 * (Content-Type, Content-Length, ETag, ...). The head must not be written yet.
 *
 * @example return answerStatus(res, { code: 404, message: "no such user" });
 */
export function answerStatus(res: Response, status: StatusAnswer): Promise<true> {
  const code = status.code;
  res.status = code;
  res.reasonPhrase = null;
  const headers = res.headers;
  for (const name of STALE) headers.delete(name);
  const extra = status.headers;
  if (extra !== undefined) {
    for (const name in extra) {
      const value = extra[name]!;
      if (typeof value === "string") headers.set(name, value);
      else {
        headers.delete(name);
        for (const line of value) headers.append(name, line);
      }
    }
  }
  if (!statusHasBody("GET", code)) return res.end();
  if (status.messageIsHeader === true) return res.expand("");
  headers.set("Content-Type", "text/plain; charset=UTF-8");
  return res.expand(status.message);
}

/**
 * Answers for an error that reached the top: with `status` when the error stands for one
 * (silently: it is an answer, not a failure); otherwise logged with its stack and answered with
 * a 500 whose body reveals nothing and whose headers are all dropped. Once the head is written
 * nothing can be answered any more: the error is logged and the connection closed, so that the
 * client sees a truncated response rather than a complete-looking wrong one.
 *
 * @example
 * try { return await work(); } catch (err) { return answerError(res, err, statusOfError(err)); }
 */
export function answerError(res: Response, error: unknown, status: StatusAnswer | null): Promise<boolean> {
  if (res.headWritten) {
    if (logClientGone(res)) return destroy(res, error);
    res.logError(
      status === null
        ? `${describe(res)}: error after the head was written; closing the connection`
        : `${describe(res)}: status ${status.code} thrown after the head was written; closing the connection`,
      error,
    );
    return destroy(res, error);
  }
  try {
    if (status !== null) {
      // a VsgiError that stands for a 5xx is a failure the operator must hear of; its message
      // stays in the log (statusOfError answers with the reason phrase only)
      if (status.code >= 500 && error instanceof VsgiError) res.logError(`${describe(res)}: answered ${status.code}`, error);
      return answerStatus(res, status);
    }
    res.logError(`${describe(res)}: unhandled error`, error);
    res.headers.clear();
    return answerStatus(res, INTERNAL);
  } catch (again) {
    res.logError(`${describe(res)}: could not answer the error`, again);
    return destroy(res, again);
  }
}

const TIMED_OUT: StatusAnswer = { code: 503, message: "Service Unavailable: the application did not answer in time" };

/**
 * Answers for a handler that ran past the server's `handlerTimeout`: a 503 when its head is not
 * written yet, else the connection is closed (the client sees a truncated response); one line
 * logged either way, without a stack (the handler is still running, nothing failed yet).
 *
 * @example answerTimeout(res, new VsgiError(ERR_HANDLER_TIMEOUT, "the handler did not finish within handlerTimeout (30000 ms)", { status: 503 }));
 */
export function answerTimeout(res: Response, error: VsgiError): void {
  if (res.headWritten) {
    res.logError(`${describe(res)}: ${error.message}; closing the connection`);
    res.destroy(error);
    return;
  }
  res.logError(`${describe(res)}: ${error.message}; answered 503`);
  try {
    void answerStatus(res, TIMED_OUT);
  } catch (again) {
    res.logError(`${describe(res)}: could not answer the timeout`, again);
    res.destroy(error);
  }
}

/**
 * Logs one line, no stack, when the request was aborted because its client went away (its
 * signal's reason is `ERR_VSGI_ABORTED`): normal traffic, whatever error the application let
 * through because of it. Returns false, logging nothing, for any other request.
 *
 * @example if (!logClientGone(res)) res.logError("unhandled error", error);
 */
export function logClientGone(res: Response): boolean {
  const request = res.request;
  if (!request.aborted) return false;
  const reason: unknown = request.signal.reason;
  if (!(reason instanceof VsgiError) || reason.code !== ERR_ABORTED) return false;
  res.logError(`${describe(res)}: ${reason.message}`);
  return true;
}

/**
 * The status a `VsgiError` carries (the 413 of `req.flatten(limit)`, the 400 of a broken
 * body), or `null`. A 4xx tells the client what it did wrong, so its message is the body; a 5xx
 * is the server's own failure, whose message (a path, a host, a query) is for the log only:
 * the body is the reason phrase.
 *
 * @example answerError(res, err, statusOfError(err));
 */
export function statusOfError(error: unknown): StatusAnswer | null {
  if (error instanceof VsgiError && error.status !== undefined && Number.isInteger(error.status) && error.status >= 100 && error.status <= 599) {
    return { code: error.status, message: error.status >= 500 ? reasonPhrase(error.status) : error.message };
  }
  return null;
}
