/**
 * The `text/event-stream` format of Server-Sent Events (HTML Living Standard, section 9.2
 * "Server-sent events"), as pure functions: an event to its text, with the fields checked so that
 * what a client parses is exactly what was sent. No sockets here: the middleware
 * (`valum/middlewares/server-sent-events.ts`) only glues this to a response.
 */

/**
 * One event. Every field is optional; a client dispatches an event only when it has `data`
 * (an empty string counts), but `id` and `retry` alone still take effect.
 *
 * @example const event: ServerSentEvent = { event: "price", id: "42", data: JSON.stringify({ eur: 3 }) };
 */
export interface ServerSentEvent {
  /** The event type (the client's `addEventListener(type)`; `message` when absent). No CR or LF. */
  event?: string;
  /** The payload, any text: split on CRLF, CR and LF into `data:` lines; the client sees LF between them. */
  data?: string;
  /** The last event ID the client sends back (`Last-Event-ID`) when it reconnects. No CR, LF or NUL. */
  id?: string;
  /** The client's reconnection delay in milliseconds: a non-negative integer. */
  retry?: number;
  /** A comment line, ignored by clients (`: text`). No CR or LF. */
  comment?: string;
}

/** A field of an event that cannot be encoded: it names the field and the rule it breaks. */
export class EventStreamError extends TypeError {
  /** The field at fault (`event`, `id`, `retry`, `comment`, `data`). */
  readonly field: string;

  constructor(field: string, message: string) {
    super(`server-sent event: ${field} ${message}`);
    this.name = "EventStreamError";
    this.field = field;
  }
}

/** The media type of the stream; it is always UTF-8 (the standard decodes it so, whatever the charset says). */
export const EVENT_STREAM_TYPE = "text/event-stream; charset=UTF-8";

/**
 * The keep-alive line: a comment, which clients ignore, and which keeps proxies and load
 * balancers from closing an idle connection. Written between events only.
 */
export const KEEP_ALIVE_COMMENT = ":\n";

const LINE_BREAK = /\r\n|\r|\n/;
const CR_OR_LF = /[\r\n]/;
const CR_LF_OR_NUL = /[\r\n\0]/;

function checkLine(field: string, value: unknown, forbidden: RegExp, what: string): string {
  if (typeof value !== "string") throw new EventStreamError(field, `must be a string, got ${typeof value}`);
  if (forbidden.test(value)) throw new EventStreamError(field, `must not contain ${what}`);
  return value;
}

/**
 * Encodes one event as stream text, ending with the blank line that makes a client dispatch
 * it. Throws an `EventStreamError` for a field a client would read differently: CR or LF in
 * `event`, `id` or `comment` (they would start a new field), NUL in `id` (the standard ignores
 * such an id), a `retry` that is not a non-negative integer.
 *
 * Each value is written after `: `, so a leading space in it survives (the client strips
 * exactly one). `data` is split on CRLF, CR and LF, one `data:` line per line: the client
 * joins them with LF.
 *
 * @example
 * encodeEvent({ event: "greeting", id: "1", data: "hello\nworld" });
 * // "event: greeting\nid: 1\ndata: hello\ndata: world\n\n"
 */
export function encodeEvent(message: ServerSentEvent): string {
  if (message === null || typeof message !== "object") throw new EventStreamError("event", `must be an object, got ${message === null ? "null" : typeof message}`);
  let out = "";
  const { comment, event, id, retry, data } = message;
  if (comment !== undefined) out += ": " + checkLine("comment", comment, CR_OR_LF, "CR or LF") + "\n";
  if (event !== undefined) out += "event: " + checkLine("event", event, CR_OR_LF, "CR or LF") + "\n";
  if (id !== undefined) out += "id: " + checkLine("id", id, CR_LF_OR_NUL, "CR, LF or NUL") + "\n";
  if (retry !== undefined) {
    if (typeof retry !== "number" || !Number.isSafeInteger(retry) || retry < 0) {
      throw new EventStreamError("retry", `must be a non-negative integer of milliseconds, got ${String(retry)}`);
    }
    out += "retry: " + String(retry) + "\n";
  }
  if (data !== undefined) {
    if (typeof data !== "string") throw new EventStreamError("data", `must be a string, got ${typeof data}`);
    // The common case, one line, without building an array.
    if (!CR_OR_LF.test(data)) out += "data: " + data + "\n";
    else for (const line of data.split(LINE_BREAK)) out += "data: " + line + "\n";
  }
  return out + "\n";
}

/**
 * The `Last-Event-ID` a reconnecting client sent, or `null` when absent or unusable (NUL, CR or
 * LF in it: an id the stream could never have sent).
 *
 * @example lastEventId(req.header("last-event-id")); // "41" or null
 */
export function lastEventId(header: string | null): string | null {
  if (header === null || CR_LF_OR_NUL.test(header)) return null;
  return header;
}
