import { VsgiError, ERR_INVALID_OPTION } from "../../vsgi/index.js";

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
