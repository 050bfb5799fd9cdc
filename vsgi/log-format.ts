// The access log's line formats, as pure functions: an entry in, one line out (with its "\n").
// No clock, no I/O: the time is in the entry, so that a test can pin every byte of a line.

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

// The formatted second, kept: a busy server writes thousands of lines within the same one.
let clfSecond = NaN;
let clfText = "";
let isoSecond = NaN;
let isoText = "";

function clfTimeCached(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== clfSecond) {
    clfText = clfTime(new Date(second * 1000));
    clfSecond = second;
  }
  return clfText;
}

/** `2000-10-10T20:55:36.123Z`: ISO 8601 in UTC, milliseconds included. */
function isoTimeCached(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    isoText = new Date(second * 1000).toISOString().slice(0, 19);
    isoSecond = second;
  }
  const milli = Math.floor(ms - second * 1000);
  return isoText + (milli < 10 ? ".00" : milli < 100 ? ".0" : ".") + milli + "Z";
}

// What Apache's ap_escape_logitem escapes: a quote, a backslash, and any byte that is not
// printable ASCII. Nothing a client sends can then end a field or a line early.
const NEEDS_ESCAPE = /["\\\x00-\x1f\x7f-\uffff]/;
const SHORT: Record<number, string> = { 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 13: "\\r", 34: '\\"', 92: "\\\\" };
const HEX = "0123456789abcdef";

function hexByte(byte: number): string {
  return "\\x" + HEX[byte >> 4] + HEX[byte & 15];
}

/**
 * A field as Apache writes it: `"` and `\` escaped with a backslash, `\n`, `\r`, `\t`, `\b`,
 * `\v` by name, any other byte outside printable ASCII as `\xhh` (characters above U+00FF by
 * their UTF-8 bytes; node gives header values as latin-1, one character per byte).
 *
 * @example escapeLogText('a"b\r\n'); // 'a\\"b\\r\\n'
 */
export function escapeLogText(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 34 && c !== 92) out += text[i];
    else if (SHORT[c] !== undefined) out += SHORT[c];
    else if (c <= 0xff) out += hexByte(c);
    else {
      const end = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? i + 2 : i + 1;
      for (const byte of Buffer.from(text.slice(i, end), "utf8")) out += hexByte(byte);
      i = end - 1;
    }
  }
  return out;
}

/** A field: `-` when unknown or empty; one test and no copy for the usual, plain one. */
function field(value: string | null): string {
  if (value === null || value.length === 0) return "-";
  return NEEDS_ESCAPE.test(value) ? escapeLogText(value) : value;
}

/**
 * The Combined Log Format line (`LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\"
 * \"%{User-agent}i\" %D"` in Apache's terms): the duration in microseconds last, `-` for an
 * empty field and for a body of 0 bytes.
 *
 * @example
 * formatCombined(entry);
 * // 127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a?b=1 HTTP/1.1" 200 2326 "http://x/" "curl/8" 1520\n
 */
export function formatCombined(e: AccessEntry): string {
  return (
    field(e.remoteAddress) + " - " + field(e.user) + " [" + clfTimeCached(e.time) + '] "' + field(e.method) + " " +
    field(e.target) + " " + field(e.protocol) + '" ' + e.status + " " + (e.bytes === 0 ? "-" : e.bytes) + ' "' +
    field(e.referer) + '" "' + field(e.userAgent) + '" ' + e.duration + "\n"
  );
}

function json(value: string | null): string {
  return value === null ? "null" : JSON.stringify(value);
}

/**
 * The JSON line: the entry's fields by name, `time` in ISO 8601 (UTC), numbers as numbers,
 * `null` where a field is unknown, `duration` in microseconds.
 *
 * @example
 * formatJson(entry);
 * // {"time":"2000-10-10T20:55:36.123Z","remoteAddress":"127.0.0.1","user":null,"method":"GET",...}\n
 */
export function formatJson(e: AccessEntry): string {
  return (
    '{"time":"' + isoTimeCached(e.time) + '","remoteAddress":' + json(e.remoteAddress) + ',"user":' + json(e.user) +
    ',"method":' + json(e.method) + ',"target":' + json(e.target) + ',"protocol":' + json(e.protocol) +
    ',"status":' + e.status + ',"bytes":' + e.bytes + ',"referer":' + json(e.referer) +
    ',"userAgent":' + json(e.userAgent) + ',"duration":' + e.duration + ',"worker":' + e.worker + "}\n"
  );
}

/**
 * The formatter of a format.
 *
 * @example const format = formatter("json"); out.write(format(entry));
 */
export function formatter(format: LogFormat): (entry: AccessEntry) => string {
  return format === "json" ? formatJson : formatCombined;
}
