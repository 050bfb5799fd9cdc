/**
 * Path helpers shared by the backends: a request path is kept percent-encoded, as in a WHATWG
 * URL, so that `/a%2Fb` (one segment) and `/a/b` (two) stay different.
 */

// The bytes a WHATWG URL path keeps as they are; anything else, and any `.` segment, goes
// through the URL parser so every backend presents the same normalized path.
function isPlainPathCode(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || // a-z
    (c >= 65 && c <= 90) || // A-Z
    (c >= 48 && c <= 57) || // 0-9
    c === 47 || c === 45 || c === 95 || c === 126 || c === 37 || // / - _ ~ %
    c === 33 || c === 36 || c === 38 || c === 39 || c === 40 || c === 41 || // ! $ & ' ( )
    c === 42 || c === 43 || c === 44 || c === 59 || c === 61 || c === 58 || c === 64 // * + , ; = : @
  );
}

// What this runtime's URL parser percent-encodes in a path, for each ASCII code: read from the
// parser once rather than written down, because the WHATWG path percent-encode set grew (`^` in
// 2024: Node 24's parser encodes it, Node 20's does not) and the router's literals and the static
// files must spell a path exactly as `normalizePath` does on the runtime at hand. Each character
// is tried between two letters, where no dot segment, query or fragment can form around it.
const ENCODED_BY_PARSER: readonly boolean[] = Array.from({ length: 128 }, (_, code) => {
  if (code === 0x25) return false; // `%` is left as it is: callers decide what it means
  const ch = String.fromCharCode(code);
  return new URL(`http://h/a${ch}b`).pathname !== `/a${ch}b`;
});

/**
 * Whether the URL parser (so `normalizePath`, so the router) percent-encodes the character
 * `code` in a path: every non-ASCII code and, of ASCII, the path percent-encode set as this
 * runtime has it (`%` aside, which the parser leaves alone).
 *
 * @example pathEncodes(0x20); // true: a space is %20 in a path
 * @example pathEncodes(0x7c); // false: `|` stays
 */
export function pathEncodes(code: number): boolean {
  return code > 0x7f || ENCODED_BY_PARSER[code] === true;
}

/**
 * Returns the normalized, percent-encoded form of an origin-form path: dot segments resolved
 * (also `%2e`), characters a URL would encode encoded. Plain paths are returned unchanged
 * without building a URL, which is what keeps this off the profile of the hot path.
 *
 * @example normalizePath("/a/./b/../c d"); // "/a/c%20d"
 */
export function normalizePath(path: string): string {
  const length = path.length;
  if (length === 0 || path.charCodeAt(0) !== 47) return new URL(path, "http://h/").pathname;
  let plain = true;
  for (let i = 0; i < length; i++) {
    const c = path.charCodeAt(i);
    if (c === 46 /* . */) {
      // a `.` is harmless unless it starts a segment that is `.` or `..`
      if (path.charCodeAt(i - 1) === 47) {
        const n = path.charCodeAt(i + 1);
        if (i + 1 === length || n === 47 || (n === 46 && (i + 2 === length || path.charCodeAt(i + 2) === 47))) {
          plain = false;
          break;
        }
      }
    } else if (c === 37 /* % */ && (path.charCodeAt(i + 1) === 50 && (path.charCodeAt(i + 2) | 32) === 101)) {
      plain = false; // %2e: an encoded dot, which URL resolves as a dot segment
      break;
    } else if (!isPlainPathCode(c)) {
      plain = false;
      break;
    }
  }
  // Joined to an origin, never resolved against it: `//a` is a path here, not a host.
  return plain ? path : new URL("http://h" + path).pathname;
}

/**
 * Percent-encodes a decoded path (as CGI's PATH_INFO and SCRIPT_NAME are) into URL form,
 * keeping `/` as the separator.
 *
 * @example encodePath("/a b/é"); // "/a%20b/%C3%A9"
 */
export function encodePath(decoded: string): string {
  return encodeURI(decoded).replace(/[?#]/g, (c) => (c === "?" ? "%3F" : "%23"));
}
