// Where the access log's lines go: a file opened for appending, or standard output. Lines are
// gathered and written in one write per event-loop turn (or per BATCH_BYTES), so that a busy
// server makes a write per batch of requests rather than one per request.
import { closeSync, openSync, writeSync } from "node:fs";
import { VsgiError, ERR_LOG_FILE } from "./errors.js";
import { logError } from "./handler.js";

/** Gathered text past this many characters is written at once rather than at the end of the turn. */
const BATCH_BYTES = 64 * 1024;

/**
 * A log file written in batches. `path` `null` (or `-`) is standard output. The file is opened
 * at construction, for appending (`O_APPEND`: after logrotate's copytruncate the next lines go
 * to the start of the emptied file, not past a hole); a file that cannot be opened throws a
 * `VsgiError` (`ERR_VSGI_LOG_FILE`) naming it. Pending lines are written when the process exits.
 *
 * @example
 * const log = new LogFile("/var/log/app/access.log");
 * log.write("one line\n");
 * process.on("SIGUSR1", () => log.reopen());
 */
export class LogFile {
  /** The file's path; `null` for standard output. */
  readonly path: string | null;
  private fd: number;
  private pending = "";
  private scheduled = false;
  private closed = false;

  constructor(path: string | null) {
    this.path = path === "-" ? null : path;
    this.fd = this.path === null ? -1 : openLog(this.path);
    this.flush = this.flush.bind(this);
    process.on("exit", this.flush);
  }

  /** Adds `text` (whole lines) to the batch: written by the end of this event-loop turn. */
  write(text: string): void {
    if (this.closed) return;
    this.pending += text;
    if (this.pending.length >= BATCH_BYTES) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Writes the batch now. */
  flush(): void {
    this.scheduled = false;
    const text = this.pending;
    if (text.length === 0) return;
    this.pending = "";
    if (this.fd === -1) {
      process.stdout.write(text);
      return;
    }
    try {
      // Synchronous, as Apache's own log writes: a file write lands in the page cache, and
      // nothing is lost between a write issued and the process exiting or the file reopening.
      writeSync(this.fd, text);
    } catch (err) {
      logError(`cannot write the access log ${this.path}: ${(err as Error).message}`);
    }
  }

  /**
   * Opens the file again by its path, for logrotate: the lines gathered so far go to the old
   * file first. A file that cannot be opened is logged, and writing goes on to the old one.
   * Does nothing for standard output.
   *
   * @example process.on("SIGUSR1", () => log.reopen());
   */
  reopen(): void {
    if (this.fd === -1 || this.closed) return;
    this.flush();
    let fd: number;
    try {
      fd = openLog(this.path!);
    } catch (err) {
      logError(`${(err as Error).message}; still writing to the file it replaced`);
      return;
    }
    closeSync(this.fd);
    this.fd = fd;
  }

  /** Writes what is pending and closes the file (not standard output); later writes are dropped. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    process.off("exit", this.flush);
    if (this.fd !== -1) closeSync(this.fd);
  }
}

function openLog(path: string): number {
  try {
    return openSync(path, "a", 0o640);
  } catch (err) {
    throw new VsgiError(ERR_LOG_FILE, `cannot open the access log ${path}: ${(err as Error).message}`, { cause: err });
  }
}
