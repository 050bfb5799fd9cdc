import type { Request, Response } from "../../vsgi/index.js";
import type { HandlerCallback, NextCallback } from "../handler.js";
import { toStatus } from "../status.js";
import { REQUEST_ONLY_DIRECTIVES, checkCacheDirectives, parseCacheControl, serializeCacheControl, type CacheDirectives } from "../http/cache-control.js";
import { invalidOption } from "./options.js";

/**
 * Sets `Cache-Control` on the response, then calls `next` (a later handler may still change
 * it). `directives` is a header value (`"public"`, `"no-store"`) or an object
 * (`{ public: true, immutable: true }`); `maxAge` adds `max-age`. Everything is checked and the
 * header built once, at registration. When the routes below throw an error status (4xx, 5xx)
 * the header is put back as it was before (or removed): an error must not be cached for the
 * resource's lifetime. `no-store` stays on errors; a thrown 304 keeps the header, as RFC 9110
 * 15.4.5 asks.
 *
 * @example
 * app.get("/assets/<path:path>", sequence(cacheControl({ public: true, immutable: true }, 31536000), serveAsset));
 * app.use(cacheControl("no-store"));
 */
export function cacheControl(directives: string | CacheDirectives, maxAge?: number): HandlerCallback {
  let parsed: CacheDirectives | null;
  if (typeof directives === "string") {
    parsed = parseCacheControl(directives);
    if (parsed === null) throw invalidOption("cacheControl", "directives", "a well-formed Cache-Control value", directives);
  } else if (directives !== null && typeof directives === "object" && !Array.isArray(directives)) {
    parsed = { ...directives };
  } else {
    throw invalidOption("cacheControl", "directives", "a Cache-Control value or an object of directives", directives);
  }
  if (maxAge !== undefined) {
    if (parsed.maxAge !== undefined) throw invalidOption("cacheControl", "maxAge", "given once (directives already hold max-age)", maxAge);
    parsed.maxAge = maxAge;
  }
  const problem = checkCacheDirectives(parsed);
  if (problem !== null) throw invalidOption("cacheControl", problem.field, problem.wanted, problem.got);
  for (const field of REQUEST_ONLY_DIRECTIVES) {
    if (parsed[field] !== undefined) throw invalidOption("cacheControl", field, "left out (a request directive)", parsed[field]);
  }
  const value = serializeCacheControl(parsed);
  if (value === "") throw invalidOption("cacheControl", "directives", "at least one directive", directives);

  // `no-store` is never harmful on an error: kept; anything else is undone on an error
  const undoOnError = parsed.noStore !== true;

  /** On an error answer, puts back what was there before, when the header is still the one set here. */
  function undo(res: Response, previous: string | null, error: unknown): never {
    const status = toStatus(error);
    if (status !== null && status.code >= 400 && !res.headWritten && res.headers.get("cache-control") === value) {
      if (previous === null) res.headers.delete("cache-control");
      else res.headers.setTrusted("Cache-Control", previous);
    }
    throw error;
  }

  return function cacheControl(req: Request, res: Response, next: NextCallback): boolean | Promise<boolean> {
    const headers = res.headers;
    if (!undoOnError) {
      headers.setTrusted("Cache-Control", value);
      return next();
    }
    const previous = headers.get("cache-control");
    headers.setTrusted("Cache-Control", value);
    let result: boolean | Promise<boolean>;
    try {
      result = next();
    } catch (error) {
      undo(res, previous, error);
    }
    if (typeof result === "boolean") return result;
    return result.then(undefined, (error: unknown) => undo(res, previous, error));
  };
}
