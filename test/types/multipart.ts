/**
 * Type tests for `multipart`: the forward's value and `ctx.multipart` are the parts, a part is a
 * Readable with its metadata, and the limits are a closed set. Compiled by the main build; each
 * `@ts-expect-error` line must fail to compile.
 */
import type { Readable } from "node:stream";
import { Router, multipart, MULTIPART_DEFAULTS, MultipartPart, MultipartParts, safeFilename, type MultipartLimits } from "../../valum/index.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}

const app = new Router();

app.post(
  "/upload",
  multipart(async (req, res, next, ctx, parts) => {
    assertType<Equal<typeof parts, MultipartParts>>();
    assertType<Equal<typeof ctx.multipart, MultipartParts>>();
    for await (const part of parts) {
      assertType<Equal<typeof part, MultipartPart>>();
      const stream: Readable = part;
      const name: string = part.name;
      const filename: string | null = part.filename;
      const type: string = part.type;
      const header: string | null = part.headers.get("content-type");
      const text: Promise<string> = part.text();
      void [stream, name, filename, type, header, text];
      // @ts-expect-error the filename may be null (a field)
      const sure: string = part.filename;
      void sure;
    }
    return res.expandUtf8("ok");
  }),
);

// The rule's parameters stay in the forward's context
app.post(
  "/users/<int:id>/avatar",
  multipart((req, res, next, ctx) => {
    const id: number = ctx.id;
    return res.expandUtf8(String(id));
  }),
);

const limits: MultipartLimits = { parts: 10, fields: 5, files: 2, fileSize: 1 << 20, fieldSize: 1024, headerPairs: 8 };
multipart(() => true, { limits });
// @ts-expect-error an unknown limit
multipart(() => true, { limits: { size: 1 } });
// @ts-expect-error a limit is a number
multipart(() => true, { limits: { fileSize: "1MB" } });

const fileSize: number = MULTIPART_DEFAULTS.limits.fileSize;
const safe: string | null = safeFilename("../a");
void [fileSize, safe];
