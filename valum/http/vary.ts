/**
 * The Vary header (RFC 9110 12.5.5): adding the request headers an answer depends on to what
 * is already there, once each, and never after a `*`.
 */
import { isToken, splitList } from "./tokens.js";

/**
 * The field names of a Vary value, as written; `["*"]` when the value holds a `*`.
 *
 * @example parseVary("Accept, origin"); // ["Accept", "origin"]
 */
export function parseVary(value: string | null): string[] {
  if (value === null) return [];
  const names = (splitList(value) ?? []).filter((name) => name === "*" || isToken(name));
  return names.includes("*") ? ["*"] : names;
}

/**
 * `current` (a Vary value or `null`) with `names` added: each name once whatever its case, the
 * existing ones first, and `*` absorbing everything (it already says the answer depends on
 * anything).
 *
 * @example
 * mergeVary("Accept-Encoding", ["Origin"]); // "Accept-Encoding, Origin"
 * mergeVary("accept, origin", ["Origin"]); // "accept, origin"
 * mergeVary("*", ["Origin"]); // "*"
 */
export function mergeVary(current: string | null, names: readonly string[]): string {
  if (current === null && names.length === 1) {
    // the usual case, a first Vary: nothing to merge with
    const name = names[0]!;
    if (name === "*" || isToken(name)) return name;
  }
  const have = parseVary(current);
  if (have.includes("*")) return "*";
  const seen = new Set(have.map((name) => name.toLowerCase()));
  for (const name of names) {
    if (name === "*") return "*";
    if (!isToken(name)) throw new RangeError(`${JSON.stringify(name)} is no header name`);
    const low = name.toLowerCase();
    if (seen.has(low)) continue;
    seen.add(low);
    have.push(name);
  }
  return have.join(", ");
}
