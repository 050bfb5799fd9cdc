/**
 * Media types (RFC 9110 §8.3.1): `type "/" subtype *( OWS ";" OWS [ name "=" value ] )`, the
 * value a token or a quoted-string. Pure functions: what the `Content-Type` of a request says,
 * for the middlewares that read bodies (`multipart`), and the boundary rule of RFC 2046.
 */

import { isToken, quote, Scanner } from "./authorization.js";

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

function fail(s: Scanner, what: string): never {
  const found = s.done ? "the end" : JSON.stringify(s.text[s.i]);
  throw new MediaTypeError(`expected ${what} at ${s.i}, found ${found}`);
}

function token(s: Scanner, what: string): string {
  const value = s.token();
  if (value === "") fail(s, `a ${what} (a token)`);
  return value;
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
  const s = new Scanner(value);
  s.ows();
  const type = token(s, "type").toLowerCase();
  if (s.peek() !== 0x2f) fail(s, '"/" after the type');
  s.i++;
  const subtype = token(s, "subtype").toLowerCase();
  const parameters = new Map<string, string>();
  for (;;) {
    s.ows();
    if (s.done) break;
    if (s.peek() !== 0x3b) fail(s, '";"');
    s.i++;
    s.ows();
    // RFC 9110 allows empty parameters: "text/plain;;charset=utf-8", a trailing ";".
    if (s.done || s.peek() === 0x3b) continue;
    const name = token(s, "parameter name").toLowerCase();
    if (s.peek() !== 0x3d) fail(s, `"=" after the parameter ${name}`);
    s.i++;
    let parameter: string;
    if (s.peek() === 0x22) {
      try {
        parameter = s.quoted();
      } catch (error) {
        throw new MediaTypeError(`the value of ${name}: ${(error as Error).message}`);
      }
    } else {
      parameter = token(s, `value of the parameter ${name}`);
    }
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
      out += `; ${name}=${isToken(value) ? value : quote(value)}`;
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
