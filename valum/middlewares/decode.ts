import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import type { Transform } from "node:stream";
import { BODY_LIMIT, type Request, type Response } from "../../vsgi/index.js";
import type { HandlerCallback, NextCallback } from "../handler.js";
import { ClientError } from "../status.js";
import { parseContentCoding } from "../http/content-coding.js";
import { parseContentLength } from "../http/content-length.js";
import { invalidOption } from "./options.js";
import { LimitedBody, bodilessWithoutLength, guarded } from "./limited-body.js";

/** Options of `decode`. */
export interface DecodeOptions {
  /**
   * The most bytes the decoded body may have (each decoding step is counted): past it, reading
   * the body fails with a 413. `Infinity` for no bound.
   * @default BODY_LIMIT (vsgi's, the default of `req.json()` and `req.form()`)
   */
  limit?: number;
  /**
   * The most codings one request may stack in its Content-Encoding; more is a 415.
   * @default 2
   */
  maxCodings?: number;
}

/** The defaults of `decode`'s options. */
export const DECODE_DEFAULTS: Readonly<Required<DecodeOptions>> = Object.freeze({ limit: BODY_LIMIT, maxCodings: 2 });

/** The decoders by coding name (`x-gzip` is read as `gzip`); `deflate` is the zlib format (RFC 9110 8.4.1.2). */
const DECODERS = new Map<string, () => Transform>([
  ["gzip", createGunzip],
  ["deflate", createInflate],
  ["br", createBrotliDecompress],
]);

/** What a 415 says the server takes (RFC 9110 15.5.16). */
const ACCEPT_ENCODING = { "Accept-Encoding": [...DECODERS.keys()].join(", ") };

/**
 * Decompresses request bodies sent with a Content-Encoding (`gzip`, `x-gzip`, `deflate`, `br`,
 * several undone in reverse order) as the application reads them, then removes Content-Encoding
 * and Content-Length from the request headers. The decoded size is bounded by `limit` (a 413 as
 * soon as it is passed, so a small bomb goes no further); a coding it cannot undo is a 415 with
 * `Accept-Encoding`; a corrupt stream fails the read with a 400. Calls `next`.
 *
 * @example
 * app.use(decode({ limit: 8 << 20 }));
 * app.post("/upload", async (req, res) => res.expandUtf8(`${(await req.flatten(8 << 20)).length} bytes`));
 */
export function decode(options: DecodeOptions = {}): HandlerCallback {
  if (options === null || typeof options !== "object") throw invalidOption("decode", "options", "an object", options);
  const limit = options.limit ?? DECODE_DEFAULTS.limit;
  if (typeof limit !== "number" || !(limit === Infinity || (Number.isSafeInteger(limit) && limit >= 0))) {
    throw invalidOption("decode", "limit", "a whole number of bytes, 0 or more, or Infinity", limit);
  }
  const maxCodings = options.maxCodings ?? DECODE_DEFAULTS.maxCodings;
  if (typeof maxCodings !== "number" || !Number.isSafeInteger(maxCodings) || maxCodings < 1) {
    throw invalidOption("decode", "maxCodings", "a whole number, 1 or more", maxCodings);
  }
  return function decode(req: Request, res: Response, next: NextCallback): boolean | Promise<boolean> {
    const header = req.header("content-encoding");
    if (header === null) return next();
    const codings = parseContentCoding(header);
    if (codings === null) throw ClientError.badRequest(`malformed Content-Encoding ${JSON.stringify(header)}`);
    if (codings.length > maxCodings) {
      throw new ClientError(415, `more than ${maxCodings} content codings in ${JSON.stringify(header)}`, { headers: ACCEPT_ENCODING });
    }
    const decoders: (readonly [string, () => Transform])[] = [];
    for (let i = codings.length - 1; i >= 0; i--) {
      const coding = codings[i]!;
      const make = DECODERS.get(coding);
      if (make === undefined) throw new ClientError(415, `unsupported content coding ${coding}`, { headers: ACCEPT_ENCODING });
      decoders.push([coding, make]);
    }
    const headers = req.headers;
    headers.delete("content-encoding");
    if (decoders.length === 0) return next();
    const declared = req.header("content-length");
    headers.delete("content-length");
    // no body at all: nothing to decode (an empty stream is no valid gzip stream)
    if (declared === null ? bodilessWithoutLength(req) : parseContentLength(declared) === 0) return next();
    const body = new LimitedBody(req.body, limit, decoders);
    req.body = body;
    return guarded(next, body, res);
  };
}
