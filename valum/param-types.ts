// Parameter types: the pattern a rule's `<type:name>` matches on the encoded path, and how the
// captured text becomes the value in the context. The built-in ones (`int`, `string`, `path`)
// and `createType` for the application's own. Apart from rule.ts, which parses and compiles rules.

/** A parameter type: the pattern a value matches (on the encoded path) and its conversion. */
export interface ParamType {
  /** The pattern, unanchored; its capturing groups (if any) are accounted for. */
  readonly pattern: RegExp;
  /** Turns the decoded text into the value put in the context. */
  readonly convert: ((value: string) => unknown) | null;
  /** Turns a value back into text for `urlFor` (`String(value)` when absent). */
  readonly format?: ((value: any) => string) | null;
  /** @internal Whether the captured text is percent-decoded before `convert`. */
  readonly decode: boolean;
  /** @internal A check on the decoded value the pattern alone cannot express. */
  readonly check: ((value: string) => boolean) | null;
  /** @internal How many capturing groups `pattern` has. */
  readonly groups: number;
}

/** The value types of the built-in parameter types, as TypeScript sees them. */
export interface BuiltinTypes {
  int: number;
  string: string;
  path: string;
}

/** Maps parameter type names to the TypeScript type of their converted value. */
export type TypeMap = object;

function countGroups(pattern: RegExp): number {
  return new RegExp(pattern.source + "|").exec("")!.length - 1;
}

/**
 * Creates a parameter type. The pattern must not be anchored; it matches percent-encoded text
 * (`%XX`), and the captured text is decoded before `convert` sees it. `format` is the inverse
 * of `convert`, for `urlFor` given a converted value (text is always accepted as is).
 *
 * @example const hex = createType(/[0-9a-f]+/, (s) => parseInt(s, 16), (n: number) => n.toString(16));
 */
export function createType<V = string>(
  pattern: RegExp,
  convert?: ((value: string) => V) | null,
  format?: ((value: V) => string) | null,
): ParamType {
  if (!(pattern instanceof RegExp)) throw new TypeError("a parameter type needs a RegExp");
  if (pattern.flags.replace(/[gyd]/g, "") !== "") {
    throw new TypeError(`a parameter type pattern cannot use the flags "${pattern.flags}": it is embedded in the rule's expression`);
  }
  return { pattern, convert: convert ?? null, format: format ?? null, decode: true, check: null, groups: countGroups(pattern) };
}

// A segment: anything but `/`, where `%2F` (an encoded slash) would smuggle a separator in.
const SEGMENT = "(?:[^/%]|%(?!2[fF])[0-9A-Fa-f]{2})+";

const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

function hasNoDotSegment(value: string): boolean {
  return value.indexOf(".") === -1 || !DOT_SEGMENT.test(value);
}

/**
 * An expression for the runs of digits whose value is at most `max` (leading zeros allowed).
 * The bound is a lookahead at the start of the run, followed by a plain `\d+`: when the rest
 * of the rule fails, the engine backtracks over the digits as it would for `\d+` alone instead
 * of trying every alternative of the bound again (a lookahead is not re-entered), so a rule with
 * an `int` costs a few nanoseconds more than with `\d+`, and a run of digits too large does not
 * match at all, not even a part of it.
 *
 * @example new RegExp(`^(?:${digitsUpTo("250").source})$`).test("0249"); // true, "251" false
 */
function digitsUpTo(max: string): RegExp {
  const alternatives = [`\\d{1,${max.length - 1}}`];
  for (let i = 0; i < max.length; i++) {
    const digit = max.charCodeAt(i) - 48;
    const low = i === 0 ? 1 : 0;
    if (digit <= low) continue;
    const range = digit - 1 === low ? String(low) : `[${low}-${digit - 1}]`;
    alternatives.push(max.slice(0, i) + range + (i + 1 < max.length ? `\\d{${max.length - i - 1}}` : ""));
  }
  alternatives.push(max);
  return new RegExp(`(?=${alternatives[0]}(?!\\d)|0*(?:${alternatives.join("|")})(?!\\d))\\d+`);
}

/** The built-in types: `int`, `string` and `path`. */
export const builtinTypes: Readonly<Record<keyof BuiltinTypes, ParamType>> = Object.freeze({
  /**
   * Digits, converted to a number; only those that fit a safe integer match, so that the value
   * is the number written and `urlFor` gives the same path back (register a `bigint` type for
   * larger identifiers).
   */
  int: { pattern: digitsUpTo(String(Number.MAX_SAFE_INTEGER)), convert: Number, decode: false, check: null, groups: 0 },
  /**
   * Word characters: ASCII letters, digits, `_`, and any non-ASCII character (percent-encoded
   * UTF-8 on the wire).
   */
  string: { pattern: /(?:\w|%[89A-Fa-f][0-9A-Fa-f])+/, convert: null, decode: true, check: null, groups: 0 },
  /** Non-empty segments separated by `/`, none of them `.` or `..` (even encoded). */
  path: {
    pattern: new RegExp(`${SEGMENT}(?:/${SEGMENT})*`),
    convert: null,
    decode: true,
    check: hasNoDotSegment,
    groups: 0,
  },
});
