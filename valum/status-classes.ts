/**
 * The classes of thrown statuses, without their named helpers (`ClientError.notFound()`, ...),
 * which `status.ts` adds from its table: import them from there (or from the package).
 */
import { STATUS_CODES } from "node:http";

/** Extra options of a thrown status. */
export interface StatusOptions {
  /**
   * Headers to add to the response (e.g. `Retry-After`); a list is one header line per value
   * (several `WWW-Authenticate` challenges).
   */
  headers?: Record<string, string | readonly string[]>;
  /** The error that caused this status, kept for logs. */
  cause?: unknown;
}

/**
 * The header a status's message goes into, instead of the body: `Location` for 201 and 3xx
 * (except 304), `WWW-Authenticate` for 401, `Proxy-Authenticate` for 407, `Allow` for 405 and
 * `Upgrade` for 101 and 426.
 *
 * @example headerOfStatus(302); // "Location"
 */
export function headerOfStatus(code: number): string | null {
  if (code === 201 || (code >= 300 && code < 400 && code !== 304)) return "Location";
  switch (code) {
    case 401:
      return "WWW-Authenticate";
    case 407:
      return "Proxy-Authenticate";
    case 405:
      return "Allow";
    case 101:
    case 426:
      return "Upgrade";
    default:
      return null;
  }
}

/**
 * The base of every thrown status: an `Error` with an HTTP `code`. Its `message` is the body of
 * the response, or for the statuses that carry a header (see `headerOfStatus`) the value of
 * that header.
 *
 * @example throw new Status(418, "short and stout");
 */
export class Status extends Error {
  /** The HTTP status code. */
  readonly code: number;
  /** Headers added to the response, including the one the message went into. */
  readonly headers: Record<string, string | readonly string[]>;
  /** True when the message went into a header (Location, Allow, ...) rather than the body. */
  readonly messageIsHeader: boolean;

  constructor(code: number, message?: string, options?: StatusOptions) {
    if (!Number.isInteger(code) || code < 100 || code > 599) {
      throw new RangeError(`invalid HTTP status ${code}: a status is an integer from 100 to 599`);
    }
    super(message ?? STATUS_CODES[code] ?? `Status ${code}`, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    this.headers = { ...options?.headers };
    const header = message === undefined ? null : headerOfStatus(code);
    this.messageIsHeader = header !== null;
    if (header !== null) this.headers[header] = message!;
  }
}

function check(kind: string, code: number, low: number): void {
  if (!(code >= low && code < low + 100)) throw new RangeError(`${kind} takes a ${low / 100}xx status, not ${code}`);
}

/**
 * A thrown 1xx. `101` and its message become `Upgrade`.
 *
 * @example throw new Informational(101, "websocket");
 */
export class Informational extends Status {
  constructor(code: number, message?: string, options?: StatusOptions) {
    check("Informational", code, 100);
    super(code, message, options);
  }
}

/**
 * A thrown 2xx: a shortcut out of deep code. For 201 the message is the `Location`.
 *
 * @example throw new Success(201, `/users/${id}`);
 */
export class Success extends Status {
  constructor(code: number, message?: string, options?: StatusOptions) {
    check("Success", code, 200);
    super(code, message, options);
  }
}

/**
 * A thrown 3xx: the message is the `Location` (none for 304).
 *
 * @example throw new Redirection(302, "/login");
 */
export class Redirection extends Status {
  constructor(code: number, location?: string, options?: StatusOptions) {
    check("Redirection", code, 300);
    super(code, location, options);
  }
}

/**
 * A thrown 4xx: the message is the text/plain body, or the header for 401 (`WWW-Authenticate`),
 * 405 (`Allow`), 407 (`Proxy-Authenticate`) and 426 (`Upgrade`).
 *
 * @example throw new ClientError(404, `no user ${id}`);
 */
export class ClientError extends Status {
  constructor(code: number, message?: string, options?: StatusOptions) {
    check("ClientError", code, 400);
    super(code, message, options);
  }
}

/**
 * A thrown 5xx, with its message as body. (An error that is not a status also becomes a 500,
 * but one whose body reveals nothing.)
 *
 * @example throw new ServerError(503, "maintenance", { headers: { "Retry-After": "120" } });
 */
export class ServerError extends Status {
  constructor(code: number, message?: string, options?: StatusOptions) {
    check("ServerError", code, 500);
    super(code, message, options);
  }
}
