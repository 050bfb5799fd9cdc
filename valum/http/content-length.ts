/**
 * The Content-Length header (RFC 9110 8.6). A pure function on strings.
 */

/**
 * The length a Content-Length value declares; `null` when malformed. A list of one repeated
 * number (`42, 42`) is that number (RFC 9110 8.6); lengths past 15 digits are refused.
 *
 * @example parseContentLength("42, 42"); // 42
 */
export function parseContentLength(value: string): number | null {
  let length: number | null = null;
  for (const part of value.split(",")) {
    const text = part.trim();
    if (!/^\d{1,15}$/.test(text)) return null;
    const n = Number(text);
    if (length !== null && n !== length) return null;
    length = n;
  }
  return length;
}
