import type { Readable } from "node:stream";
import { VsgiError, ERR_BAD_REQUEST, ERR_BODY_TOO_LARGE, ERR_UNSUPPORTED_MEDIA_TYPE } from "./errors.js";
import { parseMediaType, MediaTypeError } from "./media-type.js";

/**
 * The default bound on a request body read into memory by `req.flatten()`, `req.flattenUtf8()`,
 * `req.form()` and `req.json()`: 1 MiB. Pass a limit to any of them for another bound
 * (`Infinity` for none, at your own risk).
 *
 * @default 1048576
 */
export const BODY_LIMIT = 1024 * 1024;

/** The media type `req.form()` decodes. */
export const FORM_MEDIA_TYPE = "application/x-www-form-urlencoded";

/**
 * The essence of a Content-Type (RFC 9110 8.3.1): type and subtype, lower-cased, without
 * parameters; `null` when there is none.
 *
 * @example mediaTypeEssence("Application/JSON; charset=utf-8"); // "application/json"
 */
export function mediaTypeEssence(contentType: string | null): string | null {
  if (contentType === null) return null;
  const semi = contentType.indexOf(";");
  const essence = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return essence.length === 0 ? null : essence;
}

/**
 * Whether a media type essence is JSON: `application/json` or a structured syntax suffix
 * `+json` (RFC 6839: `application/problem+json`, `application/vnd.api+json`).
 *
 * @example isJsonMediaType("application/merge-patch+json"); // true
 */
export function isJsonMediaType(essence: string | null): boolean {
  if (essence === null) return false;
  return essence === "application/json" || (essence.endsWith("+json") && essence.indexOf("/") > 0);
}

/** The 415 error the body readers reject with. */
export function unsupportedMediaType(contentType: string | null, expected: string): VsgiError {
  const got = contentType === null ? "no Content-Type" : `Content-Type ${contentType}`;
  return new VsgiError(ERR_UNSUPPORTED_MEDIA_TYPE, `unsupported media type: expected ${expected}, got ${got}`, { status: 415 });
}

/** The 413 error the body readers reject with. */
export function bodyTooLarge(limit: number): VsgiError {
  return new VsgiError(ERR_BODY_TOO_LARGE, `request body larger than ${limit} bytes`, { status: 413 });
}

/**
 * Whether a declared Content-Length already exceeds `limit`, so that the body need not be read
 * at all. A malformed length is left to the backend, which frames the body.
 */
export function declaredOver(contentLength: string | null, limit: number): boolean {
  if (contentLength === null || limit === Infinity) return false;
  const length = Number(contentLength);
  return Number.isFinite(length) && length > limit;
}

/**
 * The charset parameter of a Content-Type, lower-cased; `null` when absent. Only what
 * `req.json()` needs: JSON is UTF-8 (RFC 8259 8.1), anything else is refused. A Content-Type off
 * the grammar has no charset to trust: `"invalid"`, which is refused like any other.
 */
export function charsetOf(contentType: string): string | null {
  if (contentType.indexOf(";") === -1) return null;
  try {
    return parseMediaType(contentType).parameters.get("charset")?.toLowerCase() ?? null;
  } catch (error) {
    if (error instanceof MediaTypeError) return "invalid";
    throw error;
  }
}

// Keys that reach an object's prototype when the parsed value is later merged or assigned
// (`Object.assign`, a deep merge, `_.merge`): refused outright, as Fastify's secure-json-parse
// does, rather than silently dropped. Only bodies whose text could hold such a key are walked.
const SUSPECT = /__proto__|constructor|\\u/;

/**
 * Parses a JSON body: a 400 `VsgiError` when malformed or when it holds a `__proto__` key or a
 * `constructor` key with a `prototype` inside (prototype pollution).
 *
 * @example parseJsonBody('{"a":1}'); // { a: 1 }
 */
export function parseJsonBody(text: string): unknown {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new VsgiError(ERR_BAD_REQUEST, `malformed JSON body: ${(err as Error).message}`, { status: 400, cause: err });
  }
  if (SUSPECT.test(text)) rejectPrototypeKeys(value);
  return value;
}

function rejectPrototypeKeys(root: unknown): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === null || typeof value !== "object") continue;
    if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
      continue;
    }
    const record = value as Record<string, unknown>;
    if (Object.hasOwn(record, "__proto__")) throw forbidden("__proto__");
    const ctor = Object.hasOwn(record, "constructor") ? record.constructor : undefined;
    if (ctor !== null && typeof ctor === "object" && Object.hasOwn(ctor, "prototype")) throw forbidden("constructor.prototype");
    for (const key of Object.keys(record)) stack.push(record[key]);
  }
}

function forbidden(key: string): VsgiError {
  return new VsgiError(ERR_BAD_REQUEST, `JSON body refused: it holds a ${key} key (prototype pollution)`, { status: 400 });
}

/**
 * Reads `body` to its end into one buffer; past `limit` bytes it stops reading (the stream is
 * paused, its listeners removed) and rejects with a 413 `VsgiError`.
 *
 * @example const bytes = await readBody(req.body, 1 << 20);
 */
export function readBody(body: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (size > limit) {
        cleanup();
        body.pause();
        reject(bodyTooLarge(limit));
        return;
      }
      chunks.push(buf);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const cleanup = (): void => {
      body.off("data", onData);
      body.off("end", onEnd);
      body.off("error", onError);
    };
    if (body.readableEnded) {
      resolve(Buffer.alloc(0));
      return;
    }
    body.on("data", onData);
    body.once("end", onEnd);
    body.once("error", onError);
  });
}

/**
 * Decodes an `application/x-www-form-urlencoded` text, the last value of a key winning, into an
 * object without prototype (`__proto__` is an ordinary key).
 *
 * @example decodeForm("a=1&b=2"); // { a: "1", b: "2" }
 */
export function decodeForm(text: string): Record<string, string> {
  const form: Record<string, string> = Object.create(null);
  for (const [k, v] of new URLSearchParams(text)) form[k] = v;
  return form;
}
