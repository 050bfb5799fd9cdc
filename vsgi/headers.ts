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

const LOWER = new Map<string, string>();

/** The lower-case form of a header name; applications use a handful, so they are remembered. */
function lower(name: string): string {
  let low = LOWER.get(name);
  if (low === undefined) {
    low = name.toLowerCase();
    if (LOWER.size < 512) LOWER.set(name, low);
  }
  return low;
}

/**
 * Case-insensitive, multi-valued headers that keep the spelling they were first given.
 * `Set-Cookie` stays a list: read it with `getAll`.
 *
 * Stored as one flat list of (lower-case name, name, value) triples, values of one name kept
 * together: responses carry a handful of headers, and a scan of a short array costs less than
 * a map of entry objects, on the path every response takes.
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
  private list: string[] = [];
  /** When false, values come from a trusted decoder and are not checked again. */
  private readonly validate: boolean;

  constructor(init?: Iterable<readonly [string, string]> | null, validate = true) {
    this.validate = validate;
    if (init) for (const [name, value] of init) this.append(name, value);
  }

  private indexOf(low: string): number {
    const list = this.list;
    for (let i = 0; i < list.length; i += 3) if (list[i] === low) return i;
    return -1;
  }

  get(name: string): string | null {
    const low = lower(name);
    const list = this.list;
    let i = this.indexOf(low);
    if (i === -1) return null;
    let value = list[i + 2]!;
    for (i += 3; i < list.length && list[i] === low; i += 3) value += (low === "cookie" ? "; " : ", ") + list[i + 2]!;
    return value;
  }

  getAll(name: string): string[] {
    const low = lower(name);
    const list = this.list;
    const values: string[] = [];
    for (let i = this.indexOf(low); i !== -1 && i < list.length && list[i] === low; i += 3) values.push(list[i + 2]!);
    return values;
  }

  has(name: string): boolean {
    return this.indexOf(lower(name)) !== -1;
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
    this.put(name, text);
    return this;
  }

  /**
   * @internal `set` without the checks, for values the framework computed itself (a length, a
   * type it already checked plus a parameter): the hot path pays for validation once.
   */
  setTrusted(name: string, value: string): void {
    this.put(name, value);
  }

  private put(name: string, text: string): void {
    const low = lower(name);
    const list = this.list;
    const i = this.indexOf(low);
    if (i === -1) {
      list.push(low, name, text);
      return;
    }
    list[i + 2] = text;
    let end = i + 3;
    while (end < list.length && list[end] === low) end += 3;
    if (end > i + 3) list.splice(i + 3, end - i - 3);
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
    const low = lower(name);
    const list = this.list;
    let i = this.indexOf(low);
    if (i === -1) {
      list.push(low, name, text);
      return this;
    }
    while (i < list.length && list[i] === low) i += 3;
    // The first spelling stays the name of every value.
    if (i === list.length) list.push(low, list[i - 2]!, text);
    else list.splice(i, 0, low, list[i - 2]!, text);
    return this;
  }

  /** Removes every value of `name`; says whether there was one. */
  delete(name: string): boolean {
    const low = lower(name);
    const list = this.list;
    const i = this.indexOf(low);
    if (i === -1) return false;
    let end = i + 3;
    while (end < list.length && list[end] === low) end += 3;
    list.splice(i, end - i);
    return true;
  }

  /** Removes every header: what an error response starts from. */
  clear(): void {
    this.list = [];
  }

  /** The number of distinct header names. */
  get size(): number {
    const list = this.list;
    let count = 0;
    for (let i = 0; i < list.length; i += 3) if (i === 0 || list[i] !== list[i - 3]) count++;
    return count;
  }

  /** Each value on its own, as `[name, value]`, names in their first spelling. */
  *[Symbol.iterator](): IterableIterator<[string, string]> {
    const list = this.list;
    for (let i = 0; i < list.length; i += 3) yield [list[i + 1]!, list[i + 2]!];
  }

  /** Each name once, with its values joined as `get` joins them. */
  *entries(): IterableIterator<[string, string]> {
    const list = this.list;
    for (let i = 0; i < list.length; i += 3) {
      if (i > 0 && list[i] === list[i - 3]) continue;
      yield [list[i + 1]!, this.get(list[i]!)!];
    }
  }

  /** Calls `fn` once per value, in order: what serializers use, without an iterator. */
  forEachValue(fn: (name: string, value: string) => void): void {
    const list = this.list;
    for (let i = 0; i < list.length; i += 3) fn(list[i + 1]!, list[i + 2]!);
  }

  /**
   * @internal `[name, value, name, value, ...]`: the form node:http's `writeHead` takes, built
   * without a callback per header.
   */
  flatten(): string[] {
    const list = this.list;
    const out = new Array<string>((list.length / 3) * 2);
    for (let i = 0, j = 0; i < list.length; i += 3, j += 2) {
      out[j] = list[i + 1]!;
      out[j + 1] = list[i + 2]!;
    }
    return out;
  }

  /**
   * @internal `Name: value\r\n` per value, skipping the lower-case names in `skip`: a CGI head
   * built without a callback per header or lower-casing names again.
   */
  serialize(skip: ReadonlySet<string>): string {
    const list = this.list;
    let out = "";
    for (let i = 0; i < list.length; i += 3) {
      if (!skip.has(list[i]!)) out += list[i + 1]! + ": " + list[i + 2]! + "\r\n";
    }
    return out;
  }

  /** @internal `has` for a name the caller already gives in lower case. */
  hasLower(low: string): boolean {
    return this.indexOf(low) !== -1;
  }

  /** @internal `get` of the first value, for a name the caller already gives in lower case. */
  firstLower(low: string): string | null {
    const i = this.indexOf(low);
    return i === -1 ? null : this.list[i + 2]!;
  }
}
