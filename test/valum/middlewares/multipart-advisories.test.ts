// The shapes of past denial-of-service advisories against Node multipart parsers, through the
// multipart middleware on a real server: each is a clear answer (the part given to the handler,
// or a 400/413), never a crash, a hang or a log line with a stack.
// - dicer (busboy < 1.0), CVE-2022-24434 / GHSA-wm7h-9275-46v2: a part header line starting
//   with a space crashed the parser;
// - multer, CVE-2025-48997: a part with an empty field name threw an unhandled exception;
// - multer, CVE-2025-47944: a malformed body (a part cut short, no closing boundary) did too.
// - busboy's own limits (parts, files, fields, sizes, header lines) are tested in multipart.test.ts.
import { describe, it, expect } from "@jest/globals";
import { Router, multipart } from "../../../valum/index.js";
import { capturingErrors } from "../../helpers/log.js";
import { withServer } from "../util.js";

const BOUNDARY = "adv-boundary";
const TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

/** An app that answers the names and sizes of the parts it read. */
function app(): Router {
  const router = new Router();
  router.post(
    "/form",
    multipart(async (req, res, next, ctx, parts) => {
      const seen: string[] = [];
      for await (const part of parts) seen.push(`${JSON.stringify(part.name)}:${(await part.text()).length}`);
      return res.expandUtf8(seen.join(","));
    }),
  );
  return router;
}

const cases: [string, string, RegExp][] = [
  ["a part header line starting with a space (dicer)", `--${BOUNDARY}\r\n Content-Disposition: form-data; name="a"\r\n\r\nx\r\n--${BOUNDARY}--\r\n`, /^malformed multipart body: malformed part header$/],
  ["an empty field name (multer CVE-2025-48997)", `--${BOUNDARY}\r\nContent-Disposition: form-data; name=""; filename="f"\r\n\r\nxyz\r\n--${BOUNDARY}--\r\n`, /^a part without a name$/],
  ["a part cut short, no closing boundary (multer CVE-2025-47944)", `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\nxyz`, /^the multipart body ends before its closing boundary$/],
  ["a part without its blank line", `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\nxyz\r\n--${BOUNDARY}--\r\n`, /^malformed multipart body: malformed part header$/],
  ["no Content-Disposition at all", `--${BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nxyz\r\n--${BOUNDARY}--\r\n`, /./],
];

describe("multipart: past advisories' shapes", () => {
  it.each(cases)("%s: a 400 that says why, the server still serving, nothing logged", async (_name, body, message) => {
    const lines = await capturingErrors(() =>
      withServer(app(), async (c) => {
        const res = await c.send("POST", "/form", { "Content-Type": TYPE, "Content-Length": String(Buffer.byteLength(body)) }, body);
        expect(res.status).toBe(400);
        expect(res.text).toMatch(message);
        const next = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="ok"\r\n\r\nfine\r\n--${BOUNDARY}--\r\n`;
        const after = await c.send("POST", "/form", { "Content-Type": TYPE, "Content-Length": String(next.length) }, next);
        expect(after.status).toBe(200);
        expect(after.text).toBe('"ok":4');
      }),
    );
    expect(lines).toEqual([]);
  });
});
