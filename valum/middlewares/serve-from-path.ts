/**
 * `serveFromPath(root, options)`: static files, with conditional requests, byte ranges,
 * precompressed siblings and X-Sendfile / X-Accel-Redirect. The header work lives in the pure
 * modules of `valum/http/`; this file resolves the file and glues them.
 */
import { closeSync, constants, fstatSync, openSync, realpathSync, statSync, type Stats } from "node:fs";
import { randomBytes } from "node:crypto";
import mime from "mime-types";
import type { Request, Response } from "../../vsgi/index.js";
import type { Context } from "../context.js";
import type { HandlerCallback, NextCallback } from "../handler.js";
import { ClientError } from "../status.js";
import { invalidOption } from "./options.js";
import { preferredValues, ENCODING_PREFERENCE } from "../http/accept.js";
import { evaluatePreconditions, formatHttpDate, ifRangeMatches } from "../http/conditional.js";
import { etagFromStat } from "../http/etag.js";
import { mergeVary } from "../http/vary.js";
import { byterangesFraming, formatContentRange, formatUnsatisfiedRange, parseRange, UNSATISFIABLE, type ByteRange } from "../http/range.js";
import { closeFd, sendRange, streamByteranges, streamRange, STREAM_CHUNK } from "./file-body.js";
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
const YEAR = 31536000;
const CONTROL = /[\u0000-\u001f\u007f]/;
const ASCII = /^[\u0000-\u007f]*$/;
const SIBLINGS: ReadonlyMap<string, string> = new Map([
  ["br", ".br"],
  ["gzip", ".gz"],
]);
const ACCEPT_ENCODING = ["Accept-Encoding"];
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;
const OFFERED = ENCODING_PREFERENCE.filter((coding) => coding === "identity" || SIBLINGS.has(coding));

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR" || code === "ENAMETOOLONG" || code === "ELOOP" || code === "EACCES" || code === "EISDIR";
}

function flag(name: keyof ServeFromPathOptions, value: unknown): boolean {
  if (typeof value !== "boolean") throw invalidOption(NAME, name, "true or false", value);
  return value;
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

  /**
   * The real path of `relative + suffix` when it exists under the root (symlinks resolved).
   * Synchronous, as nginx does its open() and fstat(): these are look-ups in the kernel's
   * dentry and inode caches, microseconds, where a round trip through libuv's thread pool
   * costs tens of them and a context switch. Only the reading of file data goes to the pool.
   */
  resolve(relative: string, suffix: string): string | null {
    let real: string;
    try {
      real = realpathSync.native(this.root + "/" + relative + suffix);
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    return isUnder(this.root, real) ? real : null;
  }

  /** Opens a regular file (never a directory: no listings); `null` when it is none. */
  private open(real: string): Opened | null {
    if (this.sendfile !== null) {
      // the front server reads it: a stat is all we need
      let stat: Stats;
      try {
        stat = statSync(real);
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
      return stat.isFile() ? { fd: -1, stat } : null;
    }
    let fd: number;
    try {
      fd = openSync(real, OPEN_FLAGS);
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    let stat: Stats;
    try {
      // the descriptor's own metadata: what is checked is what is sent
      stat = fstatSync(fd);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    if (!stat.isFile()) {
      closeSync(fd);
      return null;
    }
    return { fd, stat };
  }

  serve(req: Request, res: Response, next: NextCallback, ctx: Context): boolean | Promise<boolean> {
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
    const original = this.resolve(relative, "");
    if (original === null) return next();

    let real = original;
    let coding: string | null = null;
    let opened: Opened | null = null;
    if (this.precompressed) {
      const accept = req.headers.get("accept-encoding");
      if (accept !== null) {
        for (const candidate of this.codingsFor(accept)) {
          const sibling = this.resolve(relative, SIBLINGS.get(candidate)!);
          if (sibling === null) continue;
          opened = this.open(sibling);
          if (opened === null) continue;
          real = sibling;
          coding = candidate;
          break;
        }
      }
    }
    if (opened === null) {
      opened = this.open(original);
      if (opened === null) return next();
    }
    // every answer about this file varies with Accept-Encoding, 304, 412 and 416 included
    if (this.precompressed) {
      res.headers.setTrusted("Vary", mergeVary(res.headers.get("vary"), ACCEPT_ENCODING));
    }
    // from here on send() owns the descriptor
    return this.send(req, res, relative, real, coding, opened.stat, opened.fd);
  }

  private send(req: Request, res: Response, relative: string, real: string, coding: string | null, stat: Stats, fd: number): Promise<boolean> {
    let owned = fd >= 0;
    try {
      const headers = res.headers;
      const etag = this.etag ? etagFromStat(stat, coding === null ? "" : "-" + coding) : null;
      const lastModified = this.lastModified ? stat.mtimeMs : null;
      if (etag !== null) headers.setTrusted("ETag", etag);
      if (lastModified !== null) headers.setTrusted("Last-Modified", httpDate(lastModified));
      if (this.cacheControl !== null) headers.setTrusted("Cache-Control", this.cacheControl);

      const reqHeaders = req.headers;
      const ifMatch = reqHeaders.get("if-match");
      const ifNoneMatch = reqHeaders.get("if-none-match");
      const ifModifiedSince = reqHeaders.get("if-modified-since");
      const ifUnmodifiedSince = reqHeaders.get("if-unmodified-since");
      if (ifMatch !== null || ifNoneMatch !== null || ifModifiedSince !== null || ifUnmodifiedSince !== null) {
        const verdict = evaluatePreconditions(req.method, { ifMatch, ifNoneMatch, ifModifiedSince, ifUnmodifiedSince }, { etag, lastModified });
        if (verdict === 412) throw ClientError.preconditionFailed();
        if (verdict === 304) {
          // RFC 9110 15.4.5: keep ETag, Cache-Control, Vary; Last-Modified only without an ETag
          if (etag !== null) headers.delete("Last-Modified");
          res.status = 304;
          return res.end();
        }
      }

      headers.setTrusted("Content-Type", this.typeOf(relative));
      if (coding !== null) headers.setTrusted("Content-Encoding", coding);
      if (this.sendfile !== null) return this.delegate(res, real);

      const size = stat.size;
      headers.setTrusted("Accept-Ranges", "bytes");
      let ranges: ByteRange[] | null = null;
      // RFC 9110 section 14.2: range handling is defined for GET only; HEAD ignores Range
      const range = req.method === "GET" ? reqHeaders.get("range") : null;
      if (range !== null) {
        const ifRange = reqHeaders.get("if-range");
        if (ifRange === null || ifRangeMatches(ifRange, { etag, lastModified }, Date.now())) {
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
        owned = false;
        return this.sendMultipart(res, relative, size, ranges, fd);
      }
      let start = 0;
      let end = size - 1;
      if (ranges !== null) {
        start = ranges[0]!.start;
        end = ranges[0]!.end;
        res.status = 206;
        headers.setTrusted("Content-Range", formatContentRange(ranges[0]!, size));
      }
      const length = end - start + 1;
      headers.setTrusted("Content-Length", String(length));
      if (req.method === "HEAD") return res.end();
      owned = false;
      if (length <= STREAM_CHUNK) return sendRange(res, fd, start, length);
      return streamRange(res, fd, start, end);
    } finally {
      if (owned) closeFd(fd);
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

  private sendMultipart(res: Response, relative: string, size: number, ranges: ByteRange[], fd: number): Promise<boolean> {
    const framing = byterangesFraming(ranges, size, this.typeOf(relative), randomBytes(12).toString("hex"));
    res.status = 206;
    res.headers.setTrusted("Content-Type", framing.contentType);
    res.headers.setTrusted("Content-Length", String(framing.length));
    return streamByteranges(res, fd, ranges, framing);
  }
}

/** What `open` found: the descriptor (-1 when only stat-ed) and its metadata. */
interface Opened {
  fd: number;
  stat: Stats;
}

/** Last-Modified values, remembered per modification time: files change rarely. */
const DATES = new Map<number, string>();

function httpDate(mtimeMs: number): string {
  const second = Math.floor(mtimeMs / 1000);
  let text = DATES.get(second);
  if (text === undefined) {
    text = formatHttpDate(second * 1000);
    if (DATES.size >= 1024) DATES.clear();
    DATES.set(second, text);
  }
  return text;
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
  return function serveFromPath(req: Request, res: Response, next: NextCallback, ctx: Context): boolean | Promise<boolean> {
    return mount.serve(req, res, next, ctx);
  };
}
