// The access log: one line per request, on every backend. The dispatcher marks a request's
// start when the log is on (one null check when it is off: no clock read, no closure), and the
// response reports here once its last byte is handed to the connection, or once the client
// went away (see Response.logStart).
import { performance } from "node:perf_hooks";
import { LogFile } from "./log-file.js";
import { lineWriter, type AccessEntry, type LogFormat } from "./log-format.js";
import type { LogBuffer } from "./log-buffer.js";
import type { Request } from "./request.js";
import type { Response } from "./response.js";

/** Options of `enableAccessLog`. */
export interface AccessLogOptions {
  /** The file to append to; `null` or `-` for standard output. @default null */
  file?: string | null;
  /** `clf` (Combined Log Format and the duration) or `json` (JSON lines). @default "clf" */
  format?: LogFormat;
  /** Reopen the file on SIGUSR1 (logrotate); no listener is installed for standard output. @default true */
  reopenOnSignal?: boolean;
}

/** The defaults of `AccessLogOptions`. */
export const ACCESS_LOG_DEFAULTS = {
  /** @default null (standard output) */
  file: null,
  /** @default "clf" */
  format: "clf",
  /** @default true */
  reopenOnSignal: true,
} as const satisfies Required<AccessLogOptions>;

/**
 * What a line takes besides its target, Referer and User-Agent (the address, the time, the
 * method, the numbers, the separators, JSON's names), about: how the queue tells the file how
 * much it holds, so that a batch's lines fit its buffer.
 */
const LINE_REST: Readonly<Record<LogFormat, number>> = { clf: 100, json: 220 };

/**
 * An access log: entries queued, and formatted when their batch is written to its `LogFile`:
 * at about 256 KiB, or within 100 ms. Formatted all in a row, lines cost less CPU than each
 * formatted as its response ended, and the longer the run the less (side by side, bench/README.md,
 * "Access log"; see log-file.ts): the formatter's compiled code and the batch's bytes stay in
 * the caches, and the rest of the time leaves them to the request's path. An entry holds
 * strings and numbers, not the request, and its long fields count towards the batch's bytes:
 * what waits stays within a batch's worth.
 *
 * @example const log = enableAccessLog({ file: "/var/log/app/access.log" }); log.reopen();
 */
export class AccessLog {
  readonly file: LogFile;
  readonly format: LogFormat;
  /** `VSGI_WORKER` of this process, read once. */
  readonly worker: number;
  private readonly writeLine: (out: LogBuffer, entry: AccessEntry) => void;
  private readonly lineRest: number;
  /** Entries not yet formatted: the first `queued` slots; it grows to a batch's worth. */
  private readonly queue: (AccessEntry | null)[] = [];
  private queued = 0;

  constructor(options: AccessLogOptions = {}) {
    this.format = options.format ?? ACCESS_LOG_DEFAULTS.format;
    this.writeLine = lineWriter(this.format);
    this.lineRest = LINE_REST[this.format];
    this.file = new LogFile(options.file ?? ACCESS_LOG_DEFAULTS.file, (batch) => this.drain(batch));
    this.worker = Number.parseInt(process.env.VSGI_WORKER ?? "0", 10) || 0;
  }

  /** Writes one entry: formatted with the others of its batch, written within 100 ms (or at exit). */
  write(entry: AccessEntry): void {
    this.queue[this.queued++] = entry;
    this.file.wrote(this.lineRest + entry.target.length + (entry.referer?.length ?? 0) + (entry.userAgent?.length ?? 0));
  }

  /** Formats the queued entries into `batch`, and lets them go. */
  private drain(batch: LogBuffer): void {
    const queue = this.queue;
    const writeLine = this.writeLine;
    for (let i = 0; i < this.queued; i++) {
      writeLine(batch, queue[i]!);
      queue[i] = null;
    }
    this.queued = 0;
  }

  /** Opens the file again (logrotate); see `LogFile.reopen`. */
  reopen(): void {
    this.file.reopen();
  }
}

/** The process's access log, `null` when off: what the dispatcher checks for each request. */
export let accessLog: AccessLog | null = null;

function reopenOnSignal(): void {
  accessLog?.reopen();
}

/**
 * Turns the access log on for every server of this process (what `--access-log` does), in
 * place of the one before. The file is opened now: a `VsgiError` (`ERR_VSGI_LOG_FILE`) naming
 * it if it cannot be. With a file, SIGUSR1 reopens it (node's default for SIGUSR1, starting
 * the inspector, is then off in this process).
 *
 * @example enableAccessLog({ file: "/var/log/app/access.log", format: "json" });
 */
export function enableAccessLog(options: AccessLogOptions = {}): AccessLog {
  const log = new AccessLog(options);
  disableAccessLog();
  accessLog = log;
  if (log.file.path !== null && (options.reopenOnSignal ?? ACCESS_LOG_DEFAULTS.reopenOnSignal)) process.on("SIGUSR1", reopenOnSignal);
  return log;
}

/**
 * Turns the access log off: pending lines are written, the file closed, the SIGUSR1 listener
 * removed.
 *
 * @example disableAccessLog();
 */
export function disableAccessLog(): void {
  const log = accessLog;
  if (log === null) return;
  accessLog = null;
  process.off("SIGUSR1", reopenOnSignal);
  log.file.close();
}

/** The wall clock less `performance.now()`, and when it was last measured. */
let clockOffset = 0;
let clockCheckedAt = -Infinity;

/** @internal The dispatcher's part, when the log is on: the request starts now. */
export function startEntry(req: Request, res: Response): void {
  res.logStart = performance.now();
  req.logResponse = res;
}

/**
 * @internal The response's part: it is complete (or cut short) with `status`; writes the line
 * once, with the body bytes counted so far.
 */
export function finishEntry(res: Response, status: number): void {
  const start = res.logStart;
  res.logStart = -1;
  const log = accessLog;
  if (log === null) return;
  const req = res.request;
  const now = performance.now();
  if (now - clockCheckedAt >= 1000) {
    // performance's monotonic clock drifts from the wall clock over a long-running process
    // (a suspended VM, a stepped clock): measured against it again once a second
    clockOffset = Date.now() - now;
    clockCheckedAt = now;
  }
  // A new object each time, which the queue holds until it is formatted: measured side by side
  // against one object for the process, refilled for each request (formatted at once), the cost
  // was the same (the young strings stored into a long-lived object cost a write barrier each,
  // about what the allocation costs).
  const entry: AccessEntry = {
    remoteAddress: req.remoteAddress,
    user: null,
    time: start + clockOffset,
    method: req.method,
    target: req.target,
    protocol: req.httpVersion === "1.1" ? "HTTP/1.1" : "HTTP/" + req.httpVersion,
    status,
    bytes: res.logBytes,
    referer: null,
    userAgent: null,
    duration: Math.round((now - start) * 1000),
    worker: log.worker,
  };
  const authorization = req.logHeaders(entry);
  entry.user = req.remoteUser ?? basicUser(authorization);
  log.write(entry);
}

/** The user name of Basic credentials, as Apache's `%u` logs it (whether or not the password was right). */
function basicUser(authorization: string | null): string | null {
  if (authorization === null || authorization.length < 7 || authorization.slice(0, 6).toLowerCase() !== "basic ") return null;
  const decoded = Buffer.from(authorization.slice(6).trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon > 0 ? decoded.slice(0, colon) : null;
}
