import signature from "cookie-signature";
import { VsgiError, ERR_INVALID_OPTION } from "./errors.js";

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function decode(value: string): string {
  if (value.length >= 2 && value.charCodeAt(0) === 34 && value.charCodeAt(value.length - 1) === 34) {
    value = value.slice(1, -1);
  }
  if (value.indexOf("%") === -1) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Parses Cookie header values into a map where the last cookie of a name wins.
 *
 * Front servers join several Cookie headers differently (Apache with `, `, lighttpd with `; `,
 * nginx and HAProxy send them twice): RFC 6265 cookie values contain neither `;` nor `,`, so
 * both are separators here.
 *
 * @example parseCookies(["a=1; b=2", "a=3"]).get("a"); // "3"
 */
export function parseCookies(headers: readonly string[]): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const header of headers) {
    let start = 0;
    const length = header.length;
    while (start < length) {
      // One pass for the separator and the first "=": an indexOf("=") from `start` would scan
      // to the end of the header for each piece, quadratic on ";;;;..." without any "=".
      let end = start;
      let eq = -1;
      while (end < length) {
        const c = header.charCodeAt(end);
        if (c === 59 /* ; */ || c === 44 /* , */) break;
        if (c === 61 /* = */ && eq === -1) eq = end;
        end++;
      }
      if (eq !== -1) {
        const name = header.slice(start, eq).trim();
        if (name.length > 0) cookies.set(name, decode(header.slice(eq + 1, end).trim()));
      }
      start = end + 1;
    }
  }
  return cookies;
}

/**
 * Checks a cookie value signed the way Express's cookie-parser signs (`s:` + value + `.` + HMAC),
 * trying each secret in turn so keys can rotate. Returns the value, or `null` when no secret
 * verifies it.
 *
 * @example unsignCookie(req.lookupCookie("session"), ["new-key", "old-key"]);
 */
export function unsignCookie(raw: string | null, secrets: string | readonly string[]): string | null {
  const list = typeof secrets === "string" ? [secrets] : secrets;
  if (raw === null || !raw.startsWith("s:")) return null;
  for (const secret of list) {
    checkSecret(secret);
    const value = signature.unsign(raw.slice(2), secret);
    if (value !== false) return value;
  }
  return null;
}

// An empty secret signs nothing: anyone can compute an HMAC with the empty key.
function checkSecret(secret: unknown): void {
  if (typeof secret !== "string" || secret.length === 0) {
    throw new VsgiError(ERR_INVALID_OPTION, `a cookie secret must be a non-empty string, got ${JSON.stringify(secret)}`);
  }
}

/** Options of `Set-Cookie` (RFC 6265), plus `signed` to sign the value. */
export interface CookieOptions {
  path?: string;
  domain?: string;
  /** Seconds; `0` or less expires the cookie now. */
  maxAge?: number;
  expires?: Date;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: "Strict" | "Lax" | "None" | "strict" | "lax" | "none";
  partitioned?: boolean;
  priority?: "Low" | "Medium" | "High";
  /** A secret: the value is signed as Express's `res.cookie(..., { signed: true })` does. */
  signed?: string;
}

const ATTRIBUTE = /^[\x21-\x3a\x3c-\x7e]*$/; // visible ASCII but `;`

function attribute(option: string, value: string): string {
  if (!ATTRIBUTE.test(value)) {
    throw new VsgiError(ERR_INVALID_OPTION, `invalid cookie ${option} ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Serializes one `Set-Cookie` value. The value is percent-encoded, as Express does.
 *
 * @example serializeCookie("theme", "dark", { path: "/", maxAge: 3600, httpOnly: true });
 */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  if (!TOKEN.test(name)) {
    throw new VsgiError(ERR_INVALID_OPTION, `invalid cookie name ${JSON.stringify(name)}`);
  }
  if (options.signed !== undefined) checkSecret(options.signed);
  const stored = options.signed !== undefined ? "s:" + signature.sign(value, options.signed) : value;
  let text = name + "=" + encodeURIComponent(stored);
  if (options.maxAge !== undefined) {
    if (!Number.isFinite(options.maxAge)) {
      throw new VsgiError(ERR_INVALID_OPTION, `invalid cookie maxAge ${options.maxAge}`);
    }
    text += "; Max-Age=" + Math.floor(options.maxAge);
  }
  if (options.domain !== undefined) text += "; Domain=" + attribute("domain", options.domain);
  if (options.path !== undefined) text += "; Path=" + attribute("path", options.path);
  if (options.expires !== undefined) text += "; Expires=" + options.expires.toUTCString();
  if (options.httpOnly) text += "; HttpOnly";
  if (options.secure) text += "; Secure";
  if (options.partitioned) text += "; Partitioned";
  if (options.priority !== undefined) text += "; Priority=" + options.priority;
  if (options.sameSite !== undefined) {
    const s = options.sameSite.toLowerCase();
    if (s !== "strict" && s !== "lax" && s !== "none") {
      throw new VsgiError(ERR_INVALID_OPTION, `invalid cookie sameSite ${options.sameSite}`);
    }
    text += "; SameSite=" + s[0]!.toUpperCase() + s.slice(1);
  }
  return text;
}
