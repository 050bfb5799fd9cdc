/**
 * What the negotiations of a response apply when its head goes out (`Response.onHead`), from the
 * final status and headers: the body transcoded into the chosen charset, then compressed with
 * the chosen coding, each only where it may be (no-transform, a coded or partial body, a 304, an
 * event stream, a body under the threshold).
 */
import { Transform, type TransformCallback } from "node:stream";
import { constants as zlib, createBrotliCompress, createDeflate, createGzip } from "node:zlib";
import { mediaTypeEssence, type HeadListener, type Response } from "../../vsgi/index.js";
import { canonicalCharset, charsetPreamble, contentTypeCharset, encodeText, isTextType, withCharset } from "../http/charset.js";
import { weakenEntityTag } from "../http/etag.js";
import { splitList } from "../http/tokens.js";

// Brotli's default quality (11) costs far too much CPU for bodies made on the fly; 4 is what
// the compression middleware of Express uses.
const BROTLI_QUALITY = 4;

/**
 * What the negotiations of one response decided and apply when its head goes out: the target
 * charset of the body, and its content coding. One per response that needs it, shared by the
 * `accept*` of one route so that transcoding always comes before compression.
 */
export class HeadWork implements HeadListener {
  /** The charset the body is transcoded into (an IANA name), or null. */
  charset: string | null = null;
  /** The Content-Type value negotiation set: a body under it is the application's UTF-8. */
  typeSet: string | null = null;
  /** The coding to compress with (`gzip`, `deflate`, `br`), or null. */
  coding: string | null = null;
  /** Bodies of a known length below this are sent as they are: set with `coding`. */
  threshold = 0;

  headWillBeSent(res: Response, length: number | null): void {
    // decided on the handler's headers, before compression adds its own
    const transcoder = this.charset === null ? null : this.transcoder(res);
    if (this.coding !== null) this.compress(res, length);
    // the filter added last sees the bytes first: the transcoder goes in after the compressor
    if (transcoder !== null) res.convert(transcoder);
  }

  /** Sets the charset on a text body; the transcoder its bytes need, if any. */
  private transcoder(res: Response): Transcoder | null {
    const headers = res.headers;
    const type = headers.get("content-type");
    if (type === null) return null;
    const charset = this.charset!;
    if (type !== this.typeSet) {
      // the application chose another charset itself: its bytes are its business
      const written = contentTypeCharset(type);
      if (written === null ? !isTextType(type) : canonicalCharset(written) !== "UTF-8") return null;
    }
    // coded bytes or a slice of the representation cannot be re-encoded as text
    const encoding = headers.get("content-encoding");
    if ((encoding !== null && encoding.trim().toLowerCase() !== "identity") || res.status === 206 || headers.has("content-range")) return null;
    headers.setTrusted("Content-Type", withCharset(type, charset));
    if (charset === "UTF-8") return null;
    if (res.hasBody) return new Transcoder(charset);
    // a HEAD answer shows the headers of GET's, which has no length once transcoded
    headers.delete("content-length");
    return null;
  }

  private compress(res: Response, length: number | null): void {
    const headers = res.headers;
    if (transformForbidden(headers.get("cache-control"))) return;
    const status = res.status;
    if (status === 304) {
      // the 304 carries the validator the 200 would have (RFC 9110 15.4.5)
      const etag = headers.get("etag");
      if (etag !== null) headers.set("ETag", weakenEntityTag(etag));
      return;
    }
    if (!res.hasBody || status === 206 || headers.has("content-range")) return;
    const encoding = headers.get("content-encoding");
    if (encoding !== null && encoding.trim().toLowerCase() !== "identity") return;
    const type = headers.get("content-type");
    if (mediaTypeEssence(type) === "text/event-stream") return;
    const known = length ?? declaredLength(headers.get("content-length"));
    if (known !== null && (known === 0 || known < this.threshold)) return;
    const coding = this.coding!;
    headers.set("Content-Encoding", coding);
    const etag = headers.get("etag");
    if (etag !== null) headers.set("ETag", weakenEntityTag(etag));
    // ranges would count the coded bytes, which differ from one compression to the next
    headers.delete("accept-ranges");
    res.convert(compressor(coding, known));
  }
}

const WORK = new WeakMap<Response, HeadWork>();

/**
 * The head work of `res` if a negotiation made one (an outer one, for a nested negotiation).
 *
 * @example const charset = pendingHeadWork(res)?.charset ?? null;
 */
export function pendingHeadWork(res: Response): HeadWork | undefined {
  return WORK.get(res);
}

/**
 * The head work of `res`, made and registered with `res.onHead` on first use.
 *
 * @example headWork(res).coding = "gzip";
 */
export function headWork(res: Response): HeadWork {
  let work = WORK.get(res);
  if (work === undefined) {
    work = new HeadWork();
    WORK.set(res, work);
    res.onHead(work);
  }
  return work;
}

function transformForbidden(cacheControl: string | null): boolean {
  if (cacheControl === null) return false;
  for (const directive of splitList(cacheControl) ?? []) {
    const eq = directive.indexOf("=");
    if ((eq === -1 ? directive : directive.slice(0, eq)).trim().toLowerCase() === "no-transform") return true;
  }
  return false;
}

function declaredLength(text: string | null): number | null {
  if (text === null) return null;
  const n = Number(text.trim());
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

function compressor(coding: string, length: number | null): Transform {
  switch (coding) {
    case "gzip":
      return createGzip();
    case "deflate":
      return createDeflate();
    default: {
      const params: Record<number, number> = { [zlib.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY };
      if (length !== null) params[zlib.BROTLI_PARAM_SIZE_HINT] = length;
      return createBrotliCompress({ params });
    }
  }
}

/** Re-encodes a UTF-8 body into another charset as it streams; a UTF-8 sequence cut between chunks is kept whole. */
class Transcoder extends Transform {
  private readonly decoder = new TextDecoder("utf-8");
  private preamble: Buffer | null;

  constructor(private readonly charset: string) {
    super();
    const preamble = charsetPreamble(charset);
    this.preamble = preamble.length > 0 ? preamble : null;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pushText(this.decoder.decode(chunk, { stream: true }));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.pushText(this.decoder.decode());
    callback();
  }

  private pushText(text: string): void {
    if (this.preamble !== null) {
      this.push(this.preamble);
      this.preamble = null;
    }
    if (text.length > 0) this.push(encodeText(text, this.charset));
  }
}
