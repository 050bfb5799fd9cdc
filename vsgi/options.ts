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
