/**
 * Turning a request path into a file path under a root, safely. Pure functions: no file
 * system here (the middleware resolves symlinks and checks the result stays under the root).
 *
 * The path is taken in the form the router matched on, never from the raw request target:
 * `req.path` (percent-encoded, dot segments already resolved by `normalizePath`) or a
 * `<path:path>` capture (already decoded once by the router). That way a guard route on
 * `/admin/...` and the file served always see the same path: a spelling the guard does not
 * match (`admin%2Fx`, `admin%5Cx`, `//admin/x`) is refused here rather than decoded into
 * `admin/x`.
 */

import { pathEncodes } from "../../vsgi/index.js";

/** What the path functions return for a path that is malformed in a way the client must hear about (400). */
export const BAD_PATH = "bad path";

/** The longest relative path looked up (bytes of UTF-16 text); longer ones are not found. */
export const MAX_PATH_LENGTH = 4096;
/** The longest segment looked up (a file name on Linux is at most 255 bytes). */
export const MAX_SEGMENT_LENGTH = 255;

/**
 * Checks one decoded segment: `null` when fine, `BAD_PATH` for a NUL, `false` when no file can
 * be served under that name (empty, `.` or `..`, a `/` or `\` inside, too long).
 */
function checkSegment(segment: string): null | false | typeof BAD_PATH {
  const length = segment.length;
  if (length === 0 || length > MAX_SEGMENT_LENGTH) return false;
  if (segment.charCodeAt(0) === 46 && (length === 1 || (length === 2 && segment.charCodeAt(1) === 46))) return false;
  for (let i = 0; i < length; i++) {
    const c = segment.charCodeAt(i);
    if (c === 0) return BAD_PATH;
    if (c === 47 || c === 92) return false; // an encoded separator, or Windows's
  }
  return null;
}

/** Whether a decoded character must be percent-encoded in the canonical spelling: `%` itself, and what the URL parser encodes. */
function encodedInSpelling(code: number): boolean {
  return code === 0x25 || pathEncodes(code);
}

/**
 * The canonical spelling of a decoded segment: what `encodeLiteral` makes of it, so what a
 * literal rule would have to match. A request segment spelled otherwise (`%61dmin`, `caf%c3%a9`,
 * `a%7Cb`) could slip past a literal guard route, so no file is served for it.
 *
 * @example canonicalSegment("café 1"); // "caf%C3%A9%201"
 */
export function canonicalSegment(decoded: string): string {
  let plain = true;
  for (let i = 0; i < decoded.length; i++) {
    if (encodedInSpelling(decoded.charCodeAt(i))) {
      plain = false;
      break;
    }
  }
  if (plain) return decoded;
  let out = "";
  for (const ch of decoded) {
    // a lone surrogate has no UTF-8 form: the URL parser writes it as U+FFFD
    out += !encodedInSpelling(ch.charCodeAt(0)) ? ch : ch.length === 1 && ch >= "\ud800" && ch <= "\udfff" ? "%EF%BF%BD" : encodeURIComponent(ch);
  }
  return out;
}

/**
 * The relative file path (segments joined by `/`, no leading `/`) for the router's form of the
 * request path (`req.path`: percent-encoded, normalized). Each segment is percent-decoded
 * exactly once. `null` when no file can match (empty segments as in `//x` or `/dir/`, an
 * encoded `/` or `\`, `.`/`..`, a spelling other than the canonical one, overlong);
 * `BAD_PATH` for a NUL or a malformed escape.
 *
 * @example staticPathFromRequest("/css/site%20main.css"); // "css/site main.css"
 * @example staticPathFromRequest("/admin%2Fx");            // null
 * @example staticPathFromRequest("/%61dmin/x");            // null: `admin` spelled otherwise
 */
export function staticPathFromRequest(path: string): string | null | typeof BAD_PATH {
  if (path.length < 2 || path.charCodeAt(0) !== 47 || path.length > MAX_PATH_LENGTH * 3) return null;
  const encoded = path.slice(1);
  if (encoded.indexOf("%") === -1) {
    // the common case: nothing to decode, check the text as it is
    return checkPlain(encoded);
  }
  const parts = encoded.split("/");
  let malformed = false;
  let refused = false;
  for (let i = 0; i < parts.length; i++) {
    const raw = parts[i]!;
    if (raw.indexOf("%") === -1) {
      const verdict = checkSegment(raw);
      if (verdict === BAD_PATH) return BAD_PATH;
      if (verdict === false) refused = true;
      continue;
    }
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      malformed = true;
      continue;
    }
    const verdict = checkSegment(segment);
    if (verdict === BAD_PATH) return BAD_PATH;
    if (verdict === false || canonicalSegment(segment) !== raw) refused = true;
    parts[i] = segment;
  }
  if (malformed) return BAD_PATH;
  if (refused) return null;
  const relative = parts.join("/");
  return relative.length > MAX_PATH_LENGTH ? null : relative;
}

function checkPlain(relative: string): string | null | typeof BAD_PATH {
  if (relative.length > MAX_PATH_LENGTH) return null;
  let start = 0;
  for (;;) {
    const slash = relative.indexOf("/", start);
    const end = slash === -1 ? relative.length : slash;
    const verdict = checkSegment(relative.slice(start, end));
    if (verdict !== null) return verdict === BAD_PATH ? BAD_PATH : null;
    if (slash === -1) return relative;
    start = slash + 1;
  }
}

/**
 * The relative file path for a decoded capture (`ctx.path` from a `<path:path>` rule): checked
 * the same way, never decoded again (a `%2e` in it is a file name with `%2e` in it). The request
 * path it was captured from (`req.path`) must be spelled canonically too, or a guard route on
 * a literal prefix could have been passed by another spelling: `null` otherwise.
 *
 * @example staticPathFromCapture("css/site main.css", "/static/css/site%20main.css"); // "css/site main.css"
 * @example staticPathFromCapture("admin/x", "/static/%61dmin/x");                    // null
 */
export function staticPathFromCapture(decoded: string, requestPath: string): string | null | typeof BAD_PATH {
  if (decoded.length === 0) return null;
  if (requestPath.indexOf("%") !== -1) {
    const whole = staticPathFromRequest(requestPath);
    if (whole === null || whole === BAD_PATH) return whole;
  }
  // a leading `/` (a capture of `*` or a custom type) is not a way to the file system root
  return checkPlain(decoded.charCodeAt(0) === 47 ? decoded.slice(1) : decoded);
}

/**
 * Whether a relative path has a segment that starts with a dot (`.git/config`, `a/.env`):
 * those are ignored by default.
 *
 * @example hasDotSegment("a/.git/config"); // true
 */
export function hasDotSegment(relative: string): boolean {
  return relative.charCodeAt(0) === 46 || relative.indexOf("/.") !== -1;
}

/**
 * Whether `real` (an absolute, symlink-free path) is `root` or inside it; `root` absolute and
 * symlink-free too, without a trailing `/` (except the file system root itself).
 *
 * @example isUnder("/srv/www", "/srv/www/a.txt"); // true
 * @example isUnder("/srv/www", "/srv/www2/a.txt"); // false
 */
export function isUnder(root: string, real: string): boolean {
  if (root === "/") return real.charCodeAt(0) === 47;
  return real.length > root.length && real.startsWith(root) && real.charCodeAt(root.length) === 47;
}
