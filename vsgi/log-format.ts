// The access log's line formats, as pure functions: an entry in, one line out (with its "\n"),
// written into a `LogBuffer` (what the log does) or returned as a string. No clock, no I/O: the
// time is in the entry, so that a test can pin every byte of a line.
import { LogBuffer } from "./log-buffer.js";

export { escapeLogText } from "./log-buffer.js";

/** The access log's formats: Apache's Combined Log Format with the duration appended, or JSON lines. */
export type LogFormat = "clf" | "json";

/** One request, as the access log writes it. */
export interface AccessEntry {
  /** The client's address as the backend knows it (the socket peer, or REMOTE_ADDR behind a gateway). */
  remoteAddress: string | null;
  /** The authenticated user (REMOTE_USER, or the user name of Basic credentials), else `null`. */
  user: string | null;
  /** When the request reached the application, in milliseconds since the epoch. */
  time: number;
  method: string;
  /** The request-target as received (`/a?b`). */
  target: string;
  /** `HTTP/1.1`, ... */
  protocol: string;
  /** The status sent; 499 when the client went away before a head was sent (nginx's convention). */
  status: number;
  /** Body bytes handed to the connection (after `convert`: the compressed ones), head excluded. */
  bytes: number;
  referer: string | null;
  userAgent: string | null;
  /** From the request reaching the application to its last byte handed to the connection, in microseconds. */
  duration: number;
  /** `VSGI_WORKER` of the process that served it, 0 when it serves alone. */
  worker: number;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function two(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** `10/Oct/2000:13:55:36 -0700`: Apache's `%t` (brackets excluded), in the local time zone. */
function clfTime(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const abs = Math.abs(offset);
  return (
    two(date.getDate()) + "/" + MONTHS[date.getMonth()] + "/" + date.getFullYear() + ":" +
    two(date.getHours()) + ":" + two(date.getMinutes()) + ":" + two(date.getSeconds()) + " " +
    (offset < 0 ? "-" : "+") + two(Math.floor(abs / 60)) + two(abs % 60)
  );
}

// The formatted second, kept as bytes: a busy server writes thousands of lines within the same
// one. Bytes, not the string: a string built by `+` is a rope, which each character read walks.
let clfSecond = NaN;
let clfBytes: Uint8Array = new Uint8Array(0);
let isoSecond = NaN;
let isoBytes: Uint8Array = new Uint8Array(0);

/** ` [10/Oct/2000:13:55:36 -0700] "`: the time with the separators around it. */
function clfStamp(ms: number): Uint8Array {
  const second = Math.floor(ms / 1000);
  if (second !== clfSecond) {
    clfBytes = Buffer.from(" [" + clfTime(new Date(second * 1000)) + '] "', "latin1");
    clfSecond = second;
  }
  return clfBytes;
}

/** `{"time":"2000-10-10T20:55:36.`: the start of a JSON line, to the second (ISO 8601, UTC). */
function isoStamp(second: number): Uint8Array {
  if (second !== isoSecond) {
    isoBytes = Buffer.from('{"time":"' + new Date(second * 1000).toISOString().slice(0, 20), "latin1");
    isoSecond = second;
  }
  return isoBytes;
}

// `" 200 `: the end of the request line, the status and the space after it, made once per status.
const STATUS_TEXT: string[] = [];

function statusText(status: number): string {
  if (status >= 100 && status <= 999) return (STATUS_TEXT[status] ??= '" ' + status + " ");
  return '" ' + status + " ";
}

/**
 * Writes the Combined Log Format line (`LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\"
 * \"%{User-agent}i\" %D"` in Apache's terms) into `out`: the duration in microseconds last,
 * `-` for an empty field and for a body of 0 bytes, fields escaped as `escapeLogText` does.
 *
 * @example writeCombined(file.batch, entry);
 */
export function writeCombined(out: LogBuffer, e: AccessEntry): void {
  // Separators go with the constant text next to them: fewer calls per line is what costs least.
  out.field(e.remoteAddress);
  out.ascii(" - ");
  out.field(e.user);
  out.copy(clfStamp(e.time));
  out.field(e.method);
  out.byte(0x20);
  out.field(e.target);
  out.byte(0x20);
  out.field(e.protocol);
  out.ascii(statusText(e.status));
  if (e.bytes === 0) out.byte(0x2d);
  else out.integer(e.bytes);
  out.ascii(' "');
  out.field(e.referer);
  out.ascii('" "');
  out.field(e.userAgent);
  out.ascii('" ');
  out.integer(e.duration);
  out.byte(0x0a);
}

/**
 * Writes the JSON line into `out`: the entry's fields by name, `time` in ISO 8601 (UTC), numbers
 * as numbers, `null` where a field is unknown, `duration` in microseconds.
 *
 * @example writeJson(file.batch, entry);
 */
export function writeJson(out: LogBuffer, e: AccessEntry): void {
  const second = Math.floor(e.time / 1000);
  out.copy(isoStamp(second));
  // the milliseconds, three digits
  const milli = Math.floor(e.time - second * 1000);
  out.byte(48 + Math.floor(milli / 100));
  out.byte(48 + (Math.floor(milli / 10) % 10));
  out.byte(48 + (milli % 10));
  out.ascii('Z","remoteAddress":');
  out.json(e.remoteAddress);
  out.ascii(',"user":');
  out.json(e.user);
  out.ascii(',"method":');
  out.json(e.method);
  out.ascii(',"target":');
  out.json(e.target);
  out.ascii(',"protocol":');
  out.json(e.protocol);
  out.ascii(',"status":');
  out.jsonInteger(e.status);
  out.ascii(',"bytes":');
  out.jsonInteger(e.bytes);
  out.ascii(',"referer":');
  out.json(e.referer);
  out.ascii(',"userAgent":');
  out.json(e.userAgent);
  out.ascii(',"duration":');
  out.jsonInteger(e.duration);
  out.ascii(',"worker":');
  out.jsonInteger(e.worker);
  out.ascii("}\n");
}

/** A format's line writer. */
export function lineWriter(format: LogFormat): (out: LogBuffer, entry: AccessEntry) => void {
  return format === "json" ? writeJson : writeCombined;
}

/**
 * The Combined Log Format line as a string (see `writeCombined`).
 *
 * @example
 * formatCombined(entry);
 * // 127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a?b=1 HTTP/1.1" 200 2326 "http://x/" "curl/8" 1520\n
 */
export function formatCombined(e: AccessEntry): string {
  const out = new LogBuffer(256);
  writeCombined(out, e);
  return out.toString();
}

/**
 * The JSON line as a string (see `writeJson`).
 *
 * @example
 * formatJson(entry);
 * // {"time":"2000-10-10T20:55:36.123Z","remoteAddress":"127.0.0.1","user":null,"method":"GET",...}\n
 */
export function formatJson(e: AccessEntry): string {
  const out = new LogBuffer(256);
  writeJson(out, e);
  return out.toString();
}

/**
 * The formatter of a format, as strings.
 *
 * @example const format = formatter("json"); out.write(format(entry));
 */
export function formatter(format: LogFormat): (entry: AccessEntry) => string {
  return format === "json" ? formatJson : formatCombined;
}
