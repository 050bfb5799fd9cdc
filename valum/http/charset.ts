/**
 * Character sets (RFC 9110 section 8.3.2): their names and aliases, the `charset` parameter of
 * a Content-Type, and encoding text into the few charsets Node.js can produce without a
 * conversion library. Pure functions.
 *
 * Node's `Buffer` encodes UTF-8, ISO-8859-1 (`latin1`), US-ASCII and UTF-16LE natively
 * (UTF-16BE is UTF-16LE with its bytes swapped); `TextEncoder` only UTF-8. Any other charset
 * (Shift_JIS, windows-1252, ...) would need a table per charset: valum does not offer them.
 */
import { formatMediaType, MediaTypeError, parseMediaType, type MediaType } from "./media-type.js";

/** The charsets valum can transcode a UTF-8 body into, by their IANA names. */
export const TRANSCODABLE_CHARSETS: readonly string[] = Object.freeze(["UTF-8", "ISO-8859-1", "US-ASCII", "UTF-16LE", "UTF-16BE", "UTF-16"]);

// IANA character set registry aliases (lower case) of the transcodable charsets; "utf8" and
// "latin1" are not registered but are what people and Node write.
const ALIASES: ReadonlyMap<string, string> = new Map([
  ["utf-8", "UTF-8"],
  ["utf8", "UTF-8"],
  ["csutf8", "UTF-8"],
  ["unicode-1-1-utf-8", "UTF-8"],
  ["iso-8859-1", "ISO-8859-1"],
  ["iso_8859-1", "ISO-8859-1"],
  ["iso_8859-1:1987", "ISO-8859-1"],
  ["iso-ir-100", "ISO-8859-1"],
  ["latin1", "ISO-8859-1"],
  ["l1", "ISO-8859-1"],
  ["ibm819", "ISO-8859-1"],
  ["cp819", "ISO-8859-1"],
  ["csisolatin1", "ISO-8859-1"],
  ["us-ascii", "US-ASCII"],
  ["ascii", "US-ASCII"],
  ["us", "US-ASCII"],
  ["iso646-us", "US-ASCII"],
  ["iso_646.irv:1991", "US-ASCII"],
  ["ansi_x3.4-1968", "US-ASCII"],
  ["ansi_x3.4-1986", "US-ASCII"],
  ["iso-ir-6", "US-ASCII"],
  ["ibm367", "US-ASCII"],
  ["cp367", "US-ASCII"],
  ["csascii", "US-ASCII"],
  ["utf-16le", "UTF-16LE"],
  ["csutf16le", "UTF-16LE"],
  ["utf-16be", "UTF-16BE"],
  ["csutf16be", "UTF-16BE"],
  ["utf-16", "UTF-16"],
  ["csutf16", "UTF-16"],
]);

/**
 * The IANA name of a charset valum can transcode into, whatever alias or case it is written
 * with; `null` for any other charset.
 *
 * @example canonicalCharset("latin1"); // "ISO-8859-1"
 */
export function canonicalCharset(name: string): string | null {
  return ALIASES.get(name.trim().toLowerCase()) ?? null;
}

/**
 * The key two charset names are compared by: the IANA name of a known alias, else the name in
 * lower case (charset names are case-insensitive).
 *
 * @example charsetKey("Latin1") === charsetKey("iso-8859-1"); // true
 */
export function charsetKey(name: string): string {
  const low = name.trim().toLowerCase();
  return ALIASES.get(low)?.toLowerCase() ?? low;
}

function parsed(contentType: string): MediaType | null {
  try {
    return parseMediaType(contentType);
  } catch (error) {
    if (error instanceof MediaTypeError) return null;
    throw error;
  }
}

/**
 * The `charset` parameter of a Content-Type value, unquoted; `null` when there is none or the
 * value is malformed.
 *
 * @example contentTypeCharset('text/html; charset="utf-8"'); // "utf-8"
 */
export function contentTypeCharset(contentType: string): string | null {
  return parsed(contentType)?.parameters.get("charset") ?? null;
}

/**
 * `contentType` with its `charset` parameter set to `charset` (in place when there was one, the
 * other parameters kept); a malformed value is returned as it is.
 *
 * @example withCharset("text/html; charset=UTF-8", "ISO-8859-1"); // "text/html; charset=ISO-8859-1"
 */
export function withCharset(contentType: string, charset: string): string {
  const type = parsed(contentType);
  if (type === null) return contentType;
  const parameters = new Map(type.parameters);
  parameters.set("charset", charset);
  return formatMediaType({ type: type.type, subtype: type.subtype, parameters });
}

/**
 * Whether the bodies of a media type are text a charset applies to: `text/*`, or any type
 * written with a `charset` parameter. A malformed value is not.
 *
 * @example isTextType("text/csv"); // true
 */
export function isTextType(contentType: string): boolean {
  const type = parsed(contentType);
  return type !== null && (type.type === "text" || type.parameters.has("charset"));
}

// A surrogate pair is one character: one replacement, not two.
const NOT_LATIN1 = /[\ud800-\udbff][\udc00-\udfff]|[^\u0000-\u00ff]/g;
const NOT_ASCII = /[\ud800-\udbff][\udc00-\udfff]|[^\u0000-\u007f]/g;

/**
 * `text` encoded in `charset` (an IANA name from `TRANSCODABLE_CHARSETS`); a character the
 * charset cannot represent becomes `?`, as iconv and the WHATWG encoders for forms do. UTF-16
 * is written little-endian, its byte order mark being `charsetPreamble`'s.
 *
 * @example encodeText("café €", "ISO-8859-1"); // <63 61 66 e9 20 3f>
 */
export function encodeText(text: string, charset: string): Buffer {
  switch (charset) {
    case "UTF-8":
      return Buffer.from(text, "utf8");
    case "ISO-8859-1":
      return Buffer.from(text.replace(NOT_LATIN1, "?"), "latin1");
    case "US-ASCII":
      return Buffer.from(text.replace(NOT_ASCII, "?"), "latin1");
    case "UTF-16LE":
    case "UTF-16":
      return Buffer.from(text, "utf16le");
    case "UTF-16BE":
      return Buffer.from(text, "utf16le").swap16();
    default:
      throw new RangeError(`cannot encode into ${charset}: one of ${TRANSCODABLE_CHARSETS.join(", ")}`);
  }
}

/**
 * What goes before the first byte of a body in `charset`: the byte order mark for `UTF-16`
 * (RFC 2781 section 3.2: without it a reader assumes big-endian), nothing for the others.
 *
 * @example charsetPreamble("UTF-16"); // <ff fe>
 */
export function charsetPreamble(charset: string): Buffer {
  return charset === "UTF-16" ? Buffer.from([0xff, 0xfe]) : Buffer.alloc(0);
}
