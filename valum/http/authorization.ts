/**
 * The HTTP authentication framework (RFC 9110 §11) as pure functions on header values: the
 * `Authorization` credentials and the `WWW-Authenticate` challenges (auth-scheme followed by a
 * token68 or a list of auth-params with tokens and quoted-strings) and Basic credentials
 * (RFC 7617); the Digest computations are in `digest.ts`. No request, no response, no socket:
 * what the `authenticate` middleware glues, what the fuzzers hit, and what a client (or a test)
 * needs to answer a challenge.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/**
 * An auth-scheme with its token68 or its auth-params: the shape of both a credentials value
 * (`Authorization`) and one challenge (`WWW-Authenticate`). Parsed names are lower-case (they are
 * case-insensitive); values are unquoted and unescaped.
 */
export interface AuthParams {
  /** The auth-scheme as written (`Basic`, `Digest`); compare it case-insensitively. */
  scheme: string;
  /** The token68 (Basic's base64 credentials), or `null` when there are auth-params or nothing. */
  token68: string | null;
  /** The auth-params, in order. Empty when there is a token68. */
  params: ReadonlyMap<string, string>;
}

/** A header value that does not follow the credentials or challenge grammar. */
export class AuthSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuthSyntaxError";
  }
}

// tchar (RFC 9110 §5.6.2) and the token68 characters, as tables indexed by char code.
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;
const T68CHAR = new Uint8Array(128);
for (const c of "-._~+/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") T68CHAR[c.charCodeAt(0)] = 1;

function isTchar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

/** Whether `text` is an RFC 9110 token (non-empty, tchar only). @example isToken("SHA-256"); // true */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) if (!isTchar(text.charCodeAt(i))) return false;
  return true;
}

/** A cursor over one header value; every method moves forward only, so parsing is linear. */
class Scanner {
  i = 0;
  constructor(readonly text: string) {}

  get done(): boolean {
    return this.i >= this.text.length;
  }
  peek(): number {
    return this.i < this.text.length ? this.text.charCodeAt(this.i) : -1;
  }
  /** Skips optional whitespace (SP and HTAB); says whether there was any. */
  ows(): boolean {
    const start = this.i;
    let c = this.peek();
    while (c === 32 || c === 9) c = this.text.charCodeAt(++this.i);
    if (this.i > this.text.length) this.i = this.text.length;
    return this.i > start;
  }
  /** Skips whitespace and the commas of empty list elements (RFC 9110 §5.6.1). */
  listSeparators(): void {
    let c = this.peek();
    while (c === 32 || c === 9 || c === 44) c = this.text.charCodeAt(++this.i);
    if (this.i > this.text.length) this.i = this.text.length;
  }
  token(): string {
    const start = this.i;
    while (isTchar(this.peek())) this.i++;
    return this.text.slice(start, this.i);
  }
  /**
   * A token68 at the cursor when it runs to the end of the value or of the list element
   * (`a=b` is an auth-param, `YWxhZGRpbjpv==` is a token68); leaves the cursor alone otherwise.
   */
  token68(): string | null {
    const text = this.text;
    let j = this.i;
    while (j < text.length && text.charCodeAt(j) < 128 && T68CHAR[text.charCodeAt(j)] === 1) j++;
    if (j === this.i) return null;
    while (j < text.length && text.charCodeAt(j) === 61 /* = */) j++;
    let k = j;
    while (k < text.length && (text.charCodeAt(k) === 32 || text.charCodeAt(k) === 9)) k++;
    if (k < text.length && text.charCodeAt(k) !== 44) return null;
    const value = text.slice(this.i, j);
    this.i = j;
    return value;
  }
  /** A quoted-string, unescaped; the cursor is on the opening quote. */
  quoted(): string {
    const text = this.text;
    let out = "";
    let start = ++this.i;
    for (;;) {
      if (this.i >= text.length) throw new AuthSyntaxError("unterminated quoted-string");
      const c = text.charCodeAt(this.i);
      if (c === 34 /* " */) {
        out += text.slice(start, this.i++);
        return out;
      }
      if (c === 92 /* \ */) {
        out += text.slice(start, this.i);
        const escaped = this.i + 1 < text.length ? text.charCodeAt(this.i + 1) : -1;
        if (escaped === -1 || !qdtext(escaped, true)) throw new AuthSyntaxError("invalid quoted-pair in quoted-string");
        // the escaped character starts the next run of plain text
        start = this.i + 1;
        this.i += 2;
        continue;
      }
      if (!qdtext(c, false)) throw new AuthSyntaxError("control character in quoted-string");
      this.i++;
    }
  }
}

/** qdtext, or with `pair` the characters a quoted-pair may escape (`"` and `\` too). */
function qdtext(c: number, pair: boolean): boolean {
  if (c === 9 || c === 32) return true;
  if (c < 0x21 || c === 0x7f || c > 0xff) return false;
  return pair || (c !== 34 && c !== 92);
}

/** Reads `#auth-param` from the cursor; stops before an element that starts a new challenge. */
function readParams(s: Scanner, list: boolean): Map<string, string> {
  const params = new Map<string, string>();
  for (;;) {
    const name = s.token().toLowerCase();
    if (name.length === 0) throw new AuthSyntaxError(`expected an auth-param name at offset ${s.i}`);
    s.ows();
    if (s.peek() !== 61) throw new AuthSyntaxError(`expected "=" after auth-param ${name}`);
    s.i++;
    s.ows();
    let value: string;
    if (s.peek() === 34) value = s.quoted();
    else {
      value = s.token();
      if (value.length === 0) throw new AuthSyntaxError(`auth-param ${name} has no value`);
    }
    // RFC 9110 §11.2: each parameter name occurs once; two answers would be ambiguous.
    if (params.has(name)) throw new AuthSyntaxError(`auth-param ${name} appears twice`);
    params.set(name, value);
    s.ows();
    if (s.done) return params;
    if (s.peek() !== 44) throw new AuthSyntaxError(`expected "," after auth-param ${name}`);
    const comma = s.i;
    s.listSeparators();
    if (s.done) return params;
    if (list && startsChallenge(s)) {
      // the comma ends this challenge: leave it to the list
      s.i = comma;
      return params;
    }
  }
}

/** In a challenge list, whether the element at the cursor is `scheme ...` rather than `name=`. */
function startsChallenge(s: Scanner): boolean {
  const at = s.i;
  s.token();
  s.ows();
  const param = s.peek() === 61;
  s.i = at;
  return !param;
}

/** One scheme and what follows it, up to the end (credentials) or the next challenge (list). */
function readOne(s: Scanner, list: boolean): AuthParams {
  const scheme = s.token();
  if (scheme.length === 0) throw new AuthSyntaxError(`expected an auth-scheme at offset ${s.i}`);
  const spaced = s.ows();
  if (s.done || (list && s.peek() === 44)) return { scheme, token68: null, params: EMPTY };
  if (!spaced) throw new AuthSyntaxError(`expected a space after auth-scheme ${scheme}`);
  const token68 = s.token68();
  if (token68 !== null) {
    s.ows();
    return { scheme, token68, params: EMPTY };
  }
  return { scheme, token68: null, params: readParams(s, list) };
}

const EMPTY: ReadonlyMap<string, string> = new Map();

/**
 * Parses an `Authorization` (or `Proxy-Authorization`) value: one auth-scheme with a token68
 * or auth-params. Throws an `AuthSyntaxError` on anything else (a 400 for the middleware).
 *
 * @example
 * parseCredentials('Digest username="ana", nc=00000001').params.get("nc"); // "00000001"
 * parseCredentials("Basic YW5hOnB3").token68; // "YW5hOnB3"
 */
export function parseCredentials(value: string): AuthParams {
  const s = new Scanner(value);
  s.ows();
  const credentials = readOne(s, false);
  if (!s.done) throw new AuthSyntaxError(`unexpected text at offset ${s.i}`);
  return credentials;
}

/**
 * Parses a `WWW-Authenticate` (or `Proxy-Authenticate`) value: a list of challenges, which the
 * commas between challenges and between auth-params make tricky to split (RFC 9110 §11.6.1).
 * Call it once per header line and concatenate.
 *
 * @example
 * parseChallenges('Basic realm="a", Digest realm="b", nonce="x"').map((c) => c.scheme); // ["Basic", "Digest"]
 */
export function parseChallenges(value: string): AuthParams[] {
  const s = new Scanner(value);
  const challenges: AuthParams[] = [];
  for (;;) {
    s.listSeparators();
    if (s.done) return challenges;
    challenges.push(readOne(s, true));
    s.ows();
    if (!s.done && s.peek() !== 44) throw new AuthSyntaxError(`expected "," at offset ${s.i}`);
  }
}

/**
 * A quoted-string of `text`, with `"` and `\` escaped. Throws on characters a header cannot
 * carry (control characters, or beyond Latin-1).
 *
 * @example quote('say "hi"'); // "\"say \\\"hi\\\"\""
 */
export function quote(text: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!qdtext(c, true)) throw new AuthSyntaxError(`${JSON.stringify(text)} cannot be a quoted-string`);
    if (c === 34 || c === 92) {
      out += text.slice(start, i) + "\\";
      start = i;
    }
  }
  return out + text.slice(start) + '"';
}

/**
 * Serializes a challenge or credentials: `scheme token68` or `scheme name=value, ...`. Values
 * are quoted, except for the names in `bare` whose value is a token (RFC 7616 writes
 * `algorithm=SHA-256`, `stale=true`, `nc=00000001` bare).
 *
 * @example
 * serializeAuthParams({ scheme: "Basic", token68: null, params: new Map([["realm", "app"]]) }); // 'Basic realm="app"'
 */
export function serializeAuthParams(value: AuthParams, bare: ReadonlySet<string> = NONE): string {
  if (!isToken(value.scheme)) throw new AuthSyntaxError(`${JSON.stringify(value.scheme)} is not an auth-scheme`);
  if (value.token68 !== null) return `${value.scheme} ${value.token68}`;
  let out = value.scheme;
  let first = true;
  for (const [name, text] of value.params) {
    if (!isToken(name)) throw new AuthSyntaxError(`${JSON.stringify(name)} is not an auth-param name`);
    out += (first ? " " : ", ") + name + "=" + (bare.has(name) && isToken(text) ? text : quote(text));
    first = false;
  }
  return out;
}

const NONE: ReadonlySet<string> = new Set();

// --- Basic (RFC 7617) -------------------------------------------------------------------------

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const LATIN1 = new TextDecoder("latin1");
// RFC 7617 §2: neither user-id nor password contains control characters.
const CONTROL = /[\x00-\x1f\x7f]/;

/** A Basic user-id and password. */
export interface BasicCredentials {
  username: string;
  password: string;
}

/**
 * Decodes a Basic token68: base64, then UTF-8 (`charset: "UTF-8"`, RFC 7617 §2.1), or with
 * `null` UTF-8 when the bytes are valid UTF-8 and Latin-1 otherwise (what clients that were never
 * told a charset send); then split on the first colon (the password may contain colons).
 * Throws an `AuthSyntaxError` for bad base64, bad UTF-8, no colon or a control character.
 *
 * @example decodeBasicCredentials("QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "UTF-8"); // { username: "Aladdin", password: "open sesame" }
 */
export function decodeBasicCredentials(token68: string, charset: "UTF-8" | null): BasicCredentials {
  if (!BASE64.test(token68) || token68.length % 4 === 1 || (token68.endsWith("=") && token68.length % 4 !== 0)) {
    throw new AuthSyntaxError("Basic credentials are not base64");
  }
  const bytes = Buffer.from(token68, "base64");
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    if (charset !== null) throw new AuthSyntaxError("Basic credentials are not UTF-8");
    text = LATIN1.decode(bytes);
  }
  const colon = text.indexOf(":");
  if (colon === -1) throw new AuthSyntaxError("Basic credentials have no colon between user-id and password");
  if (CONTROL.test(text)) throw new AuthSyntaxError("Basic credentials contain a control character");
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * The token68 of Basic credentials, UTF-8 encoded: what a client sends after `Basic `.
 *
 * @example "Basic " + encodeBasicCredentials("Aladdin", "open sesame"); // "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
 */
export function encodeBasicCredentials(username: string, password: string): string {
  if (username.includes(":")) throw new AuthSyntaxError("a Basic user-id cannot contain a colon");
  return Buffer.from(`${username}:${password}`, "utf8").toString("base64");
}

/**
 * Header values arrive as Latin-1 text (one character per byte, on every backend); a client told
 * `charset=UTF-8` sends UTF-8 bytes in its quoted-strings. This reads them as UTF-8 when they are
 * valid UTF-8, and leaves the text as it is otherwise.
 *
 * @example decodeHeaderUtf8("J\u00c3\u00a4s"); // "Jäs"
 */
export function decodeHeaderUtf8(text: string): string {
  if (!/[\x80-\xff]/.test(text) || /[^\x00-\xff]/.test(text)) return text;
  try {
    return UTF8.decode(Buffer.from(text, "latin1"));
  } catch {
    return text;
  }
}

/**
 * Compares two secrets in a time that depends on neither their contents nor their lengths:
 * both are hashed to 32 bytes first, then compared with `crypto.timingSafeEqual`.
 *
 * @example constantTimeEqual(sent, expected);
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = createHash("sha256").update(a, "utf8").digest();
  const y = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(x, y);
}
