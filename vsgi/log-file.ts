// Where the access log's lines go: a file opened for appending, or standard output. Lines are
// gathered and written together, FLUSH_MS after the first of a batch or once BATCH_BYTES are
// gathered: a write per request (or per event-loop turn, which under load is little more) cost
// about 4% of the hello world's CPU in a profile; a write per batch costs nothing measurable.
// The batch is bytes in one reused buffer (see log-buffer.ts for why not a string). Lines may
// also wait elsewhere, not yet formatted (the access log's queue, which says about how many bytes
// it holds): `fill` puts them in the batch right before it is written.
import { closeSync, openSync, writeSync } from "node:fs";
import { VsgiError, ERR_LOG_FILE } from "./errors.js";
import { logError } from "./handler.js";
import { LogBuffer } from "./log-buffer.js";

/**
 * Gathered lines past this many bytes are written at once. Big, because the access log formats
 * its lines when their batch is written, and longer runs of formatting cost less a line: side by
 * side (bench/README.md, "Access log"), formatting at most 512 at a time cost 1.3% of a request
 * less than 64 at a time, and about 1,500 (a 100 ms batch) 1% less again; 64 KiB batches
 * formatted as written cost 1.7% more than that, 256 KiB ones the same.
 */
const BATCH_BYTES = 256 * 1024;
/**
 * The batch's room past BATCH_BYTES: a `fill` adds about BATCH_BYTES at once (the access log's
 * queue says how much it holds, its lines' sizes guessed), and a guess short by up to a quarter fits
 * without the buffer growing and shrinking again.
 */
const BATCH_ROOM = 64 * 1024;
/** Milliseconds a line may wait for the lines after it, at most. */
const FLUSH_MS = 100;

/**
 * A log file written in batches. `path` `null` (or `-`) is standard output. The file is opened
 * at construction, for appending (`O_APPEND`: after logrotate's copytruncate the next lines go
 * to the start of the emptied file, not past a hole); a file that cannot be opened throws a
 * `VsgiError` (`ERR_VSGI_LOG_FILE`) naming it. Lines are written in batches, at most 100 ms
 * late, and what is pending when the process exits (an uncaught exception too) is written then.
 *
 * @example
 * const log = new LogFile("/var/log/app/access.log");
 * log.write("one line\n");
 * process.on("SIGUSR1", () => log.reopen());
 */
export class LogFile {
  /** The file's path; `null` for standard output. */
  readonly path: string | null;
  /** The lines gathered: the access log writes into it, then calls `wrote`. */
  readonly batch = new LogBuffer(BATCH_BYTES + BATCH_ROOM);
  private readonly fill: ((batch: LogBuffer) => void) | null;
  private fd: number;
  private timer: NodeJS.Timeout | null = null;
  /** The bytes `fill` holds, as it guessed them. */
  private held = 0;
  private closed = false;
  private failing = false;

  /**
   * `fill`, when given, writes lines held elsewhere into the batch (whole lines): it is called
   * before each write of the batch and before `write` adds to it, so that no line is left
   * behind or put out of order. `wrote(bytes)` after holding a line makes sure it goes within
   * 100 ms, or at once when what is held makes a batch.
   */
  constructor(path: string | null, fill: ((batch: LogBuffer) => void) | null = null) {
    this.path = path === "-" ? null : path;
    this.fd = this.path === null ? -1 : openLog(this.path);
    this.fill = fill;
    this.flush = this.flush.bind(this);
    process.on("exit", this.flush);
  }

  /** Adds `text` (whole lines) to the batch: written within 100 ms, at once past 256 KiB, or at exit. */
  write(text: string): void {
    this.takeHeld();
    this.batch.utf8(text);
    this.wrote();
  }

  /**
   * Whole lines were written into `batch`, or `held` more bytes of them are held for `fill`
   * (a guess is enough): they go out within 100 ms, at once past 256 KiB.
   */
  wrote(held = 0): void {
    if (this.closed) {
      // dropped, the held lines too: nothing waits for a write that will not come
      this.takeHeld();
      this.batch.clear();
    } else if (this.batch.length + (this.held += held) >= BATCH_BYTES) this.flush();
    else if (this.timer === null) this.timer = setTimeout(this.flush, FLUSH_MS).unref();
  }

  /** Puts the lines `fill` holds into the batch, after the lines already there. */
  private takeHeld(): void {
    if (this.fill !== null) this.fill(this.batch);
    this.held = 0;
  }

  /** Writes the batch now, with what `fill` holds. */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.closed) this.takeHeld();
    const { bytes, length } = this.batch;
    if (length === 0) return;
    if (this.fd === -1) {
      // the stream may hold on to what it is given: a copy, the batch is reused
      process.stdout.write(Buffer.from(bytes.subarray(0, length)));
      this.batch.clear();
      return;
    }
    try {
      // Synchronous, as Apache's own log writes: a file write lands in the page cache, and
      // nothing is lost between a write issued and the process exiting or the file reopening.
      // A FIFO may take part of it.
      for (let done = 0; done < length; ) done += writeSync(this.fd, bytes, done, length - done);
      this.failing = false;
    } catch (err) {
      // once per run of failures (a full disk would otherwise log ten lines a second)
      if (!this.failing) logError(`cannot write the access log ${this.path}: ${(err as Error).message}; its lines are dropped until a write succeeds`);
      this.failing = true;
    } finally {
      this.batch.clear();
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
