// Properties of the CGI environment reader (vsgi/cgi-environment.ts), shared by the cgi, scgi,
// fastcgi and ajp backends, and of the cgi backend's body reader (servers/cgi/body.ts): what a
// front server sends (the test client's cgiVariables) is rebuilt exactly; any environment gives
// a request whose every accessor works, or a 400; stdin split anywhere gives exactly
// CONTENT_LENGTH bytes, or an abort when it ends short.
import { describe, it, expect } from "@jest/globals";
import { PassThrough } from "node:stream";
import fc from "fast-check";
import { Request } from "../../../vsgi/index.js";
import { headerFromEnvironment, headersFromEnvironment, requestFromEnvironment, variablesFromPairs } from "../../../vsgi/cgi-environment.js";
import { VsgiError } from "../../../vsgi/errors.js";
import { CgiBody } from "../../../servers/cgi/body.js";
import { cgiVariables } from "../../helpers/cgi-client.js";
import { PROPERTY_TIMEOUT, cuts, params, randomText, split } from "../../helpers/fuzz.js";

const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
const segment = fc.stringMatching(/^[A-Za-z0-9_~-]{1,8}$/);
const path = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => "/" + s.join("/"));
const query = fc.option(fc.stringMatching(/^[A-Za-z0-9=&_-]{0,20}$/), { nil: null });
const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,8}(-[A-Za-z0-9]{1,8}){0,2}$/).filter((n) => !["content-length", "transfer-encoding", "connection", "keep-alive"].includes(n.toLowerCase()));
const headerValue = fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/);

const request = fc.record({
  method: fc.oneof(fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS"), token),
  path,
  query,
  headers: fc.uniqueArray(fc.tuple(headerName, headerValue), { maxLength: 8, selector: ([n]) => n.toLowerCase().replace(/-/g, "_") }),
  length: fc.option(fc.nat(1e12), { nil: null }),
  prefix: fc.option(path, { nil: undefined }),
  https: fc.boolean(),
  port: fc.integer({ min: 1, max: 65535 }),
});

/** Whatever a request built from `environment` is asked, it answers (or the reader said 400). */
function readAll(environment: Readonly<Record<string, string | undefined>> | ReturnType<typeof variablesFromPairs>): void {
  let init;
  try {
    init = requestFromEnvironment(environment, undefined);
  } catch (error) {
    expect(error).toBeInstanceOf(VsgiError);
    expect((error as VsgiError).status).toBe(400);
    return;
  }
  const req = new Request(init);
  expect(req.path === "*" || req.path.startsWith("/")).toBe(true);
  expect(req.uri).toBeInstanceOf(URL);
  void [req.query, req.queryString, req.headers.get("host"), req.scriptName, req.cookies, req.header("content-type"), req.remoteAddress];
  headersFromEnvironment(environment);
  headerFromEnvironment(environment, "x-a");
  if (init.contentLength !== null) expect(Number.isSafeInteger(init.contentLength) && init.contentLength >= 0).toBe(true);
}

const VARIABLES = ["REQUEST_METHOD", "REQUEST_URI", "QUERY_STRING", "PATH_INFO", "SCRIPT_NAME", "CONTENT_LENGTH", "CONTENT_TYPE", "HTTP_HOST", "SERVER_NAME", "SERVER_ADDR", "SERVER_PORT", "HTTPS", "REQUEST_SCHEME", "SERVER_PROTOCOL", "HTTP_COOKIE", "REMOTE_ADDR", "HTTP_X_A", "HTTP_TRANSFER_ENCODING"];
const PIECES = ["/", "//", "..", ".", "%", "%2F", "%2e", "%00", "?", "#", ":", "@", "[", "]", "a", "é", " ", "\\", "http://", "*", "0", "443", "on", "https", "GET", "\u0000", "\ud800"];
const piecesText = fc.array(fc.oneof(fc.constantFrom(...PIECES), randomText), { maxLength: 8 }).map((p) => p.join(""));

describe("CGI environment reader, properties", () => {
  it(
    "rebuilds what a front server sends (the test client's variables): method, path, query, prefix, headers, length",
    () => {
      fc.assert(
        fc.property(request, (r) => {
          const target = (r.prefix ?? "") + r.path + (r.query === null ? "" : "?" + r.query);
          const vars = cgiVariables({ method: r.method, target, headers: r.headers }, r.length, { scriptName: r.prefix, https: r.https, serverPort: r.port });
          const init = requestFromEnvironment(variablesFromPairs(vars), undefined);
          expect(init.method).toBe(r.method);
          expect(init.contentLength).toBe(r.length);
          expect(init.scheme).toBe(r.https ? "https" : "http");
          expect(init.scriptName).toBe(r.prefix ?? "");
          expect(init.path).toBe(r.path);
          const req = new Request(init);
          expect(req.queryString).toBe(r.query);
          const headers = headersFromEnvironment(variablesFromPairs(vars));
          for (const [n, v] of r.headers) {
            expect(headers.get(n)).toBe(v);
            expect(req.header(n)).toBe(v);
          }
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "any environment: a request whose accessors all answer, or a 400 naming the variable",
    () => {
      const env = fc.dictionary(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...VARIABLES) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }), fc.oneof(piecesText, randomText), { maxKeys: 14 });
      const withMethod = fc.tuple(env, fc.oneof(token, piecesText)).map(([e, m]) => ({ ...e, REQUEST_METHOD: m }));
      fc.assert(
        fc.property(fc.oneof(env, withMethod), (e) => readAll(e)),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "mutated front-server variables: a request whose accessors all answer, or a 400",
    () => {
      const mutatedVars = fc
        .tuple(request, fc.array(fc.tuple(fc.nat(), fc.oneof(piecesText, randomText)), { minLength: 1, maxLength: 4 }))
        .map(([r, edits]) => {
          const vars = cgiVariables({ method: r.method, target: r.path + (r.query === null ? "" : "?" + r.query), headers: r.headers }, r.length, { scriptName: r.prefix, https: r.https });
          for (const [at, text] of edits) vars[at % vars.length]![1] = text;
          return vars;
        });
      fc.assert(
        fc.property(mutatedVars, (vars) => readAll(variablesFromPairs(vars))),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );
});

/** Reads a CgiBody over stdin fed `chunks`: the bytes it gave, and the abort it reported. */
async function readBody(chunks: readonly Buffer[], length: number | null, end: boolean): Promise<{ body: Buffer; truncated: boolean; failed: boolean }> {
  const stdin = new PassThrough();
  let truncated = false;
  const body = new CgiBody(
    () => stdin,
    () => (truncated = true),
  ).setLength(length);
  for (const chunk of chunks) stdin.write(chunk);
  if (end) stdin.end();
  const out: Buffer[] = [];
  let failed = false;
  try {
    for await (const chunk of body) out.push(chunk as Buffer);
  } catch {
    failed = true;
  }
  return { body: Buffer.concat(out), truncated, failed };
}

describe("cgi backend body reader, properties", () => {
  it(
    "gives exactly CONTENT_LENGTH bytes of stdin however it arrives, never more; to the end without one; an abort when it ends short",
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), fc.option(fc.nat(4000), { nil: null }), cuts(12), async (input, length, points) => {
          const chunks = split(input, points);
          const enough = length === null || input.length >= length;
          // with enough bytes the body ends without stdin ending; without, only stdin's end ends it
          const got = await readBody(chunks, length, !enough || length === null || points.length % 2 === 0);
          if (enough) {
            expect(got.failed || got.truncated).toBe(false);
            expect(got.body.equals(Buffer.from(input).subarray(0, length ?? input.length))).toBe(true);
          } else {
            expect(got.truncated && got.failed).toBe(true);
            expect(Buffer.from(input).subarray(0, got.body.length).equals(got.body)).toBe(true);
          }
        }),
        params(0.5),
      );
    },
    PROPERTY_TIMEOUT,
  );
});
