/**
 * HTTP methods as bit flags, so that one route can serve several: `Method.GET | Method.POST`.
 *
 * `GET` covers `HEAD` as well (a HEAD request is a GET without a body); `ONLY_GET` does not.
 */
export const Method = {
  /** OPTIONS. */
  OPTIONS: 1 << 0,
  /** GET alone, without HEAD. */
  ONLY_GET: 1 << 1,
  /** HEAD. */
  HEAD: 1 << 2,
  /** PUT. */
  PUT: 1 << 3,
  /** POST. */
  POST: 1 << 4,
  /** DELETE. */
  DELETE: 1 << 5,
  /** TRACE. */
  TRACE: 1 << 6,
  /** CONNECT. */
  CONNECT: 1 << 7,
  /** PATCH (RFC 5789). */
  PATCH: 1 << 8,
  /** Any method that is not one of the standard ones above (e.g. `PROPFIND`, `PURGE`). */
  OTHER: 1 << 9,
  /** GET and HEAD. */
  GET: (1 << 1) | (1 << 2),
  /** Every standard method. */
  ALL: (1 << 9) - 1,
  /** Every method, standard or not. */
  ANY: (1 << 10) - 1,
  /** The safe methods (RFC 9110 9.2.1): GET, HEAD, OPTIONS, TRACE. */
  SAFE: (1 << 0) | (1 << 1) | (1 << 2) | (1 << 6),
  /** The idempotent methods (RFC 9110 9.2.2): the safe ones, PUT and DELETE. */
  IDEMPOTENT: (1 << 0) | (1 << 1) | (1 << 2) | (1 << 6) | (1 << 3) | (1 << 5),
  /** The methods whose responses are cacheable (RFC 9110 9.2.3): GET, HEAD, POST. */
  CACHEABLE: (1 << 1) | (1 << 2) | (1 << 4),
} as const;

/** A set of methods: any combination of `Method` flags. */
export type Method = number;

/**
 * The flag of one request method, as sent (methods are case-sensitive: `get` is not `GET`);
 * `Method.OTHER` for any non-standard method.
 *
 * @example methodFromString("PATCH") === Method.PATCH; methodFromString("PURGE") === Method.OTHER;
 */
export function methodFromString(method: string): number {
  // a switch on constant strings beats a table lookup on the hot path
  switch (method) {
    case "GET":
      return Method.ONLY_GET;
    case "POST":
      return Method.POST;
    case "HEAD":
      return Method.HEAD;
    case "PUT":
      return Method.PUT;
    case "DELETE":
      return Method.DELETE;
    case "OPTIONS":
      return Method.OPTIONS;
    case "PATCH":
      return Method.PATCH;
    case "TRACE":
      return Method.TRACE;
    case "CONNECT":
      return Method.CONNECT;
    default:
      return Method.OTHER;
  }
}

/** The standard methods in the order `Allow` lists them. */
const ORDER: readonly (readonly [string, number])[] = [
  ["GET", Method.ONLY_GET],
  ["HEAD", Method.HEAD],
  ["POST", Method.POST],
  ["PUT", Method.PUT],
  ["DELETE", Method.DELETE],
  ["CONNECT", Method.CONNECT],
  ["OPTIONS", Method.OPTIONS],
  ["TRACE", Method.TRACE],
  ["PATCH", Method.PATCH],
];

/**
 * The names of the standard methods in a set, in a stable order (`OTHER` has no name and is
 * left out).
 *
 * @example methodsToStrings(Method.GET | Method.POST); // ["GET", "HEAD", "POST"]
 */
export function methodsToStrings(methods: number): string[] {
  const names: string[] = [];
  for (const [name, bit] of ORDER) if ((methods & bit) !== 0) names.push(name);
  return names;
}

/**
 * Parses a set of method names into flags; the inverse of `methodsToStrings`. Each name is one
 * method (`GET` is `ONLY_GET` here, add `HEAD` to get both).
 *
 * @example methodsFromStrings(["GET", "HEAD"]) === Method.GET;
 */
export function methodsFromStrings(names: Iterable<string>): number {
  let methods = 0;
  for (const name of names) methods |= methodFromString(name);
  return methods;
}
