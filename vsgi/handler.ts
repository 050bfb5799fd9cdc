import type { Request } from "./request.js";
import { HANDLED, type Response } from "./response.js";
import { VsgiError, ERR_INVALID_HANDLER } from "./errors.js";
import { answerError, answerStatus, logClientGone, statusOfError } from "./answer.js";
import { accessLog, startEntry } from "./access-log.js";

/** An application as a function: the result says whether it handled (or will handle) the request. */
export type HandlerFunction = (req: Request, res: Response) => boolean | Promise<boolean>;

/** An application as an object, such as a `Router`. */
export interface Handler {
  handle(req: Request, res: Response): boolean | Promise<boolean>;
}

/** What `options.handler` accepts. */
export type HandlerLike = HandlerFunction | Handler;

/**
 * Turns any accepted handler form into a function, once, when the server is built.
 *
 * @example toHandlerFunction(router)(req, res);
 */
export function toHandlerFunction(handler: HandlerLike): HandlerFunction {
  if (typeof handler === "function") return handler;
  if (handler !== null && typeof handler === "object" && typeof handler.handle === "function") {
    return handler.handle.bind(handler);
  }
  throw new VsgiError(
    ERR_INVALID_HANDLER,
    "options.handler must be a Router, an object with handle(req, res), or a function (req, res) => boolean",
  );
}

/** Where the gateway layer reports errors the application did not handle. Replaceable. */
export let logError = (message: string, error?: unknown): void => {
  if (error === undefined) console.error(message);
  else console.error(message, error);
};

/** Replaces the error logger (e.g. to route errors into a structured log). */
export function setErrorLogger(logger: (message: string, error?: unknown) => void): void {
  logError = logger;
}

/**
 * Runs the application on one request, and answers for it when it could not (`answer.ts`, as
 * the router does): 404 when nothing handled the request, the status of a `VsgiError` that
 * carries one, else 500 (revealing nothing) when it failed before the head was written; a
 * failure after that can only close the connection. A handler that answers at once (returns
 * `true`, or the `HANDLED` promise of the response helpers) costs no promise turn.
 */
export function dispatch(handler: HandlerFunction, req: Request, res: Response): void {
  if (accessLog !== null) startEntry(req, res);
  let result: boolean | Promise<boolean>;
  try {
    result = handler(req, res);
  } catch (error) {
    fail(res, error);
    return;
  }
  if (result === true || result === HANDLED) return;
  if (result === false) notHandled(res);
  else void settle(result, res);
}

async function settle(result: Promise<boolean>, res: Response): Promise<void> {
  try {
    if (!(await result)) notHandled(res);
  } catch (error) {
    fail(res, error);
  }
}

const NOT_FOUND = { code: 404, message: "Not Found" };

function notHandled(res: Response): void {
  if (!res.headWritten) void answerStatus(res, NOT_FOUND);
}

function fail(res: Response, error: unknown): void {
  const status = statusOfError(error);
  // a coded error the application let through is still worth a line (answerError logs the rest)
  if (status !== null && !res.headWritten && !logClientGone(res)) res.logError(`${res.request.method} ${res.request.target}: unhandled error`, error);
  void answerError(res, error, status);
}
