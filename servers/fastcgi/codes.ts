// FastCGI 1.0's numbers (version, header and content sizes, record types, roles, flags and
// protocol statuses, with the record types' names for log lines) and the one error malformed
// input throws. The error lives here, below both readers (records.ts and name-values.ts), so
// that neither imports the other for it. Re-exported by records.ts.
import { VsgiError, ERR_BAD_REQUEST } from "../../vsgi/errors.js";

/** The only protocol version there is. */
export const FCGI_VERSION_1 = 1;
/** Bytes in a record header. */
export const HEADER_LENGTH = 8;
/** The largest record content. */
export const MAX_CONTENT_LENGTH = 65535;

// Record types.
export const BEGIN_REQUEST = 1;
export const ABORT_REQUEST = 2;
export const END_REQUEST = 3;
export const PARAMS = 4;
export const STDIN = 5;
export const STDOUT = 6;
export const STDERR = 7;
export const DATA = 8;
export const GET_VALUES = 9;
export const GET_VALUES_RESULT = 10;
export const UNKNOWN_TYPE = 11;

// Roles (BEGIN_REQUEST), the flag, and the protocol statuses (END_REQUEST).
export const RESPONDER = 1;
export const AUTHORIZER = 2;
export const FILTER = 3;
export const KEEP_CONN = 1;
export const REQUEST_COMPLETE = 0;
export const CANT_MPX_CONN = 1;
export const OVERLOADED = 2;
export const UNKNOWN_ROLE = 3;

/** The names of the record types, for log lines. */
export const TYPE_NAMES: Readonly<Record<number, string>> = {
  1: "BEGIN_REQUEST",
  2: "ABORT_REQUEST",
  3: "END_REQUEST",
  4: "PARAMS",
  5: "STDIN",
  6: "STDOUT",
  7: "STDERR",
  8: "DATA",
  9: "GET_VALUES",
  10: "GET_VALUES_RESULT",
  11: "UNKNOWN_TYPE",
};

/**
 * Malformed FastCGI input: the connection that sent it is closed.
 *
 * @example try { parser.push(chunk); } catch (err) { if (err instanceof FastcgiProtocolError) socket.destroy(); }
 */
export class FastcgiProtocolError extends VsgiError {
  constructor(message: string) {
    super(ERR_BAD_REQUEST, message);
    this.name = "FastcgiProtocolError";
  }
}

