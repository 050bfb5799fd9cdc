/**
 * Proactive content negotiation (RFC 9110 section 12.1), as Valum's `negotiate` and its
 * `accept*` helpers: choose among the values a route offers by a request header, hand the
 * choice to a forward callback, and apply it to the response. The ranking is
 * `valum/http/accept.ts`'s; the compression and transcoding are decided when the head goes out
 * (`Response.onHead`), from the final status and headers, in negotiate-head.ts.
 */
import type { Request, Response } from "../../vsgi/index.js";
import type { Context } from "../context.js";
import type { ForwardCallback, HandlerCallback, NextCallback } from "../handler.js";
import { ClientError } from "../status.js";
import { invalidOption } from "./options.js";
import { headWork, pendingHeadWork } from "./negotiate-head.js";
import { ExpectationError, negotiationKind, parseExpectations, rankExpectations, type Expectation, type NegotiationKind } from "../http/accept.js";
import { canonicalCharset, TRANSCODABLE_CHARSETS, withCharset } from "../http/charset.js";
import { isToken } from "../http/tokens.js";
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
/** What is applied to the response besides the choice itself. */
type Apply = "none" | "type" | "charset" | "language" | "encoding" | "ranges";

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
      const work = pendingHeadWork(res);
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
