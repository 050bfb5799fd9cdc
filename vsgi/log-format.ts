// The access log's line formats, as pure functions: an entry in, one line out (with its "\n"),
// written into a `LogBuffer` (what the log does) or returned as a string. No clock, no I/O: the
// time is in the entry, so that a test can pin every byte of a line.
import { decimal, jsonDecimal, LogBuffer, plainField, plainJson } from "./log-buffer.js";

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
let anonymousBytes: Uint8Array = new Uint8Array(0);
let isoSecond = NaN;
let isoBytes: Uint8Array = new Uint8Array(0);

/**
 * ` [10/Oct/2000:13:55:36 -0700] "`: the time with the separators around it; with `anonymous`,
 * the `-` of identd and the `-` of no user before it (` - - [10/Oct/...] "`), the usual case
 * copied in one piece.
 */
function clfStamp(ms: number, anonymous: boolean): Uint8Array {
  const second = Math.floor(ms / 1000);
  if (second !== clfSecond) {
    const time = " [" + clfTime(new Date(second * 1000)) + '] "';
    clfBytes = Buffer.from(time, "latin1");
    anonymousBytes = Buffer.from(" - -" + time, "latin1");
    clfSecond = second;
  }
  return anonymous ? anonymousBytes : clfBytes;
}

/** `{"time":"2000-10-10T20:55:36.`: the start of a JSON line, to the second (ISO 8601, UTC). */
function isoStamp(second: number): Uint8Array {
  if (second !== isoSecond) {
    isoBytes = Buffer.from('{"time":"' + new Date(second * 1000).toISOString().slice(0, 20), "latin1");
    isoSecond = second;
  }
  return isoBytes;
}

/**
 * The bytes of plain user agents seen before: a client sends the same one with each request.
 * Looking a value up (V8 hashes the string in native code) costs a fraction of the character
 * loop on a long one: a browser's line, 9,560 instructions before, 6,600 with it. A cache only:
 * the lines are the same with or without it. Not for the short fields: through it, the address
 * of wrk's lines cost 1-2% more CPU side by side, for fewer instructions. Bounded: it starts
 * over past KNOWN_ENTRIES, and keeps no value longer than KNOWN_LENGTH (at most 128 KiB of
 * bytes, whatever clients send).
 */
const KNOWN = new Map<string, Uint8Array>();
const KNOWN_ENTRIES = 512;
const KNOWN_LENGTH = 256;

/**
 * As `plainField` for a value that is not empty (no `-`): its bytes copied from KNOWN when it
 * was seen before; else copied, checked and, when plain, remembered. -1 at a character to escape.
 */
function knownPlain(b: Uint8Array, at: number, value: string): number {
  const bytes = KNOWN.get(value);
  if (bytes !== undefined) {
    b.set(bytes, at);
    return at + bytes.length;
  }
  const end = plainField(b, at, value);
  if (end >= 0 && value.length <= KNOWN_LENGTH) {
    if (KNOWN.size >= KNOWN_ENTRIES) KNOWN.clear();
    // a copy (a Buffer's `slice` is a view): `b` is the batch, written over once it has gone out
    KNOWN.set(value, new Uint8Array(b.subarray(at, end)));
  }
  return end;
}

/** `plainField` through KNOWN. */
function knownField(b: Uint8Array, at: number, value: string | null): number {
  return value === null || value.length === 0 ? plainField(b, at, value) : knownPlain(b, at, value);
}

/** `plainJson` through KNOWN. */
function knownJson(b: Uint8Array, at: number, value: string | null): number {
  if (value === null || value.length === 0) return plainJson(b, at, value);
  b[at++] = 0x22;
  if ((at = knownPlain(b, at, value)) < 0) return -1;
  b[at++] = 0x22;
  return at;
}

/** The bytes a field takes at most when it needs no escaping (`-` when null or empty). */
function plainLength(value: string | null): number {
  return value === null ? 1 : value.length + 1;
}

/**
 * Writes the Combined Log Format line (`LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\"
 * \"%{User-agent}i\" %D"` in Apache's terms) into `out`: the duration in microseconds last,
 * `-` for an empty field and for a body of 0 bytes, fields escaped as `escapeLogText` does.
 *
 * @example writeCombined(file.batch, entry);
 */
export function writeCombined(out: LogBuffer, e: AccessEntry): void {
  // The usual line, with nothing to escape, in one pass: one room check, the bytes stored here,
  // no call per field (a call per field was a third of the cost). The first character to escape
  // drops what was copied (`out.length` has not moved) and writes the line field by field.
  const b = out.reserve(
    plainLength(e.remoteAddress) + plainLength(e.user) + plainLength(e.method) + plainLength(e.target) +
      plainLength(e.protocol) + plainLength(e.referer) + plainLength(e.userAgent) + 128,
  );
  let at = plainField(b, out.length, e.remoteAddress);
  if (at < 0) return escapedCombined(out, e);
  const user = e.user;
  if (user !== null && user.length > 0) {
    b[at++] = 0x20; // " - "
    b[at++] = 0x2d;
    b[at++] = 0x20;
    if ((at = plainField(b, at, user)) < 0) return escapedCombined(out, e);
  }
  const stamp = clfStamp(e.time, user === null || user.length === 0);
  b.set(stamp, at);
  at += stamp.length;
  if ((at = plainField(b, at, e.method)) < 0) return escapedCombined(out, e);
  b[at++] = 0x20;
  if ((at = plainField(b, at, e.target)) < 0) return escapedCombined(out, e);
  if (e.protocol === "HTTP/1.1") {
    // ' HTTP/1.1" ', the usual protocol, without a look at its characters
    b[at++] = 0x20;
    b[at++] = 0x48;
    b[at++] = 0x54;
    b[at++] = 0x54;
    b[at++] = 0x50;
    b[at++] = 0x2f;
    b[at++] = 0x31;
    b[at++] = 0x2e;
    b[at++] = 0x31;
  } else {
    b[at++] = 0x20;
    if ((at = plainField(b, at, e.protocol)) < 0) return escapedCombined(out, e);
  }
  b[at++] = 0x22; // '" '
  b[at++] = 0x20;
  at = decimal(b, at, e.status);
  b[at++] = 0x20;
  if (e.bytes === 0) b[at++] = 0x2d;
  else at = decimal(b, at, e.bytes);
  b[at++] = 0x20; // ' "'
  b[at++] = 0x22;
  if ((at = plainField(b, at, e.referer)) < 0) return escapedCombined(out, e);
  b[at++] = 0x22; // '" "'
  b[at++] = 0x20;
  b[at++] = 0x22;
  if ((at = knownField(b, at, e.userAgent)) < 0) return escapedCombined(out, e);
  b[at++] = 0x22; // '" '
  b[at++] = 0x20;
  at = decimal(b, at, e.duration);
  b[at++] = 0x0a;
  out.length = at;
}

/** `writeCombined` for a line with a field to escape: field by field. */
function escapedCombined(out: LogBuffer, e: AccessEntry): void {
  out.field(e.remoteAddress);
  out.ascii(" - ");
  out.field(e.user);
  out.copy(clfStamp(e.time, false));
  out.field(e.method);
  out.byte(0x20);
  out.field(e.target);
  out.byte(0x20);
  out.field(e.protocol);
  out.ascii('" ');
  out.integer(e.status);
  out.byte(0x20);
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
  // As writeCombined: the usual line in one pass, the text between the values copied as bytes
  // made once, and a usual value (no user, HTTP/1.1, no Referer, this process's worker) copied
  // with the names around it; the first character to escape writes the line value by value.
  const b = out.reserve(
    jsonLength(e.remoteAddress) + jsonLength(e.user) + jsonLength(e.method) + jsonLength(e.target) +
      jsonLength(e.protocol) + jsonLength(e.referer) + jsonLength(e.userAgent) + 256,
  );
  let at = name(b, isoTime(b, out.length, e.time), JSON_NAMES.remoteAddress);
  if ((at = plainJson(b, at, e.remoteAddress)) < 0) return escapedJson(out, e);
  if (e.user === null) at = name(b, at, JSON_USUAL.noUser);
  else {
    at = name(b, at, JSON_NAMES.user);
    if ((at = plainJson(b, at, e.user)) < 0) return escapedJson(out, e);
    at = name(b, at, JSON_NAMES.method);
  }
  if ((at = plainJson(b, at, e.method)) < 0) return escapedJson(out, e);
  at = name(b, at, JSON_NAMES.target);
  if ((at = plainJson(b, at, e.target)) < 0) return escapedJson(out, e);
  if (e.protocol === "HTTP/1.1") at = name(b, at, JSON_USUAL.http11);
  else {
    at = name(b, at, JSON_NAMES.protocol);
    if ((at = plainJson(b, at, e.protocol)) < 0) return escapedJson(out, e);
    at = name(b, at, JSON_NAMES.status);
  }
  at = jsonDecimal(b, name(b, jsonDecimal(b, at, e.status), JSON_NAMES.bytes), e.bytes);
  if (e.referer === null) at = name(b, at, JSON_USUAL.noReferer);
  else {
    at = name(b, at, JSON_NAMES.referer);
    if ((at = plainJson(b, at, e.referer)) < 0) return escapedJson(out, e);
    at = name(b, at, JSON_NAMES.userAgent);
  }
  if ((at = knownJson(b, at, e.userAgent)) < 0) return escapedJson(out, e);
  at = jsonDecimal(b, name(b, at, JSON_NAMES.duration), e.duration);
  out.length = name(b, at, workerEnd(e.worker));
}

/** The text between a JSON line's values, as bytes made once: the end of one, the name of the next. */
const JSON_NAMES = {
  remoteAddress: Buffer.from('Z","remoteAddress":', "latin1"),
  user: Buffer.from(',"user":', "latin1"),
  method: Buffer.from(',"method":', "latin1"),
  target: Buffer.from(',"target":', "latin1"),
  protocol: Buffer.from(',"protocol":', "latin1"),
  status: Buffer.from(',"status":', "latin1"),
  bytes: Buffer.from(',"bytes":', "latin1"),
  referer: Buffer.from(',"referer":', "latin1"),
  userAgent: Buffer.from(',"userAgent":', "latin1"),
  duration: Buffer.from(',"duration":', "latin1"),
  worker: Buffer.from(',"worker":', "latin1"),
} as const;

/** The usual values with the names before and after them, as bytes made once. */
const JSON_USUAL = {
  noUser: Buffer.from(',"user":null,"method":', "latin1"),
  http11: Buffer.from(',"protocol":"HTTP/1.1","status":', "latin1"),
  noReferer: Buffer.from(',"referer":null,"userAgent":', "latin1"),
} as const;

// The end of a line, `,"worker":N}` and its newline, made once for the process's worker.
let endWorker = NaN;
let endBytes: Uint8Array = new Uint8Array(0);

function workerEnd(worker: number): Uint8Array {
  if (worker !== endWorker) {
    endBytes = Buffer.from(`,"worker":${Number.isSafeInteger(worker) && worker >= 0 ? worker : "null"}}\n`, "latin1");
    endWorker = worker;
  }
  return endBytes;
}

/** The bytes `isoTime` writes: `{"time":"2000-10-10T20:55:36.123`. */
const ISO_TIME_BYTES = 32;

/** Writes the start of a JSON line, its time to the millisecond, into `b` at `at`; returns where it ends. */
function isoTime(b: Uint8Array, at: number, time: number): number {
  const second = Math.floor(time / 1000);
  const stamp = isoStamp(second);
  b.set(stamp, at);
  at += stamp.length;
  // the milliseconds, three digits
  const milli = Math.floor(time - second * 1000);
  b[at++] = 48 + Math.floor(milli / 100);
  b[at++] = 48 + (Math.floor(milli / 10) % 10);
  b[at++] = 48 + (milli % 10);
  return at;
}

function name(b: Uint8Array, at: number, bytes: Uint8Array): number {
  b.set(bytes, at);
  return at + bytes.length;
}

/** The bytes a JSON value takes at most when it needs no escaping. */
function jsonLength(value: string | null): number {
  return value === null ? 4 : value.length + 2;
}

/** `writeJson` for a line with a value to escape: value by value. */
function escapedJson(out: LogBuffer, e: AccessEntry): void {
  out.length = isoTime(out.reserve(ISO_TIME_BYTES), out.length, e.time);
  out.copy(JSON_NAMES.remoteAddress);
  out.json(e.remoteAddress);
  out.copy(JSON_NAMES.user);
  out.json(e.user);
  out.copy(JSON_NAMES.method);
  out.json(e.method);
  out.copy(JSON_NAMES.target);
  out.json(e.target);
  out.copy(JSON_NAMES.protocol);
  out.json(e.protocol);
  out.copy(JSON_NAMES.status);
  out.jsonInteger(e.status);
  out.copy(JSON_NAMES.bytes);
  out.jsonInteger(e.bytes);
  out.copy(JSON_NAMES.referer);
  out.json(e.referer);
  out.copy(JSON_NAMES.userAgent);
  out.json(e.userAgent);
  out.copy(JSON_NAMES.duration);
  out.jsonInteger(e.duration);
  out.copy(JSON_NAMES.worker);
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
