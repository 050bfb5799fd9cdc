import { VsgiError, ERR_INVALID_OPTION } from "./errors.js";

/**
 * Reads an integer option of a backend: `fallback` when absent, a `VsgiError` naming the option
 * when it is no integer in `[min, max]`.
 *
 * @example this.maxHeaderSize = integerOption(options.maxHeaderSize, "maxHeaderSize", 65536);
 */
export function integerOption(value: unknown, name: string, fallback: number, min = 1, max = Infinity): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const wanted =
      max !== Infinity ? `an integer from ${min} to ${max}` : min === 1 ? "a positive integer" : min === 0 ? "a non-negative integer" : `an integer of at least ${min}`;
    throw new VsgiError(ERR_INVALID_OPTION, `option ${name} must be ${wanted}, got ${JSON.stringify(value) ?? String(value)}`);
  }
  return value;
}

/**
 * Every option name of a backend's options type, each `true`: the compiler checks that the list
 * is complete and holds no stray name, so a backend declares its names once, beside the type.
 */
export type OptionNames<Options> = { readonly [K in keyof Required<Options>]: true };

/**
 * The option names a backend takes, for its static `optionNames` (checked by `Server`'s
 * constructor, see `checkOptionNames`).
 *
 * @example static override readonly optionNames = optionNames<ScgiServerOptions>({ ...SOCKET_SERVER_OPTIONS, readTimeout: true });
 */
export function optionNames<Options>(names: OptionNames<Options>): readonly string[] {
  return Object.freeze(Object.keys(names));
}

/**
 * Throws a `VsgiError` naming the first option of `options` that is not in `known`, with the
 * closest known name when one is close (a misspelling, a wrong case).
 *
 * @example checkOptionNames({ handler, scriptname: "/app" }, ["handler", "scriptName"]);
 * // VsgiError: unknown option scriptname (did you mean scriptName?)
 */
export function checkOptionNames(options: object, known: readonly string[]): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const close = closestName(name, known);
    const hint = close !== null ? ` (did you mean ${close}?)` : `; known options: ${known.join(", ")}`;
    throw new VsgiError(ERR_INVALID_OPTION, `unknown option ${name}${hint}`);
  }
}

/** The known name nearest to `name` (case-insensitive edit distance), if near enough to be meant. */
export function closestName(name: string, known: readonly string[]): string | null {
  const low = name.toLowerCase();
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(low, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

// Levenshtein distance with adjacent transpositions (optimal string alignment): `maxHeadreSize`
// is one edit from `maxHeaderSize`.
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = new Array<number>(b.length + 1);
    row[0] = i;
    rows.push(row);
  }
  for (let j = 0; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
