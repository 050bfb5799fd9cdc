import type { Request, Response } from "../../vsgi/index.js";
import type { HandlerCallback, NextCallback } from "../handler.js";
import { ClientError } from "../status.js";
import { invalidOption } from "./options.js";
import { LimitedBody, bodilessWithoutLength, guarded } from "./limited-body.js";
import { parseContentLength } from "../http/content-length.js";

/**
 * Bounds the request body to `limit` bytes: a declared Content-Length over it is a 413 before
 * anything is read; a body without one (chunked) is counted as the application reads it, and
 * the read fails with a 413 past the limit, which reaches the client as a 413 if the head is not
 * written yet. A malformed Content-Length is a 400. Calls `next`.
 *
 * @example
 * app.use(contentLength(64 * 1024));
 * app.post("/notes", async (req, res) => res.expandUtf8(await req.flattenUtf8()));
 */
export function contentLength(limit: number): HandlerCallback {
  if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 0) {
    throw invalidOption("contentLength", "limit", "a whole number of bytes, 0 or more", limit);
  }
  const tooLarge = `request body larger than ${limit} bytes`;
  return function contentLength(req: Request, res: Response, next: NextCallback): boolean | Promise<boolean> {
    const declared = req.header("content-length");
    if (declared !== null) {
      const length = parseContentLength(declared);
      if (length === null) throw ClientError.badRequest(`malformed Content-Length ${JSON.stringify(declared)}`);
      if (length > limit) throw ClientError.contentTooLarge(tooLarge);
      if (length === 0) return next();
    } else if (bodilessWithoutLength(req)) {
      return next();
    }
    const body = new LimitedBody(req.body, limit);
    req.body = body;
    return guarded(next, body, res);
  };
}
