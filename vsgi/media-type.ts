/**
 * Media types (RFC 9110 §8.3.1): `type "/" subtype *( OWS ";" OWS [ name "=" value ] )`, the
 * value a token or a quoted-string. Pure functions: what the `Content-Type` of a request says,
 * for the middlewares that read bodies (`multipart`), and the boundary rule of RFC 2046.
 */

import { isToken, quoteString, unquoteString } from "./tokens.js";

/** A parsed media type. */
export interface MediaType {
  /** The type, lower-cased (`multipart`). */
  readonly type: string;
  /** The subtype, lower-cased (`form-data`). */
  readonly subtype: string;
  /** `type/subtype`, lower-cased: what to compare (`multipart/form-data`). */
  readonly essence: string;
  /** The parameters in order, names lower-cased, values unquoted and case kept. */
  readonly parameters: ReadonlyMap<string, string>;
}

/** A media type that does not follow the grammar; `message` says where and why. */
export class MediaTypeError extends SyntaxError {
  constructor(message: string) {
    super(message);
    this.name = "MediaTypeError";
  }
}

function found(value: string, at: number): string {
  return at < value.length ? JSON.stringify(value[at]) : "the end";
}

function skipOws(value: string, at: number): number {
  while (at < value.length && (value.charCodeAt(at) === 32 || value.charCodeAt(at) === 9)) at++;
  return at;
}

/** The end of the token at `at`; throws when there is none. */
function tokenEnd(value: string, at: number, what: string): number {
  let end = at;
  while (end < value.length && isToken(value[end]!)) end++;
  if (end === at) throw new MediaTypeError(`expected a ${what} (a token) at ${at}, found ${found(value, at)}`);
  return end;
}

/** The end of the quoted-string opening at `at` (after its closing quote), or -1. */
function quotedEnd(value: string, at: number): number {
  for (let i = at + 1; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 92) i++;
    else if (c === 34) return i + 1;
  }
  return -1;
}

/**
 * Parses a media type (a `Content-Type` value). Parameter names are case-insensitive and must
 * not repeat: two `boundary` parameters would let two parsers read two different bodies.
 * Throws a `MediaTypeError` for anything off the grammar.
 *
 * @example
 * const t = parseMediaType('multipart/form-data; boundary="a b"');
 * t.essence; // "multipart/form-data"
 * t.parameters.get("boundary"); // "a b"
 */
export function parseMediaType(value: string): MediaType {
  let at = skipOws(value, 0);
  let end = tokenEnd(value, at, "type");
  const type = value.slice(at, end).toLowerCase();
  if (value.charCodeAt(end) !== 0x2f) throw new MediaTypeError(`expected "/" after the type at ${end}, found ${found(value, end)}`);
  at = end + 1;
  end = tokenEnd(value, at, "subtype");
  const subtype = value.slice(at, end).toLowerCase();
  at = end;
  const parameters = new Map<string, string>();
  for (;;) {
    at = skipOws(value, at);
    if (at >= value.length) break;
    if (value.charCodeAt(at) !== 0x3b) throw new MediaTypeError(`expected ";" at ${at}, found ${found(value, at)}`);
    at = skipOws(value, at + 1);
    // RFC 9110 allows empty parameters: "text/plain;;charset=utf-8", a trailing ";".
    if (at >= value.length || value.charCodeAt(at) === 0x3b) continue;
    end = tokenEnd(value, at, "parameter name");
    const name = value.slice(at, end).toLowerCase();
    if (value.charCodeAt(end) !== 0x3d) throw new MediaTypeError(`expected "=" after the parameter ${name} at ${end}, found ${found(value, end)}`);
    at = end + 1;
    let parameter: string | null;
    if (value.charCodeAt(at) === 0x22) {
      end = quotedEnd(value, at);
      parameter = end === -1 ? null : unquoteString(value.slice(at, end));
      if (parameter === null) throw new MediaTypeError(`the value of ${name} at ${at} is not a well-formed quoted-string`);
    } else {
      end = tokenEnd(value, at, `value of the parameter ${name}`);
      parameter = value.slice(at, end);
    }
    at = end;
    if (parameters.has(name)) throw new MediaTypeError(`the parameter ${name} is repeated`);
    parameters.set(name, parameter);
  }
  return { type, subtype, essence: `${type}/${subtype}`, parameters };
}

/**
 * Writes a media type back: a parameter value that is not a token is quoted, with `"` and `\`
 * escaped. `parseMediaType(formatMediaType(t))` gives `t` back.
 *
 * @example formatMediaType({ type: "multipart", subtype: "form-data", parameters: new Map([["boundary", "a b"]]) });
 * // 'multipart/form-data; boundary="a b"'
 */
export function formatMediaType(mediaType: Pick<MediaType, "type" | "subtype" | "parameters">): string {
  if (!isToken(mediaType.type)) throw new MediaTypeError(`the type ${JSON.stringify(mediaType.type)} is not a token`);
  if (!isToken(mediaType.subtype)) throw new MediaTypeError(`the subtype ${JSON.stringify(mediaType.subtype)} is not a token`);
  let out = `${mediaType.type}/${mediaType.subtype}`;
  for (const [name, value] of mediaType.parameters) {
    if (!isToken(name)) throw new MediaTypeError(`the parameter name ${JSON.stringify(name)} is not a token`);
    try {
      out += `; ${name}=${isToken(value) ? value : quoteString(value)}`;
    } catch (error) {
      throw new MediaTypeError(`the value of ${name}: ${(error as Error).message}`);
    }
  }
  return out;
}

// RFC 2046 §5.1.1: 1 to 70 bchars, the last not a space.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

/**
 * Whether `boundary` is a valid multipart boundary (RFC 2046 §5.1.1): 1 to 70 characters among
 * letters, digits, `'()+_,-./:=?` and space, not ending with a space.
 *
 * @example isMultipartBoundary("----WebKitFormBoundary7MA4YWxkTrZu0gW"); // true
 */
export function isMultipartBoundary(boundary: string): boolean {
  return BOUNDARY.test(boundary);
}
