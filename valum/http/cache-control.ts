/**
 * The Cache-Control header (RFC 9111 5.2, RFC 8246 `immutable`, RFC 5861 `stale-*`): directives
 * as a typed object, checked, serialised and parsed. Pure functions on strings.
 */
import { isToken, quoteString, splitList, unquoteString } from "./tokens.js";

/** A directive this module has no field for: its name and, if any, its argument. */
export type CacheExtension = readonly [name: string, value?: string];

/**
 * Cache-Control directives. Seconds are non-negative integers (RFC 9111 1.2.2, sent as at most
 * 2147483648); `noCache` and `private` take `true` or a list of header names they apply to.
 *
 * @example const d: CacheDirectives = { public: true, maxAge: 3600, staleWhileRevalidate: 60 };
 */
export interface CacheDirectives {
  /** `max-age`: fresh for that many seconds. */
  maxAge?: number;
  /** `s-maxage`: `max-age` for shared caches. */
  sMaxage?: number;
  /** `no-cache`: revalidate before each use (or only for the header names listed). */
  noCache?: boolean | readonly string[];
  /** `no-store`: never store. */
  noStore?: boolean;
  /** `no-transform`: intermediaries must not change the content. */
  noTransform?: boolean;
  /** `must-revalidate`: never serve stale. */
  mustRevalidate?: boolean;
  /** `proxy-revalidate`: `must-revalidate` for shared caches. */
  proxyRevalidate?: boolean;
  /** `must-understand`: store only if the status code is understood. */
  mustUnderstand?: boolean;
  /** `private`: for the user's own cache only (or only the header names listed). */
  private?: boolean | readonly string[];
  /** `public`: any cache may store, even an authenticated answer. */
  public?: boolean;
  /** `immutable` (RFC 8246): never changes while fresh, do not revalidate on reload. */
  immutable?: boolean;
  /** `stale-while-revalidate` (RFC 5861): serve stale that long while revalidating. */
  staleWhileRevalidate?: number;
  /** `stale-if-error` (RFC 5861): serve stale that long when the origin fails. */
  staleIfError?: number;
  /** `max-stale` (request): accept stale, for any time (`true`) or that many seconds. */
  maxStale?: boolean | number;
  /** `min-fresh` (request): fresh for at least that many more seconds. */
  minFresh?: number;
  /** `only-if-cached` (request): answer from a cache or with 504. */
  onlyIfCached?: boolean;
  /** Directives without a field here, e.g. `[["community", "UCI"]]`. */
  extensions?: readonly CacheExtension[];
}

type Kind = "flag" | "seconds" | "fields" | "stale";

/** Field, wire name, argument kind; the order is the order of the serialised header. */
const TABLE: readonly (readonly [keyof CacheDirectives, string, Kind])[] = [
  ["public", "public", "flag"],
  ["private", "private", "fields"],
  ["noCache", "no-cache", "fields"],
  ["noStore", "no-store", "flag"],
  ["maxAge", "max-age", "seconds"],
  ["sMaxage", "s-maxage", "seconds"],
  ["mustRevalidate", "must-revalidate", "flag"],
  ["proxyRevalidate", "proxy-revalidate", "flag"],
  ["mustUnderstand", "must-understand", "flag"],
  ["noTransform", "no-transform", "flag"],
  ["immutable", "immutable", "flag"],
  ["staleWhileRevalidate", "stale-while-revalidate", "seconds"],
  ["staleIfError", "stale-if-error", "seconds"],
  ["maxStale", "max-stale", "stale"],
  ["minFresh", "min-fresh", "seconds"],
  ["onlyIfCached", "only-if-cached", "flag"],
];

const BY_WIRE = new Map(TABLE.map((entry) => [entry[1], entry] as const));
const KNOWN = new Set<string>(TABLE.map((entry) => entry[0]));

/** The directives only a request carries (RFC 9111 5.2.1). */
export const REQUEST_ONLY_DIRECTIVES: ReadonlySet<keyof CacheDirectives> = new Set(["maxStale", "minFresh", "onlyIfCached"]);

/** RFC 9111 1.2.2: larger delta-seconds are sent as 2^31. */
const MAX_SECONDS = 2147483648;

/** What is wrong with a directive: the field, what it must be, what it is. */
export interface CacheDirectiveProblem {
  field: string;
  wanted: string;
  got: unknown;
}

function isSeconds(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isFieldList(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.length > 0 && value.every((name) => typeof name === "string" && isToken(name));
}

/**
 * The first problem of `directives` (an unknown field, a wrong value, `public` with
 * `private`), or `null` when they can be serialised.
 *
 * @example checkCacheDirectives({ maxAge: -1 }); // { field: "maxAge", wanted: "...", got: -1 }
 */
export function checkCacheDirectives(directives: CacheDirectives): CacheDirectiveProblem | null {
  if (directives === null || typeof directives !== "object" || Array.isArray(directives)) {
    return { field: "directives", wanted: "an object of directives", got: directives };
  }
  for (const field of Object.keys(directives)) {
    if (field !== "extensions" && !KNOWN.has(field)) {
      const camel = field.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      const hint = KNOWN.has(camel) ? ` (write ${camel})` : "";
      return { field, wanted: `a known directive${hint}; put others in extensions`, got: (directives as Record<string, unknown>)[field] };
    }
  }
  for (const [field, , kind] of TABLE) {
    const value = directives[field] as unknown;
    if (value === undefined) continue;
    switch (kind) {
      case "flag":
        if (typeof value !== "boolean") return { field, wanted: "a boolean", got: value };
        break;
      case "seconds":
        if (!isSeconds(value)) return { field, wanted: "a whole number of seconds, 0 or more", got: value };
        break;
      case "fields":
        if (typeof value !== "boolean" && !isFieldList(value)) return { field, wanted: "a boolean or a non-empty list of header names", got: value };
        break;
      case "stale":
        if (typeof value !== "boolean" && !isSeconds(value)) return { field, wanted: "a boolean or a whole number of seconds", got: value };
        break;
    }
  }
  if (directives.public === true && (directives.private === true || Array.isArray(directives.private))) {
    return { field: "public", wanted: "left out when private is set (they contradict each other)", got: true };
  }
  const extensions = directives.extensions;
  if (extensions !== undefined) {
    if (!Array.isArray(extensions)) return { field: "extensions", wanted: "a list of [name, value?]", got: extensions };
    for (const extension of extensions as readonly unknown[]) {
      const [name, value] = Array.isArray(extension) ? (extension as unknown[]) : [undefined];
      if (typeof name !== "string" || !isToken(name)) return { field: "extensions", wanted: "[name, value?] with a token as name", got: extension };
      if (BY_WIRE.has(name.toLowerCase())) return { field: "extensions", wanted: `no ${name} (it has its own field)`, got: extension };
      if (value !== undefined && (typeof value !== "string" || /[^\t\x20-\x7e\x80-\xff]/.test(value))) {
        return { field: "extensions", wanted: "[name, value?] with printable text as value", got: extension };
      }
    }
  }
  return null;
}

function argument(value: string): string {
  return isToken(value) ? value : quoteString(value);
}

/**
 * The Cache-Control value for `directives`; throws a `RangeError` naming the problem (see
 * `checkCacheDirectives`).
 *
 * @example serializeCacheControl({ public: true, maxAge: 3600, immutable: true }); // "public, max-age=3600, immutable"
 */
export function serializeCacheControl(directives: CacheDirectives): string {
  const problem = checkCacheDirectives(directives);
  if (problem !== null) throw new RangeError(`Cache-Control: ${problem.field} must be ${problem.wanted}`);
  const parts: string[] = [];
  for (const [field, wire, kind] of TABLE) {
    const value = directives[field] as boolean | number | readonly string[] | undefined;
    if (value === undefined || value === false) continue;
    if (value === true) parts.push(wire);
    else if (kind === "fields") parts.push(`${wire}=${quoteString((value as readonly string[]).join(", "))}`);
    else parts.push(`${wire}=${Math.min(value as number, MAX_SECONDS)}`);
  }
  for (const [name, value] of directives.extensions ?? []) parts.push(value === undefined ? name : `${name}=${argument(value)}`);
  return parts.join(", ");
}

function parseSeconds(text: string): number | null {
  if (!/^\d+$/.test(text)) return null;
  return Math.min(Number(text), MAX_SECONDS);
}

/**
 * The directives of a Cache-Control value (request or response); names are case-insensitive,
 * arguments tokens or quoted-strings, the first of a repeated directive wins (RFC 9111 4.2.1).
 * `null` when the value is malformed (a bad name, an unterminated quote, a known directive with
 * a wrong argument).
 *
 * @example parseCacheControl('max-age=60, private="Set-Cookie"'); // { maxAge: 60, private: ["Set-Cookie"] }
 */
export function parseCacheControl(value: string): CacheDirectives | null {
  const items = splitList(value);
  if (items === null) return null;
  const out: Record<string, unknown> = {};
  const extensions: CacheExtension[] = [];
  for (const item of items) {
    const eq = item.indexOf("=");
    const name = (eq === -1 ? item : item.slice(0, eq)).trimEnd().toLowerCase();
    if (!isToken(name)) return null;
    let arg: string | undefined;
    if (eq !== -1) {
      const raw = item.slice(eq + 1).trimStart();
      const text = raw.charCodeAt(0) === 34 ? unquoteString(raw) : isToken(raw) ? raw : null;
      if (text === null) return null;
      arg = text;
    }
    const entry = BY_WIRE.get(name);
    if (entry === undefined) {
      if (!extensions.some(([known]) => known === name)) extensions.push(arg === undefined ? [name] : [name, arg]);
      continue;
    }
    const [field, , kind] = entry;
    let parsed: unknown;
    switch (kind) {
      case "flag":
        if (arg !== undefined) return null;
        parsed = true;
        break;
      case "seconds":
        parsed = arg === undefined ? null : parseSeconds(arg);
        break;
      case "fields":
        if (arg === undefined) {
          parsed = true;
        } else {
          const names = splitList(arg);
          parsed = names !== null && names.length > 0 && names.every(isToken) ? names : null;
        }
        break;
      case "stale":
        parsed = arg === undefined ? true : parseSeconds(arg);
        break;
    }
    if (parsed === null) return null;
    if (!(field in out)) out[field] = parsed;
  }
  if (extensions.length > 0) out.extensions = extensions;
  return out as CacheDirectives;
}
