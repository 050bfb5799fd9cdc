import { VsgiError, ERR_INVALID_HEADER } from "./errors.js";

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FRAMING = /[\r\n\0]/;
const CHECKED_NAMES = new Set<string>();

/** Throws unless `name` is an RFC 9110 token: anything else could split or smuggle a message. */
export function assertHeaderName(name: string): void {
  if (CHECKED_NAMES.has(name)) return;
  if (TOKEN.test(name)) {
    // Applications use a handful of names: remember them instead of testing each time.
    if (CHECKED_NAMES.size < 512) CHECKED_NAMES.add(name);
  } else {
    throw new VsgiError(ERR_INVALID_HEADER, `invalid header name ${JSON.stringify(name)}`);
  }
}

/** Throws if `value` holds CR, LF or NUL, the bytes that end a header line on every protocol. */
export function assertHeaderValue(name: string, value: string): void {
  if (FRAMING.test(value)) {
    throw new VsgiError(ERR_INVALID_HEADER, `invalid value for header ${name}: CR, LF and NUL are not allowed`);
  }
}

/** What a reader of headers needs: case-insensitive, multi-valued. */
export interface ReadonlyHeaders extends Iterable<[string, string]> {
  /** The value, several values joined with `, ` (`; ` for Cookie), or `null` when absent. */
  get(name: string): string | null;
  /** Every value of the header, in order; `[]` when absent. */
  getAll(name: string): string[];
  has(name: string): boolean;
}

interface Entry {
  name: string;
  value: string | string[];
}

function joined(lower: string, value: string | string[]): string {
  return typeof value === "string" ? value : value.join(lower === "cookie" ? "; " : ", ");
}

/**
 * Case-insensitive, multi-valued headers that keep the spelling they were first given.
 * `Set-Cookie` stays a list: read it with `getAll`.
 *
 * @example
 * const h = new Headers();
 * h.set("Content-Type", "text/plain");
 * h.append("Set-Cookie", "a=1");
 * h.append("Set-Cookie", "b=2");
 * h.get("content-type"); // "text/plain"
 * h.getAll("set-cookie"); // ["a=1", "b=2"]
 */
export class Headers implements ReadonlyHeaders {
  private readonly map = new Map<string, Entry>();
  /** When false, values come from a trusted decoder and are not checked again. */
  private readonly validate: boolean;

  constructor(init?: Iterable<readonly [string, string]> | null, validate = true) {
    this.validate = validate;
    if (init) for (const [name, value] of init) this.append(name, value);
  }

  get(name: string): string | null {
    const lower = name.toLowerCase();
    const entry = this.map.get(lower);
    return entry === undefined ? null : joined(lower, entry.value);
  }

  getAll(name: string): string[] {
    const entry = this.map.get(name.toLowerCase());
    if (entry === undefined) return [];
    return typeof entry.value === "string" ? [entry.value] : entry.value.slice();
  }

  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }

  /**
   * Replaces every value of `name`.
   *
   * @example res.headers.set("Cache-Control", "no-store");
   */
  set(name: string, value: string | number): this {
    const text = typeof value === "string" ? value : String(value);
    if (this.validate) {
      assertHeaderName(name);
      assertHeaderValue(name, text);
    }
    const lower = name.toLowerCase();
    const entry = this.map.get(lower);
    if (entry === undefined) this.map.set(lower, { name, value: text });
    else entry.value = text;
    return this;
  }

  /**
   * Adds a value, keeping the ones already there.
   *
   * @example res.headers.append("Vary", "Accept");
   */
  append(name: string, value: string | number): this {
    const text = typeof value === "string" ? value : String(value);
    if (this.validate) {
      assertHeaderName(name);
      assertHeaderValue(name, text);
    }
    const lower = name.toLowerCase();
    const entry = this.map.get(lower);
    if (entry === undefined) this.map.set(lower, { name, value: text });
    else if (typeof entry.value === "string") entry.value = [entry.value, text];
    else entry.value.push(text);
    return this;
  }

  /**
   * @internal `set` without the checks, for values the framework computed itself (a length, a
   * type it already checked plus a parameter): the hot path pays for validation once.
   */
  setTrusted(name: string, value: string): void {
    const lower = name.toLowerCase();
    const entry = this.map.get(lower);
    if (entry === undefined) this.map.set(lower, { name, value });
    else entry.value = value;
  }

  /** Removes every value of `name`; says whether there was one. */
  delete(name: string): boolean {
    return this.map.delete(name.toLowerCase());
  }

  /** The number of distinct header names. */
  get size(): number {
    return this.map.size;
  }

  /** Each value on its own, as `[name, value]`, names in their first spelling. */
  *[Symbol.iterator](): IterableIterator<[string, string]> {
    for (const entry of this.map.values()) {
      if (typeof entry.value === "string") yield [entry.name, entry.value];
      else for (const v of entry.value) yield [entry.name, v];
    }
  }

  /** Each name once, with its values joined as `get` joins them. */
  *entries(): IterableIterator<[string, string]> {
    for (const [lower, entry] of this.map) yield [entry.name, joined(lower, entry.value)];
  }

  /** Calls `fn` once per value, in order: what serializers use, without an iterator. */
  forEachValue(fn: (name: string, value: string) => void): void {
    for (const entry of this.map.values()) {
      if (typeof entry.value === "string") fn(entry.name, entry.value);
      else for (const v of entry.value) fn(entry.name, v);
    }
  }
}
