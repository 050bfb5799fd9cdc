/**
 * `multipart(forward, { limits })`: the parts of a `multipart/form-data` body (RFC 7578), streamed
 * one at a time, parsed by busboy. The Content-Type grammar lives in `valum/http/media-type.ts`;
 * the parts and their parser in `multipart-parts.ts`; this file glues them to the router.
 */
import type { Request, Response } from "../../vsgi/index.js";
import type { Context } from "../context.js";
import type { ForwardCallback, HandlerCallback, NextCallback } from "../handler.js";
import { isMultipartBoundary, MediaTypeError, parseMediaType } from "../http/media-type.js";
import { ClientError } from "../status.js";
import { checkBusboy } from "./multipart-busboy.js";
import { MultipartParts, type ResolvedLimits } from "./multipart-parts.js";
import { invalidOption } from "./options.js";

export { MultipartPart, safeFilename } from "./multipart-part.js";
export { MultipartParts } from "./multipart-parts.js";

/** The limits of one `multipart/form-data` body; going over any of them is a 413. */
export interface MultipartLimits {
  /** The most parts (fields and files together). */
  parts?: number;
  /** The most fields (parts without a filename). */
  fields?: number;
  /** The most files (parts with a filename, or of type `application/octet-stream`). */
  files?: number;
  /** The most bytes of one file. */
  fileSize?: number;
  /** The most bytes of one field's value (fields are held in memory whole). */
  fieldSize?: number;
  /** The most header lines in one part (RFC 7578 needs two: Content-Disposition and Content-Type). */
  headerPairs?: number;
}

/** The options of `multipart`. */
export interface MultipartOptions {
  /** Each limit left out takes its value from `MULTIPART_DEFAULTS.limits`. */
  limits?: MultipartLimits;
}

/** The default limits of `multipart`: finite, so that no form is unbounded unless asked for. */
export const MULTIPART_DEFAULTS = {
  limits: {
    /**
     * The most parts in one body.
     * @default 1000
     */
    parts: 1000,
    /**
     * The most fields in one body.
     * @default 1000
     */
    fields: 1000,
    /**
     * The most files in one body.
     * @default 100
     */
    files: 100,
    /**
     * The most bytes of one file: 10 MiB. Files are streamed, never held in memory: raise it
     * for large uploads (it bounds what a client may make the handler store, not memory).
     * @default 10_485_760
     */
    fileSize: 10 * 1024 * 1024,
    /**
     * The most bytes of one field's value: 1 MiB. A field is held in memory whole.
     * @default 1_048_576
     */
    fieldSize: 1024 * 1024,
    /**
     * The most header lines in one part.
     * @default 20
     */
    headerPairs: 20,
  },
} as const;

/** The context of the forward: `ctx.multipart` is the parts. */
export type MultipartContext = Context & { multipart: MultipartParts };

// Busboy keeps at most 1999 header lines of a part: a larger limit could not be checked.
const MAX_HEADER_PAIRS = 1000;
const LIMITS = Object.keys(MULTIPART_DEFAULTS.limits) as (keyof ResolvedLimits)[];

function resolveLimits(options: unknown): ResolvedLimits {
  if (typeof options !== "object" || options === null) throw invalidOption("multipart", "options", "an object", options);
  for (const key of Object.keys(options)) {
    if (key !== "limits") throw invalidOption("multipart", key, "a known option (limits)", key);
  }
  const given: unknown = (options as MultipartOptions).limits ?? {};
  if (typeof given !== "object" || given === null) throw invalidOption("multipart", "limits", "an object", given);
  const limits = { ...MULTIPART_DEFAULTS.limits } as Record<keyof ResolvedLimits, number>;
  for (const key of Object.keys(given)) {
    if (!(LIMITS as string[]).includes(key)) throw invalidOption("multipart", `limits.${key}`, `a known limit (${LIMITS.join(", ")})`, key);
    const value = (given as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (key === "headerPairs") {
      if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_HEADER_PAIRS) {
        throw invalidOption("multipart", "limits.headerPairs", `an integer from 1 to ${MAX_HEADER_PAIRS}`, value);
      }
    } else if (!Number.isSafeInteger(value) || (value as number) < 0) {
      throw invalidOption("multipart", `limits.${key}`, "a non-negative integer", value);
    }
    limits[key as keyof ResolvedLimits] = value as number;
  }
  return limits;
}

class Multipart {
  constructor(
    private readonly forward: ForwardCallback<MultipartParts, MultipartContext>,
    private readonly limits: ResolvedLimits,
  ) {}

  handle(req: Request, res: Response, next: NextCallback, ctx: Context): boolean | Promise<boolean> {
    const values = req.headers.getAll("content-type");
    if (values.length === 0) throw ClientError.unsupportedMediaType("expected multipart/form-data, the request has no Content-Type");
    if (values.length > 1) throw ClientError.badRequest("several Content-Type headers");
    let boundary: string | undefined;
    try {
      const type = parseMediaType(values[0]!);
      if (type.essence !== "multipart/form-data") throw ClientError.unsupportedMediaType(`expected multipart/form-data, got ${type.essence}`);
      boundary = type.parameters.get("boundary");
    } catch (error) {
      if (error instanceof MediaTypeError) throw ClientError.badRequest(`malformed Content-Type: ${error.message}`);
      throw error;
    }
    if (boundary === undefined) throw ClientError.badRequest("multipart/form-data without a boundary");
    if (!isMultipartBoundary(boundary)) throw ClientError.badRequest("the multipart boundary is not 1 to 70 characters of RFC 2046");
    const parts = new MultipartParts(req, res, boundary, this.limits);
    const context = ctx as MultipartContext;
    context.multipart = parts;
    let result: boolean | Promise<boolean>;
    try {
      result = this.forward(req, res, next, context, parts);
    } catch (error) {
      parts.stop();
      throw error;
    }
    if (typeof result === "boolean") return parts.settled(result);
    return Promise.resolve(result).then(
      (handled) => parts.settled(handled),
      (error: unknown) => {
        parts.stop();
        throw error;
      },
    );
  }
}

/**
 * Streams the parts of a `multipart/form-data` body (RFC 7578) to `forward`, as an async
 * iterable (also `ctx.multipart`). Each part is a `Readable` of its bytes with its `name`,
 * `filename` (as sent: never use it as a path, see `safeFilename`), `type` and `headers`;
 * `await part.text()` reads a field. The next part is parsed only once the previous one was read
 * or skipped (a part not read when the next is asked for is drained), so memory stays flat
 * whatever the size of the upload.
 *
 * Another Content-Type is a 415; a missing or invalid boundary, a malformed part or a body cut
 * short is a 400; going over a limit is a 413, never a truncated part: the part being read and
 * the iteration fail with the status, and if the response head is already sent the connection
 * is closed. When the client goes away the iteration and the part being read fail too (and
 * `req.aborted` is true).
 *
 * @example
 * app.post("/upload", multipart(async (req, res, next, ctx, parts) => {
 *   for await (const part of parts) {
 *     if (part.filename === null) console.log(part.name, await part.text());
 *     else await pipeline(part, createWriteStream(join(uploads, randomUUID())));
 *   }
 *   return res.expandUtf8("stored");
 * }, { limits: { fileSize: 100 * 1024 * 1024 } }));
 */
export function multipart<C extends Context = Context>(
  forward: ForwardCallback<MultipartParts, NoInfer<C> & { multipart: MultipartParts }>,
  options: MultipartOptions = {},
): HandlerCallback<C> {
  if (typeof forward !== "function") throw invalidOption("multipart", "forward", "a function (req, res, next, ctx, parts) => boolean", forward);
  const limits = resolveLimits(options);
  checkBusboy();
  const handler = new Multipart(forward as ForwardCallback<MultipartParts, MultipartContext>, limits);
  return function multipart(req, res, next, ctx) {
    return handler.handle(req, res, next, ctx);
  };
}
