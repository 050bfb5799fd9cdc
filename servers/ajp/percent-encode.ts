// The request path and query string of a FORWARD_REQUEST, as raw bytes, to the text of a URL:
// percent-encoding what a URL cannot hold as it is, so that a path Apache sent encoded and one
// lighttpd sent decoded give the same URL. Apart from the decoder (forward-request.ts), which
// keeps the bytes as sent; re-exported by wire.ts. Pure.

/**
 * Percent-encodes the bytes of a request path that a URL path cannot hold as they are, keeping
 * `%XX` escapes: a path Apache sent encoded stays as it is, a path lighttpd sent decoded
 * (`/café/a b`) gets encoded (`/caf%C3%A9/a%20b`), byte for byte. What is encoded is what a
 * URL parser would encode (space, controls, `"#<>?\`{}`, non-ASCII) and a `%` that starts no
 * escape.
 *
 * @example encodeRequestPath(Buffer.from("/a b/%41?")); // "/a%20b/%41%3F"
 */
export function encodeRequestPath(bytes: Buffer): string {
  return encodeBytes(bytes, PATH_SAFE);
}

/**
 * `encodeRequestPath` for a query string: `?`, `` ` ``, `{` and `}` stay as they are.
 *
 * @example encodeQueryString(Buffer.from("q=a b")); // "q=a%20b"
 */
export function encodeQueryString(bytes: Buffer): string {
  return encodeBytes(bytes, QUERY_SAFE);
}

// What stays as it is: printable ASCII but the bytes a URL parser would percent-encode itself
// (the WHATWG path and query percent-encode sets) and `%` (kept only as the start of an escape).
const PATH_SAFE = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) PATH_SAFE[c] = 1;
for (const c of '"#<>?`{}%') PATH_SAFE[c.charCodeAt(0)] = 0;
const QUERY_SAFE = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) QUERY_SAFE[c] = 1;
for (const c of '"#<>%') QUERY_SAFE[c.charCodeAt(0)] = 0;
const HEX = "0123456789ABCDEF";

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102));
}

function encodeBytes(bytes: Buffer, safe: Uint8Array): string {
  const length = bytes.length;
  let i = 0;
  for (; i < length; i++) {
    const c = bytes[i]!;
    if (safe[c] === 0 && !(c === 37 && isHex(bytes[i + 1]) && isHex(bytes[i + 2]))) break;
  }
  if (i === length) return bytes.toString("latin1", 0, length);
  let out = bytes.toString("latin1", 0, i);
  for (; i < length; i++) {
    const c = bytes[i]!;
    if (safe[c] === 1 || (c === 37 && isHex(bytes[i + 1]) && isHex(bytes[i + 2]))) out += String.fromCharCode(c);
    else out += "%" + HEX[c >> 4] + HEX[c & 15];
  }
  return out;
}
