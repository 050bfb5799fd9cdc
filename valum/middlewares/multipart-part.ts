/**
 * One part of a `multipart/form-data` body as `multipart` hands it out, and `safeFilename`.
 */
import { Readable } from "node:stream";
import type { ReadonlyHeaders } from "../../vsgi/index.js";
import type { MultipartParts } from "./multipart-parts.js";

function noop(): void {}

/**
 * A file name from a multipart part reduced to something that can be a single path segment:
 * the last segment after `/` or `\`, without NUL and control characters, never `.` or `..`;
 * `null` when nothing is left. It is still the client's choice of name: prefer storing under a
 * name of your own (a random id) and keeping this one as data.
 *
 * @example safeFilename("../../etc/passwd"); // "passwd"
 * @example safeFilename("C:\\Users\\ana\\photo.jpg"); // "photo.jpg"
 * @example safeFilename(".."); // null
 */
export function safeFilename(filename: string): string | null {
  // eslint-disable-next-line no-control-regex
  const cleaned = filename.replace(/[\u0000-\u001f\u007f]/g, "");
  const segments = cleaned.split(/[/\\]/);
  const last = segments[segments.length - 1]!.trim();
  if (last === "" || last === "." || last === "..") return null;
  return last;
}

/** @internal What one part is built from: its metadata, and either its bytes' stream or its whole value. */
export interface PartInit {
  name: string;
  filename: string | null;
  type: string;
  headers: ReadonlyHeaders;
  source: Readable | null;
  value: string | null;
}

/**
 * One part of a `multipart/form-data` body: a `Readable` of its bytes, with the part's field
 * name, file name and type. A field (no filename) is held whole: `text()` gives its value.
 */
export class MultipartPart extends Readable {
  /** The field name (Content-Disposition `name`). */
  readonly name: string;
  /**
   * The file name exactly as the client sent it (`filename*` or `filename`), `null` for a field.
   * Never use it as a path: it may hold `../`, `\`, a drive or NUL (see `safeFilename`).
   */
  readonly filename: string | null;
  /** The part's media type essence, lower-cased (`text/plain` when the part has no Content-Type). */
  readonly type: string;
  /** The part's header lines, as sent (names lower-case; values read as Latin-1). */
  readonly headers: ReadonlyHeaders;
  /** @internal */
  bytes = 0;
  private source: Readable | null;
  private value: string | null;
  private readonly owner: MultipartParts;

  /** @internal Parts come from `MultipartParts`, never built by hand. */
  constructor(owner: MultipartParts, init: PartInit) {
    super();
    this.owner = owner;
    this.name = init.name;
    this.filename = init.filename;
    this.type = init.type;
    this.headers = init.headers;
    this.source = init.source;
    this.value = init.value;
    // A failed part must not crash a process whose handler did not listen for errors; readers
    // (pipeline, for await) still get the error.
    this.on("error", noop);
    const source = init.source;
    if (source !== null) {
      source.on("data", (chunk: Buffer) => this.fromSource(chunk));
      source.once("end", () => this.push(null));
      source.on("error", (error: Error) => owner.sourceFailed(error));
    }
  }

  private fromSource(chunk: Buffer): void {
    this.bytes += chunk.length;
    // Busboy stops one byte past the limit and says so with its 'limit' event, which fails the
    // whole form; that byte never reaches the reader.
    if (this.bytes > this.owner.limits.fileSize) return;
    if (!this.push(chunk)) this.source?.pause();
  }

  override _read(): void {
    if (this.source !== null) {
      this.source.resume();
    } else if (this.value !== null) {
      const value = this.value;
      this.value = null;
      if (value.length > 0) this.push(Buffer.from(value, "utf8"));
      this.push(null);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const source = this.source;
    if (source !== null) {
      // A part left half-read: the rest is skipped so that the next one can come.
      this.source = null;
      source.removeAllListeners("data");
      source.on("error", noop);
      source.resume();
    }
    callback(error);
  }

  /**
   * The whole part as text (UTF-8): a field's value (decoded with the part's charset by the
   * parser), or a file read to its end (bounded by `limits.fileSize`).
   *
   * @example for await (const part of parts) if (part.filename === null) fields[part.name] = await part.text();
   */
  async text(): Promise<string> {
    if (this.source === null && this.value !== null && this.readableLength === 0 && this.readableFlowing === null) {
      const value = this.value;
      this.value = null;
      this.push(null);
      this.resume();
      return value;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of this) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }
}

