/**
 * The Content-Encoding header (RFC 9110 8.4): the codings applied to a representation, in the
 * order they were applied. Pure functions on strings.
 */
import { isToken, splitList } from "./tokens.js";

/** The names RFC 9110 8.4.1 declares equivalent to a registered coding. */
const ALIASES: Readonly<Record<string, string>> = { "x-gzip": "gzip", "x-compress": "compress" };

function normalize(coding: string): string {
  const low = coding.toLowerCase();
  return Object.hasOwn(ALIASES, low) ? ALIASES[low]! : low;
}

/**
 * The codings of a Content-Encoding value, lower-cased, in the order they were applied (undo
 * them from the last); `x-gzip` and `x-compress` read as `gzip` and `compress`; `identity`
 * (no coding) and empty list elements are left out. `null` when an element is not a token, so
 * the caller can answer 400.
 *
 * @example
 * parseContentCoding("deflate, GZIP"); // ["deflate", "gzip"]: undo gzip first
 * parseContentCoding("identity"); // []
 * parseContentCoding("gzip;q=1"); // null
 */
export function parseContentCoding(value: string): string[] | null {
  // The common case, one coding, without building a list.
  if (isToken(value)) {
    const low = normalize(value);
    return low === "identity" ? [] : [low];
  }
  const items = splitList(value);
  if (items === null) return null;
  const codings: string[] = [];
  for (const item of items) {
    if (!isToken(item)) return null;
    const low = normalize(item);
    if (low !== "identity") codings.push(low);
  }
  return codings;
}

/**
 * A Content-Encoding value for codings in the order they were applied (`parseContentCoding`'s
 * inverse); throws for a name that is not a token.
 *
 * @example serializeContentCoding(["deflate", "gzip"]); // "deflate, gzip"
 */
export function serializeContentCoding(codings: readonly string[]): string {
  for (const coding of codings) {
    if (!isToken(coding)) throw new RangeError(`${JSON.stringify(coding)} is no content coding`);
  }
  return codings.join(", ");
}
