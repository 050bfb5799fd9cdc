/**
 * Proactive content negotiation (RFC 9110 section 12.1), as Valum's `negotiate` and its
 * `accept*` helpers: choose among the values a route offers by a request header, hand the
 * choice to a forward callback, and apply it to the response. The ranking is
 * `valum/http/accept.ts`'s; the compression and transcoding are decided when the head goes out
 * (`Response.onHead`), from the final status and headers.
 */
import { Transform, type TransformCallback } from "node:stream";
import { constants as zlib, createBrotliCompress, createDeflate, createGzip } from "node:zlib";
import { mediaTypeEssence, type HeadListener, type Request, type Response } from "../../vsgi/index.js";
import type { Context } from "../context.js";
import type { ForwardCallback, HandlerCallback, NextCallback } from "../handler.js";
import { ClientError } from "../status.js";
import { invalidOption } from "./options.js";
import { ExpectationError, negotiationKind, parseExpectations, rankExpectations, type Expectation, type NegotiationKind } from "../http/accept.js";
import { canonicalCharset, charsetPreamble, contentTypeCharset, encodeText, isTextType, TRANSCODABLE_CHARSETS, withCharset } from "../http/charset.js";
import { weakenEntityTag } from "../http/etag.js";
import { isToken, splitList } from "../http/tokens.js";
import { mergeVary } from "../http/vary.js";

/** The options of `negotiate` and of the `accept*` helpers. */
export interface NegotiateOptions {
  /** Add the header's name to `Vary` (once) whenever there was a choice, i.e. more than one value. @default true */
  vary?: boolean;
}

/** The options of `acceptEncoding`. */
export interface AcceptEncodingOptions extends NegotiateOptions {
  /** Bodies whose length is known and below this many bytes are sent uncompressed. @default 1024 */
  threshold?: number;
}

/** The defaults of `negotiate` and the `accept*` helpers. */
export const NEGOTIATE_DEFAULTS = Object.freeze({
  vary: true,
  threshold: 1024,
} as const);

/** The context of the forward: `ctx.negotiated` is the chosen value (the last one, when negotiations nest). */
export type NegotiatedContext = Context & { negotiated: string };

/** The codings `acceptEncoding` can apply with `node:zlib`. */
const CODINGS: readonly string[] = ["gzip", "deflate", "br", "identity"];
// Brotli's default quality (11) costs far too much CPU for bodies made on the fly; 4 is what
// the compression middleware of Express uses.
const BROTLI_QUALITY = 4;

/** What is applied to the response besides the choice itself. */
type Apply = "none" | "type" | "charset" | "language" | "encoding" | "ranges";

/**
 * What the negotiations of one response decided and apply when its head goes out: the target
 * charset of the body, and its content coding. One per response that needs it, shared by the
 * `accept*` of one route so that transcoding always comes before compression.
 */
class HeadWork implements HeadListener {
  /** The charset the body is transcoded into (an IANA name), or null. */
  charset: string | null = null;
  /** The Content-Type value negotiation set: a body under it is the application's UTF-8. */
  typeSet: string | null = null;
  /** The coding to compress with (`gzip`, `deflate`, `br`), or null. */
  coding: string | null = null;
  threshold: number = NEGOTIATE_DEFAULTS.threshold;

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

function headWork(res: Response): HeadWork {
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

/** @internal One registered negotiation: the parsed offers and what to do with the choice. */
class Negotiation {
  private readonly low: string;
  private readonly varies: boolean;
  /** The 406 message: what is available. */
  private readonly refusal: string;
  /** Choices by header value, bounded: clients send a handful of distinct values. */
  private readonly cache = new Map<string, Expectation | null>();
  private readonly charsets: readonly (string | null)[];
  /** The choice when the request has no such header, made once. */
  private readonly absent: Expectation | null;
  /** What Vary gains when there was a choice: the header's name, as one list made once. */
  private readonly varyNames: readonly string[];

  constructor(
    headerName: string,
    private readonly kind: NegotiationKind,
    private readonly offers: readonly Expectation[],
    private readonly forward: ForwardCallback<string, NegotiatedContext>,
    private readonly apply: Apply,
    vary: boolean,
    private readonly threshold: number,
  ) {
    this.low = headerName.toLowerCase();
    this.varyNames = [headerName];
    this.varies = vary && offers.filter((offer) => offer.q > 0).length > 1;
    const available = offers.filter((offer) => offer.q > 0).map((offer) => offer.value);
    this.refusal = `Not Acceptable. Available (${headerName}): ${available.join(", ")}`;
    // the charset each offer sets (a media type's charset parameter, or the charset itself)
    this.charsets = offers.map((offer) =>
      apply === "charset" ? canonicalCharset(offer.value) : apply === "type" ? (charsetParameter(offer) ?? null) : null,
    );
    this.absent = this.choice(null);
  }

  handle(req: Request, res: Response, next: NextCallback, ctx: Context): boolean | Promise<boolean> {
    const header = req.headers.get(this.low);
    if (this.varies) {
      const headers = res.headers;
      headers.setTrusted("Vary", mergeVary(headers.get("vary"), this.varyNames));
    }
    const chosen = this.choose(header);
    if (chosen === null) throw ClientError.notAcceptable(this.refusal);
    const value = chosen.value;
    switch (this.apply) {
      case "type":
        this.applyType(res, chosen);
        break;
      case "charset":
        this.applyCharset(res, chosen);
        break;
      case "language":
        res.headers.setTrusted("Content-Language", value);
        break;
      case "encoding":
        if (value !== "identity") {
          const work = headWork(res);
          work.coding = value;
          work.threshold = this.threshold;
        }
        break;
      case "ranges":
        res.headers.setTrusted("Accept-Ranges", value);
        break;
    }
    const context = ctx as NegotiatedContext;
    context.negotiated = value;
    return this.forward(req, res, next, context, value);
  }

  private choose(header: string | null): Expectation | null {
    if (header === null) return this.absent;
    let chosen = this.cache.get(header);
    if (chosen === undefined) {
      chosen = this.choice(header);
      if (this.cache.size < 256 && header.length <= 256) this.cache.set(header, chosen);
    }
    return chosen;
  }

  private choice(header: string | null): Expectation | null {
    return rankExpectations(this.kind, header, this.offers)[0] ?? null;
  }

  private applyType(res: Response, chosen: Expectation): void {
    res.headers.setTrusted("Content-Type", chosen.value);
    const charset = this.charsets[this.offers.indexOf(chosen)] ?? null;
    // UTF-8 is what the application writes: the type as set is the whole story
    if (charset !== null && charset !== "UTF-8") {
      const work = headWork(res);
      work.charset = charset;
      work.typeSet = chosen.value;
    } else {
      const work = WORK.get(res);
      if (work !== undefined && work.charset !== null) {
        // an outer acceptCharset chose the charset: the type set here carries it
        const type = withCharset(chosen.value, work.charset);
        res.headers.set("Content-Type", type);
        work.typeSet = type;
      }
    }
  }

  private applyCharset(res: Response, chosen: Expectation): void {
    const charset = this.charsets[this.offers.indexOf(chosen)]!;
    const work = headWork(res);
    work.charset = charset;
    const type = res.headers.get("content-type");
    if (type !== null) {
      const full = withCharset(type, charset);
      res.headers.set("Content-Type", full);
      work.typeSet = full;
    }
  }
}

function charsetParameter(offer: Expectation): string | null | undefined {
  for (const [name, value] of offer.params) if (name === "charset") return canonicalCharset(value);
  return undefined;
}

function checkOptions(middleware: string, options: unknown, known: readonly string[]): { vary: boolean; threshold: number } {
  if (options === null || typeof options !== "object") throw invalidOption(middleware, "options", "an object", options);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw invalidOption(middleware, key, `one of ${known.join(", ")} (unknown option)`, (options as Record<string, unknown>)[key]);
  }
  const o = { ...NEGOTIATE_DEFAULTS, ...(options as NegotiateOptions & AcceptEncodingOptions) };
  if (typeof o.vary !== "boolean") throw invalidOption(middleware, "vary", "true or false", o.vary);
  if (typeof o.threshold !== "number" || !Number.isSafeInteger(o.threshold) || o.threshold < 0) {
    throw invalidOption(middleware, "threshold", "a whole number of bytes, 0 or more", o.threshold);
  }
  return o;
}

function build(
  middleware: string,
  headerName: string,
  expectations: string,
  forward: ForwardCallback<string, NegotiatedContext>,
  options: unknown,
  apply: Apply,
): HandlerCallback {
  if (typeof headerName !== "string" || !isToken(headerName)) {
    throw invalidOption(middleware, "headerName", "a header name", headerName);
  }
  if (typeof forward !== "function") throw invalidOption(middleware, "forward", "a function (req, res, next, ctx, value) => boolean", forward);
  const { vary, threshold } = checkOptions(middleware, options, apply === "encoding" ? ["vary", "threshold"] : ["vary"]);
  const kind = negotiationKind(headerName);
  let offers: Expectation[];
  try {
    offers = parseExpectations(kind, expectations);
  } catch (error) {
    if (!(error instanceof ExpectationError)) throw error;
    throw invalidOption(middleware, "expectations", `a comma-separated list with optional q-values (${error.message})`, expectations);
  }
  if (apply === "charset" || apply === "type") {
    for (const offer of offers) {
      const charset = apply === "charset" ? canonicalCharset(offer.value) : charsetParameter(offer);
      if (charset === null) {
        throw invalidOption(middleware, "expectations", `charsets valum can transcode into (${TRANSCODABLE_CHARSETS.join(", ")})`, offer.value);
      }
    }
  }
  if (apply === "encoding") {
    for (const offer of offers) {
      if (!CODINGS.includes(offer.key)) throw invalidOption(middleware, "expectations", `codings among ${CODINGS.join(", ")}`, offer.value);
    }
    // identity is the fallback the client may always take, unless listed (e.g. identity;q=0)
    if (!offers.some((offer) => offer.key === "identity")) offers = [...offers, parseExpectations(kind, "identity")[0]!];
  }
  const negotiation = new Negotiation(headerName, kind, offers, forward, apply, vary, threshold);
  const handler = function negotiate(req: Request, res: Response, next: NextCallback, ctx: Context): boolean | Promise<boolean> {
    return negotiation.handle(req, res, next, ctx);
  };
  // named after the helper that made it, for stack traces and route listings
  return Object.defineProperty(handler, "name", { value: middleware });
}

/**
 * Chooses among `expectations` (`"application/json, text/html; q=0.9"`: values with optional
 * server q-values) by the request header `headerName`, and forwards the choice (also
 * `ctx.negotiated`); 406 listing the available values when the client accepts none. The four
 * Accept headers are compared by their RFC 9110 rules, any other header as tokens. Nothing is
 * applied to the response but `Vary`: the `accept*` helpers do that.
 *
 * @example
 * app.get("/", negotiate("Accept", "application/json, text/html; q=0.9", (req, res, next, ctx, type) =>
 *   type === "application/json" ? res.expandJson({ hello: "world" }) : res.expandUtf8("<p>hello world</p>")));
 */
export function negotiate<C extends Context = Context>(
  headerName: string,
  expectations: string,
  forward: ForwardCallback<string, NoInfer<C> & { negotiated: string }>,
  options: NegotiateOptions = {},
): HandlerCallback<C> {
  return build("negotiate", headerName, expectations, forward as ForwardCallback<string, NegotiatedContext>, options, "none") as HandlerCallback<C>;
}

/**
 * `negotiate` on `Accept`, setting `Content-Type` to the chosen media type. A `charset`
 * parameter in it is honoured: the body, which the application writes in UTF-8, is transcoded
 * into it (charsets in `TRANSCODABLE_CHARSETS`). `+json` and `+xml` types serve clients of
 * `application/json` and `application/xml`, and `application/*+json` ranges.
 *
 * @example
 * app.get("/users", accept("application/json, text/csv; q=0.5", (req, res, next, ctx, type) =>
 *   type === "text/csv" ? res.expandUtf8("id,name\n1,ana\n") : res.expandJson([{ id: 1, name: "ana" }])));
 */
export function accept<C extends Context = Context>(
  expectations: string,
  forward: ForwardCallback<string, NoInfer<C> & { negotiated: string }>,
  options: NegotiateOptions = {},
): HandlerCallback<C> {
  return build("accept", "Accept", expectations, forward as ForwardCallback<string, NegotiatedContext>, options, "type") as HandlerCallback<C>;
}

/**
 * `negotiate` on `Accept-Charset`: the chosen charset goes into the Content-Type of a text body
 * (`text/*`, or a type written with a charset) and the body, which the application writes in
 * UTF-8, is transcoded into it as it streams. Only charsets in `TRANSCODABLE_CHARSETS`.
 *
 * @example
 * app.get("/legacy", acceptCharset("UTF-8, ISO-8859-1; q=0.5", (req, res) => res.expandUtf8("café")));
 */
export function acceptCharset<C extends Context = Context>(
  expectations: string,
  forward: ForwardCallback<string, NoInfer<C> & { negotiated: string }>,
  options: NegotiateOptions = {},
): HandlerCallback<C> {
  return build("acceptCharset", "Accept-Charset", expectations, forward as ForwardCallback<string, NegotiatedContext>, options, "charset") as HandlerCallback<C>;
}

/**
 * `negotiate` on `Accept-Encoding` among `gzip`, `deflate`, `br` and `identity` (always
 * available unless listed with `q=0`): the body is compressed as it streams, with
 * `Content-Encoding` set and a strong ETag made weak; never a 204, 304, 206, HEAD,
 * `Cache-Control: no-transform`, already encoded or `text/event-stream` answer, nor a body of
 * known length under `threshold` bytes.
 *
 * @example
 * app.get("/report", acceptEncoding("br, gzip, deflate", (req, res) => res.expandUtf8(bigReport())));
 */
export function acceptEncoding<C extends Context = Context>(
  expectations: string,
  forward: ForwardCallback<string, NoInfer<C> & { negotiated: string }>,
  options: AcceptEncodingOptions = {},
): HandlerCallback<C> {
  return build("acceptEncoding", "Accept-Encoding", expectations, forward as ForwardCallback<string, NegotiatedContext>, options, "encoding") as HandlerCallback<C>;
}

/**
 * `negotiate` on `Accept-Language`, setting `Content-Language`. A client's `fr-CA` accepts
 * `fr` and its `fr` accepts `fr-CA`.
 *
 * @example
 * app.get("/", acceptLanguage("en, fr; q=0.9", (req, res, next, ctx, lang) => res.expandUtf8(lang === "fr" ? "bonjour" : "hello")));
 */
export function acceptLanguage<C extends Context = Context>(
  expectations: string,
  forward: ForwardCallback<string, NoInfer<C> & { negotiated: string }>,
  options: NegotiateOptions = {},
): HandlerCallback<C> {
  return build("acceptLanguage", "Accept-Language", expectations, forward as ForwardCallback<string, NegotiatedContext>, options, "language") as HandlerCallback<C>;
}

/**
 * `negotiate` on an `Accept-Ranges` request header, as Valum has it, setting the response's
 * `Accept-Ranges` to the choice. Clients do not send that header: without it the server's
 * first value (by its q-values) is chosen.
 *
 * @example
 * app.get("/file", acceptRanges("bytes, none; q=0.1", (req, res) => res.expandUtf8("...")));
 */
export function acceptRanges<C extends Context = Context>(
  expectations: string,
  forward: ForwardCallback<string, NoInfer<C> & { negotiated: string }>,
  options: NegotiateOptions = {},
): HandlerCallback<C> {
  return build("acceptRanges", "Accept-Ranges", expectations, forward as ForwardCallback<string, NegotiatedContext>, options, "ranges") as HandlerCallback<C>;
}
