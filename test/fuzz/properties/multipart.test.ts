// Properties of the media-type parser (vsgi/media-type.ts) and of the multipart boundary it
// reads for the multipart middleware (valum/middlewares/multipart.ts): formatMediaType
// round-trips through parseMediaType; any text is a media type or a MediaTypeError; every
// boundary RFC 2046 allows, quoted or not, carries a form whose parts come back exactly, body
// split anywhere by the client; any Content-Type is a 400 or 415, never a 500.
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { request as httpRequest } from "node:http";
import fc from "fast-check";
import { Router, multipart } from "../../../valum/index.js";
import { MediaTypeError, formatMediaType, isMultipartBoundary, parseMediaType } from "../../../vsgi/media-type.js";
import { setErrorLogger, logError } from "../../../vsgi/index.js";
import { serve, type Served } from "../../helpers/http.js";
import { PROPERTY_TIMEOUT, cuts, mutatedText, params, randomText, split, textFrom } from "../../helpers/fuzz.js";

const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
const paramValue = fc.oneof(token, fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: 20 }), fc.constant(""));
const mediaType = fc.record({
  type: token,
  subtype: token,
  parameters: fc.uniqueArray(fc.tuple(token, paramValue), { maxLength: 5, selector: ([n]) => n.toLowerCase() }).map((list) => new Map(list)),
});
// RFC 2046 §5.1.1 bchars; the last one not a space
const BCHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'()+_,-./:=? ";
const boundary = fc
  .tuple(fc.string({ unit: fc.constantFrom(...BCHARS), maxLength: 69 }), fc.constantFrom(...BCHARS.trim()))
  .map(([s, last]) => s + last);

describe("media types, properties", () => {
  it(
    "formatMediaType round-trips through parseMediaType (names lower-cased, values kept)",
    () => {
      fc.assert(
        fc.property(mediaType, (m) => {
          const parsed = parseMediaType(formatMediaType(m));
          expect(parsed.essence).toBe(`${m.type}/${m.subtype}`.toLowerCase());
          expect([...parsed.parameters]).toEqual([...m.parameters].map(([n, v]) => [n.toLowerCase(), v]));
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "any text: a media type or a MediaTypeError",
    () => {
      const text = fc.oneof(randomText, textFrom(["multipart/form-data", "text/plain", ";", "=", '"', "\\", " ", "\t", "boundary", "charset", "a", "/", ",", "é", "\u0000"], 16), mutatedText(mediaType.map(formatMediaType)));
      fc.assert(
        fc.property(text, (t) => {
          try {
            const m = parseMediaType(t);
            expect(m.essence).toBe(`${m.type}/${m.subtype}`);
          } catch (error) {
            expect(error).toBeInstanceOf(MediaTypeError);
          }
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "isMultipartBoundary accepts exactly RFC 2046's boundaries",
    () => {
      fc.assert(
        fc.property(fc.oneof(boundary, randomText, mutatedText(boundary)), (b) => {
          const rfc = b.length >= 1 && b.length <= 70 && [...b].every((c) => BCHARS.includes(c)) && !b.endsWith(" ");
          expect(isMultipartBoundary(b)).toBe(rfc);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );
});

/** A form as a browser writes it: each part's head, its bytes, CRLF; then the closing delimiter. */
function form(b: string, parts: readonly { name: string; file: boolean; body: Uint8Array }[]): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.file ? `; filename="${p.name}.bin"` : ""}`;
    chunks.push(Buffer.from(`--${b}\r\nContent-Disposition: ${disposition}\r\n\r\n`, "latin1"), Buffer.from(p.body), Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${b}--\r\n`, "latin1"));
  return Buffer.concat(chunks);
}

/** POSTs `body` in the given pieces (each its own write), resolves with status and text. */
function post(port: number, contentType: string, pieces: readonly Buffer[], length: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ port, host: "127.0.0.1", method: "POST", path: "/", headers: { "Content-Type": contentType, "Content-Length": String(length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    for (const piece of pieces) req.write(piece);
    req.end();
  });
}

describe("multipart boundaries through the middleware, properties", () => {
  let served: Served;
  const previous = logError;
  beforeAll(async () => {
    setErrorLogger(() => undefined);
    const app = new Router();
    app.post(
      "/",
      multipart(async (_req, res, _next, _ctx, parts) => {
        const out: [string, string][] = [];
        for await (const part of parts) out.push([part.name, Buffer.concat(await part.toArray()).toString("base64")]);
        return res.expandUtf8(JSON.stringify(out));
      }),
    );
    served = await serve(app);
  });
  afterAll(async () => {
    await served.close();
    setErrorLogger(previous);
  });

  it(
    "every RFC 2046 boundary, quoted or bare, carries the parts exactly, however the body is cut",
    async () => {
      // files are bytes; fields are text (RFC 7578: UTF-8 unless said otherwise)
      const file = fc.record({ name: fc.stringMatching(/^[a-z0-9_]{1,10}$/), file: fc.constant(true), body: fc.uint8Array({ maxLength: 300 }) });
      const field = fc.record({ name: fc.stringMatching(/^[a-z0-9_]{1,10}$/), file: fc.constant(false), body: fc.string({ unit: "grapheme", maxLength: 100 }).map((t) => Buffer.from(t)) });
      const parts = fc.array(fc.oneof(file, field), { maxLength: 4 });
      await fc.assert(
        fc.asyncProperty(boundary, parts, cuts(), async (b, list, points) => {
          const body = form(b, list);
          // boundaries that are no token must be quoted; formatMediaType does it
          const type = formatMediaType({ type: "multipart", subtype: "form-data", parameters: new Map([["boundary", b]]) });
          const res = await post(served.port, type, split(body, points), body.length);
          expect(res.status).toBe(200);
          expect(JSON.parse(res.text)).toEqual(list.map((p) => [p.name, Buffer.from(p.body).toString("base64")]));
        }),
        params(0.1),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "any Content-Type: 200, 400 or 415, never a 500",
    async () => {
      const type = fc.oneof(
        mutatedText(boundary.map((b) => formatMediaType({ type: "multipart", subtype: "form-data", parameters: new Map([["boundary", b]]) }))),
        textFrom(["multipart/form-data", "; boundary=", "boundary", '"', "=", ";", " ", "a", "x".repeat(71), "multipart/mixed", "text/plain"], 8),
      );
      await fc.assert(
        fc.asyncProperty(type.filter((t) => /^[\t\x20-\x7e]*$/.test(t)), async (t) => {
          const body = Buffer.from("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--b--\r\n");
          const res = await post(served.port, t, [body], body.length);
          expect([200, 400, 415]).toContain(res.status);
        }),
        params(0.1),
      );
    },
    PROPERTY_TIMEOUT,
  );
});
