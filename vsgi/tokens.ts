/**
 * The RFC 9110 syntax pieces every header parser here shares (section 5.6): tokens,
 * quoted-strings and comma-separated lists. Pure functions on strings.
 */

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Whether `text` is an RFC 9110 token (a header name, a directive or coding name).
 *
 * @example isToken("max-age"); // true
 */
export function isToken(text: string): boolean {
  return TOKEN.test(text);
}

/**
 * `text` as a quoted-string: `"` and `\` escaped. Throws for characters a quoted-string cannot
 * carry (controls other than tab, including CR and LF).
 *
 * @example quoteString('a "b"'); // '"a \\"b\\""'
 */
export function quoteString(text: string): string {
  // qdtext and quoted-pair: HTAB, SP, VCHAR and obs-text
  if (/[^\t\x20-\x7e\x80-\xff]/.test(text)) throw new RangeError(`${JSON.stringify(text)} cannot be a quoted-string`);
  return '"' + text.replace(/["\\]/g, "\\$&") + '"';
}

/**
 * Splits a comma-separated header value into its trimmed elements, empty elements dropped
 * (RFC 9110 5.6.1), commas inside quoted-strings kept; `null` for an unterminated quoted-string.
 *
 * @example splitList('a, b="x,y", , c'); // ["a", 'b="x,y"', "c"]
 */
export function splitList(value: string): string[] | null {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 92) i++; // backslash: the next character is taken as is
      else if (c === 34) quoted = false;
    } else if (c === 34) {
      quoted = true;
    } else if (c === 44) {
      const item = value.slice(start, i).trim();
      if (item.length > 0) out.push(item);
      start = i + 1;
    }
  }
  if (quoted) return null;
  const last = value.slice(start).trim();
  if (last.length > 0) out.push(last);
  return out;
}

/**
 * Reads a quoted-string (quotes included in `text`), undoing its escapes; `null` when `text`
 * is not exactly one well-formed quoted-string.
 *
 * @example unquoteString('"a \\"b\\""'); // 'a "b"'
 */
export function unquoteString(text: string): string | null {
  if (text.length < 2 || text.charCodeAt(0) !== 34 || text.charCodeAt(text.length - 1) !== 34) return null;
  let out = "";
  for (let i = 1; i < text.length - 1; i++) {
    const ch = text[i]!;
    if (ch === "\\") {
      if (i + 1 >= text.length - 1) return null;
      out += text[++i];
    } else if (ch === '"') {
      return null;
    } else {
      const c = ch.charCodeAt(0);
      if ((c < 0x20 && c !== 9) || c === 0x7f || c > 0xff) return null;
      out += ch;
    }
  }
  return out;
}
