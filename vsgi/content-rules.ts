// What a response's status and type say about its body, as pure rules: the one rule for the
// statuses that have no content (the responses, the router's statuses and the error answers
// all follow it), and the charset a text body is given.

const WITH_CHARSET = new Map<string, string>();

/**
 * `type; charset=UTF-8`, remembered: applications use a handful of types.
 *
 * @example withUtf8Charset("text/plain"); // "text/plain; charset=UTF-8"
 */
export function withUtf8Charset(type: string): string {
  let full = WITH_CHARSET.get(type);
  if (full === undefined) {
    full = type + "; charset=UTF-8";
    if (WITH_CHARSET.size < 256) WITH_CHARSET.set(type, full);
  }
  return full;
}

/**
 * Whether a Content-Type names a charset already.
 *
 * @example hasCharset("text/html; Charset=ISO-8859-1"); // true
 */
export function hasCharset(type: string): boolean {
  return type.indexOf(";") !== -1 && /;\s*charset=/i.test(type);
}

/**
 * Whether a status allows content at all: not 1xx, 204 and 304 (RFC 9110 6.4.1), nor 205,
 * whose server "MUST NOT generate content" (RFC 9110 15.3.6). The one rule, for the router's
 * statuses as well.
 *
 * @example statusAllowsContent(205); // false
 */
export function statusAllowsContent(status: number): boolean {
  return status >= 200 && status !== 204 && status !== 205 && status !== 304;
}

/**
 * Whether a response with this status to this method carries a body: never for HEAD, 1xx,
 * 204, 205 and 304 (RFC 9110 6.4.1 and 15.3.6).
 *
 * @example statusHasBody("GET", 205); // false
 */
export function statusHasBody(method: string, status: number): boolean {
  return method !== "HEAD" && statusAllowsContent(status);
}
