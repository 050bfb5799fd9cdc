/**
 * `serveFromPath(root, options)`: static files, with conditional requests, byte ranges,
 * precompressed siblings and X-Sendfile / X-Accel-Redirect. The header work lives in the pure
 * modules of `valum/http/`; this file resolves the file and glues them.
 */
import { promises as fsp, constants, createReadStream, realpathSync, statSync, type Stats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import mime from "mime-types";
import type { Request, Response } from "../../vsgi/index.js";
import type { Context } from "../context.js";
import type { HandlerCallback, NextCallback } from "../handler.js";
import { ClientError } from "../status.js";
import { invalidOption } from "./options.js";
import { preferredValues, ENCODING_PREFERENCE } from "../http/accept.js";
import { evaluatePreconditions, formatHttpDate, ifRangeMatches, type Validators } from "../http/conditional.js";
import { etagFromStat } from "../http/etag.js";
import { formatContentRange, formatUnsatisfiedRange, parseRange, UNSATISFIABLE, type ByteRange } from "../http/range.js";
import { BAD_PATH, hasDotSegment, isUnder, staticPathFromCapture, staticPathFromRequest } from "../http/static-path.js";

/** The options of `serveFromPath`. */
export interface ServeFromPathOptions {
  /** Send a strong `ETag` (from size and modification time) and honour `If-Match` / `If-None-Match`. @default true */
  etag?: boolean;
  /** Send `Last-Modified` and honour `If-Modified-Since` / `If-Unmodified-Since`. @default true */
  lastModified?: boolean;
  /**
   * Serve a `.br` or `.gz` sibling when the client accepts that coding and the sibling exists
   * (never with `sendfile: "x-accel-redirect"`: nginx would drop the Content-Encoding).
   * @default true
   */
  precompressed?: boolean;
  /** A whole `Cache-Control` value sent with every file (`"no-cache"`); not with `maxAge`. @default null */
  cacheControl?: string | null;
  /** Seconds for `Cache-Control: public, max-age=N`. @default null (no Cache-Control) */
  maxAge?: number | null;
  /** Adds `immutable` to the `max-age` directive (a year when `maxAge` is not given). @default false */
  immutable?: boolean;
  /** Files and directories whose name starts with a dot: `"ignore"` (as if absent), `"deny"` (403) or `"allow"`. @default "ignore" */
  dotfiles?: "ignore" | "deny" | "allow";
  /** Let the front server send the file: `"x-sendfile"` (lighttpd, Apache) or `"x-accel-redirect"` (nginx). @default null */
  sendfile?: "x-sendfile" | "x-accel-redirect" | null;
  /** The nginx `internal` location `X-Accel-Redirect` points into, mapped to `root`. @default "/internal/" */
  accelRedirectPrefix?: string;
  /** At most this many ranges (after merging) in one request; more and the whole file is sent. @default 16 */
  maxRanges?: number;
}

/** The defaults of `serveFromPath`. */
export const SERVE_FROM_PATH_DEFAULTS = Object.freeze({
  etag: true,
  lastModified: true,
  precompressed: true,
  cacheControl: null,
  maxAge: null,
  immutable: false,
  dotfiles: "ignore",
  sendfile: null,
  accelRedirectPrefix: "/internal/",
  maxRanges: 16,
} as const);

const NAME = "serveFromPath";
const KNOWN = new Set(Object.keys(SERVE_FROM_PATH_DEFAULTS));
/** Files up to this size (or ranges of it) are read at once and sent with one write. */
const SMALL = 64 * 1024;
const CHUNK = 64 * 1024;
const YEAR = 31536000;
const CONTROL = /[\u0000-\u001f\u007f]/;
const ASCII = /^[\u0000-\u007f]*$/;
const SIBLINGS: ReadonlyMap<string, string> = new Map([
  ["br", ".br"],
  ["gzip", ".gz"],
]);
const OFFERED = ENCODING_PREFERENCE.filter((coding) => coding === "identity" || SIBLINGS.has(coding));

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR" || code === "ENAMETOOLONG" || code === "ELOOP" || code === "EACCES" || code === "EISDIR";
}

function flag(name: keyof ServeFromPathOptions, value: unknown): boolean {
  if (typeof value !== "boolean") throw invalidOption(NAME, name, "true or false", value);
  return value;
}

/** A file chosen for a request: its real path, its metadata, and the coding of its bytes. */
interface Selected {
  real: string;
  stat: Stats;
  coding: string | null;
}

/** @internal What `serveFromPath` precomputed at registration; one per mount. */
class StaticRoot {
  readonly root: string;
  readonly etag: boolean;
  readonly lastModified: boolean;
  readonly precompressed: boolean;
  readonly cacheControl: string | null;
  readonly dotfiles: "ignore" | "deny" | "allow";
  readonly sendfile: "x-sendfile" | "x-accel-redirect" | null;
  readonly accelRedirectPrefix: string;
  readonly maxRanges: number;
  private readonly types = new Map<string, string>();
  private readonly codings = new Map<string, readonly string[]>();

  constructor(root: string, options: ServeFromPathOptions) {
    if (typeof root !== "string" || root.length === 0) throw invalidOption(NAME, "root", "a directory path", root);
    let real: string;
    try {
      real = realpathSync.native(root);
      if (!statSync(real).isDirectory()) throw new Error("not a directory");
    } catch {
      throw invalidOption(NAME, "root", "an existing directory", root);
    }
    this.root = real;
    if (options === null || typeof options !== "object") throw invalidOption(NAME, "options", "an object", options);
    for (const key of Object.keys(options)) {
      if (!KNOWN.has(key)) throw invalidOption(NAME, key, `one of ${[...KNOWN].join(", ")} (unknown option)`, (options as Record<string, unknown>)[key]);
    }
    const o = { ...SERVE_FROM_PATH_DEFAULTS, ...options };
    this.etag = flag("etag", o.etag);
    this.lastModified = flag("lastModified", o.lastModified);
    // nginx drops the Content-Encoding of an X-Accel-Redirect answer: there its gzip_static does it
    this.precompressed = flag("precompressed", o.precompressed) && o.sendfile !== "x-accel-redirect";
    const immutable = flag("immutable", o.immutable);
    if (o.maxAge !== null && (typeof o.maxAge !== "number" || !Number.isInteger(o.maxAge) || o.maxAge < 0)) {
      throw invalidOption(NAME, "maxAge", "a whole number of seconds, 0 or more", o.maxAge);
    }
    if (o.cacheControl !== null) {
      if (typeof o.cacheControl !== "string" || o.cacheControl.length === 0 || /[\r\n\0]/.test(o.cacheControl)) {
        throw invalidOption(NAME, "cacheControl", "a Cache-Control value", o.cacheControl);
      }
      if (o.maxAge !== null || immutable) throw invalidOption(NAME, "cacheControl", "left out when maxAge or immutable is given", o.cacheControl);
    }
    this.cacheControl =
      o.cacheControl ?? (o.maxAge !== null || immutable ? `public, max-age=${o.maxAge ?? YEAR}${immutable ? ", immutable" : ""}` : null);
    if (o.dotfiles !== "ignore" && o.dotfiles !== "deny" && o.dotfiles !== "allow") {
      throw invalidOption(NAME, "dotfiles", '"ignore", "deny" or "allow"', o.dotfiles);
    }
    this.dotfiles = o.dotfiles;
    if (o.sendfile !== null && o.sendfile !== "x-sendfile" && o.sendfile !== "x-accel-redirect") {
      throw invalidOption(NAME, "sendfile", '"x-sendfile", "x-accel-redirect" or null', o.sendfile);
    }
    this.sendfile = o.sendfile;
    const prefix = o.accelRedirectPrefix;
    if (typeof prefix !== "string" || !prefix.startsWith("/") || !prefix.endsWith("/") || /[\s\0%?#]/.test(prefix)) {
      throw invalidOption(NAME, "accelRedirectPrefix", 'a URI path starting and ending with "/"', prefix);
    }
    this.accelRedirectPrefix = prefix;
    if (typeof o.maxRanges !== "number" || !Number.isInteger(o.maxRanges) || o.maxRanges < 1) {
      throw invalidOption(NAME, "maxRanges", "a whole number, 1 or more", o.maxRanges);
    }
    this.maxRanges = o.maxRanges;
  }

  /** The Content-Type for a file name, by extension, with a charset for text; remembered. */
  typeOf(relative: string): string {
    const slash = relative.lastIndexOf("/");
    const dot = relative.lastIndexOf(".");
    const ext = dot > slash + 1 ? relative.slice(dot + 1).toLowerCase() : "";
    let type = this.types.get(ext);
    if (type === undefined) {
      type = (ext === "" ? false : mime.contentType(ext)) || "application/octet-stream";
      if (this.types.size < 1024) this.types.set(ext, type);
    }
    return type;
  }

  /** The codings to try for an Accept-Encoding value, best first, up to identity; remembered. */
  codingsFor(header: string): readonly string[] {
    let order = this.codings.get(header);
    if (order === undefined) {
      const preferred = preferredValues("accept-encoding", header, OFFERED);
      const identity = preferred.indexOf("identity");
      order = identity === -1 ? preferred : preferred.slice(0, identity);
      if (this.codings.size < 256 && header.length < 256) this.codings.set(header, order);
    }
    return order;
  }

  /** The real path of `relative + suffix` when it exists under the root (symlinks resolved). */
  async resolve(relative: string, suffix: string): Promise<string | null> {
    let real: string;
    try {
      real = await fsp.realpath(this.root + "/" + relative + suffix);
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    return isUnder(this.root, real) ? real : null;
  }

  async serve(req: Request, res: Response, next: NextCallback, ctx: Context): Promise<boolean> {
    const method = req.method;
    if (method !== "GET" && method !== "HEAD") return next();
    const captured = ctx.path;
    const relative = typeof captured === "string" ? staticPathFromCapture(captured, req.path) : staticPathFromRequest(req.path);
    if (relative === null) return next();
    if (relative === BAD_PATH) throw ClientError.badRequest("malformed path");
    if (this.dotfiles !== "allow" && hasDotSegment(relative)) {
      if (this.dotfiles === "ignore") return next();
      throw ClientError.forbidden();
    }
    const original = await this.resolve(relative, "");
    if (original === null) return next();

    let selected: Selected | null = null;
    let handle: FileHandle | null = null;
    try {
      if (this.precompressed) {
        res.headers.append("Vary", "Accept-Encoding");
        const accept = req.headers.get("accept-encoding");
        if (accept !== null) {
          for (const coding of this.codingsFor(accept)) {
            const real = await this.resolve(relative, SIBLINGS.get(coding)!);
            if (real === null) continue;
            const opened = await this.open(real);
            if (opened === null) continue;
            handle = opened.handle;
            selected = { real, stat: opened.stat, coding };
            break;
          }
        }
      }
      if (selected === null) {
        const opened = await this.open(original);
        if (opened === null) return next();
        handle = opened.handle;
        selected = { real: original, stat: opened.stat, coding: null };
      }
      const owned = handle;
      handle = null; // from here on send() closes it
      return await this.send(req, res, relative, selected, owned);
    } finally {
      if (handle !== null) await handle.close();
    }
  }

  /** Opens a regular file (never a directory: no listings); `null` when it is none. */
  private async open(real: string): Promise<{ handle: FileHandle | null; stat: Stats } | null> {
    if (this.sendfile !== null) {
      // the front server reads it: a stat is all we need
      const stat = await fsp.stat(real).catch((error: unknown) => (isMissing(error) ? null : Promise.reject(error)));
      return stat !== null && stat.isFile() ? { handle: null, stat } : null;
    }
    let handle: FileHandle;
    try {
      handle = await fsp.open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    let stat: Stats;
    try {
      stat = await handle.stat();
    } catch (error) {
      await handle.close();
      throw error;
    }
    if (!stat.isFile()) {
      await handle.close();
      return null;
    }
    return { handle, stat };
  }

  private async send(req: Request, res: Response, relative: string, selected: Selected, handle: FileHandle | null): Promise<boolean> {
    let closeHandle = true;
    try {
      const { stat, coding } = selected;
      const headers = res.headers;
      const etag = this.etag ? etagFromStat(stat, coding === null ? "" : "-" + coding) : null;
      const lastModified = this.lastModified ? stat.mtimeMs : null;
      const validators: Validators = { etag, lastModified };
      const lastModifiedText = lastModified === null ? null : formatHttpDate(lastModified);
      if (etag !== null) headers.set("ETag", etag);
      if (lastModifiedText !== null) headers.set("Last-Modified", lastModifiedText);
      if (this.cacheControl !== null) headers.set("Cache-Control", this.cacheControl);

      const reqHeaders = req.headers;
      const ifMatch = reqHeaders.get("if-match");
      const ifNoneMatch = reqHeaders.get("if-none-match");
      const ifModifiedSince = reqHeaders.get("if-modified-since");
      const ifUnmodifiedSince = reqHeaders.get("if-unmodified-since");
      if (ifMatch !== null || ifNoneMatch !== null || ifModifiedSince !== null || ifUnmodifiedSince !== null) {
        const verdict = evaluatePreconditions(req.method, { ifMatch, ifNoneMatch, ifModifiedSince, ifUnmodifiedSince }, validators);
        if (verdict === 412) throw ClientError.preconditionFailed();
        if (verdict === 304) {
          // RFC 9110 15.4.5: keep ETag, Cache-Control, Vary; Last-Modified only without an ETag
          if (etag !== null) headers.delete("Last-Modified");
          res.status = 304;
          return await res.end();
        }
      }

      headers.set("Content-Type", this.typeOf(relative));
      if (coding !== null) headers.set("Content-Encoding", coding);
      if (this.sendfile !== null) return await this.delegate(res, selected.real);

      const size = stat.size;
      headers.set("Accept-Ranges", "bytes");
      let ranges: ByteRange[] | null = null;
      const range = reqHeaders.get("range");
      if (range !== null) {
        const ifRange = reqHeaders.get("if-range");
        if (ifRange === null || ifRangeMatches(ifRange, validators, Date.now())) {
          const parsed = parseRange(range, size, { maxRanges: this.maxRanges });
          if (parsed === UNSATISFIABLE) {
            throw new ClientError(416, undefined, { headers: { "Content-Range": formatUnsatisfiedRange(size) } });
          }
          // several ranges of a precompressed sibling would make a multipart body whose parts
          // are slices of gzip or br bytes under no coding at all: send it whole instead
          ranges = parsed !== null && parsed.length > 1 && coding !== null ? null : parsed;
        }
      }
      if (ranges !== null && ranges.length > 1) {
        closeHandle = false;
        return await this.sendMultipart(req, res, relative, size, ranges, handle!);
      }
      let start = 0;
      let end = size - 1;
      if (ranges !== null) {
        start = ranges[0]!.start;
        end = ranges[0]!.end;
        res.status = 206;
        headers.set("Content-Range", formatContentRange(ranges[0]!, size));
      }
      const length = end - start + 1;
      headers.set("Content-Length", length);
      if (req.method === "HEAD") return await res.end();
      if (length <= SMALL) return await res.expand(await readAll(handle!, start, length));
      closeHandle = false;
      const stream = createReadStream("", { fd: handle!, start, end, highWaterMark: CHUNK, autoClose: true });
      return await res.expandStream(stream);
    } finally {
      if (closeHandle && handle !== null) await handle.close();
    }
  }

  /** Answers with the header that has the front server send the file itself. */
  private delegate(res: Response, real: string): Promise<true> {
    if (this.sendfile === "x-sendfile") {
      // A control character would break the header: such a name is not served this way.
      if (CONTROL.test(real)) throw ClientError.notFound();
      // lighttpd and mod_xsendfile read the value as the file name's bytes; header values go
      // out as latin1, so a UTF-8 name is handed over byte for byte.
      res.headers.set("X-Sendfile", ASCII.test(real) ? real : Buffer.from(real, "utf8").toString("latin1"));
    } else {
      const inside = real.slice(this.root.length + 1).split("/").map(encodeURIComponent).join("/");
      res.headers.set("X-Accel-Redirect", this.accelRedirectPrefix + inside);
    }
    return res.end();
  }

  private sendMultipart(req: Request, res: Response, relative: string, size: number, ranges: ByteRange[], handle: FileHandle): Promise<boolean> {
    const boundary = randomBytes(12).toString("hex");
    const type = this.typeOf(relative);
    const heads = ranges.map((range, i) =>
      Buffer.from(`${i === 0 ? "" : "\r\n"}--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: ${formatContentRange(range, size)}\r\n\r\n`, "latin1"),
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`, "latin1");
    let length = tail.length;
    for (let i = 0; i < ranges.length; i++) length += heads[i]!.length + ranges[i]!.end - ranges[i]!.start + 1;
    res.status = 206;
    res.headers.set("Content-Type", `multipart/byteranges; boundary=${boundary}`);
    res.headers.set("Content-Length", length);
    if (req.method === "HEAD") {
      return handle.close().then(() => res.end());
    }
    return res.expandStream(Readable.from(multipartBody(handle, ranges, heads, tail), { objectMode: false }));
  }
}

/** Reads `length` bytes at `position` (a regular file may still return less at once). */
async function readAll(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) throw new Error("the file shrank while it was being sent");
    done += bytesRead;
  }
  return buffer;
}

async function* multipartBody(handle: FileHandle, ranges: ByteRange[], heads: Buffer[], tail: Buffer): AsyncGenerator<Buffer> {
  try {
    for (let i = 0; i < ranges.length; i++) {
      yield heads[i]!;
      const range = ranges[i]!;
      for (let position = range.start; position <= range.end; ) {
        const length = Math.min(CHUNK, range.end - position + 1);
        const chunk = await readAll(handle, position, length);
        yield chunk;
        position += length;
      }
    }
    yield tail;
  } finally {
    await handle.close();
  }
}

/**
 * Serves the files under `root`: the path from `ctx.path` (a `<path:path>` capture) or else the
 * request path, in the form the router matched on, so that a guard route in front is never
 * bypassed by another spelling. A missing file, a directory or a path that cannot name a file
 * under `root` calls `next`. See `docs/middlewares/serve-from-path.md`.
 *
 * @example
 * app.get("/static/<path:path>", serveFromPath("public", { maxAge: 3600 }));
 */
export function serveFromPath(root: string, options: ServeFromPathOptions = {}): HandlerCallback {
  const mount = new StaticRoot(root, options);
  return function serveFromPath(req: Request, res: Response, next: NextCallback, ctx: Context): Promise<boolean> {
    return mount.serve(req, res, next, ctx);
  };
}
