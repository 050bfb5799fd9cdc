import { VsgiError, ERR_INVALID_OPTION, type Handler } from "../../vsgi/index.js";
import type { Context } from "../context.js";
import type { HandlerCallback } from "../handler.js";

/**
 * The error a middleware factory throws at registration for a bad option: coded
 * `ERR_VSGI_INVALID_OPTION`, naming the middleware, the option, what it must be and what it got,
 * so that a mistake is caught where it is made and never at request time.
 *
 * @example
 * if (typeof maxAge !== "number") throw invalidOption("cors", "maxAge", "a number of seconds", maxAge);
 * // cors: option maxAge must be a number of seconds, got "10"
 */
export function invalidOption(middleware: string, option: string, wanted: string, got: unknown): VsgiError {
  let shown: string;
  try {
    shown = typeof got === "function" ? "a function" : got instanceof RegExp ? String(got) : (JSON.stringify(got) ?? String(got));
  } catch {
    shown = String(got);
  }
  return new VsgiError(ERR_INVALID_OPTION, `${middleware}: option ${option} must be ${wanted}, got ${shown}`);
}

/**
 * A handler argument of a middleware as a `HandlerCallback`: a function as is, or anything with
 * `handle(req, res)` (a Router) bound once, at registration; anything else is `invalidOption`.
 *
 * @example const forward = handlerOption("basepath", "handler", api); // api: a Router
 */
export function handlerOption<C extends Context>(middleware: string, option: string, handler: HandlerCallback<C> | Handler): HandlerCallback<C> {
  if (typeof handler === "function") return handler;
  if (handler !== null && typeof handler === "object" && typeof handler.handle === "function") return handler.handle.bind(handler);
  throw invalidOption(middleware, option, "a handler (req, res, next, ctx) => boolean or a Router", handler);
}
