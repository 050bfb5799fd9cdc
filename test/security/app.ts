// The application of the security tests that need one on every backend: response headers an
// application gets wrong (CR, LF, NUL), errors it throws (with paths and stacks in them), and a
// request counter for the smuggling tests. The cgi backend runs it through security-cgi-app.ts.
import { Router, Method } from "../../valum/index.js";
import { VsgiError, ERR_BAD_REQUEST, type Request, type Response } from "../../vsgi/index.js";

/** Requests the application saw, by path: a smuggled request would show up here. */
export const counted = { requests: 0, paths: [] as string[] };

/** Header mistakes, by name: each must end in an error answer, never in a split head. */
export const INJECTIONS: Record<string, (res: Response) => void> = {
  "value-crlf": (res) => res.headers.set("X-Test", "a\r\nInjected: 1"),
  "value-lf": (res) => res.headers.set("X-Test", "a\nInjected: 1"),
  "value-cr": (res) => res.headers.set("X-Test", "a\rInjected: 1"),
  "value-nul": (res) => res.headers.set("X-Test", "a\0Injected: 1"),
  "value-crlf-crlf": (res) => res.headers.set("X-Test", "a\r\n\r\nInjected: 1"),
  "append-crlf": (res) => res.headers.append("X-Test", "a\r\nInjected: 1"),
  "name-crlf": (res) => res.headers.set("X-Test\r\nInjected", "1"),
  "name-colon": (res) => res.headers.set("Injected: 1\r\nX", "1"),
  "name-nul": (res) => res.headers.set("X-Test\0Injected", "1"),
  "name-space": (res) => res.headers.set("X Injected", "1"),
  "location-crlf": (res) => res.headers.set("Location", "/x\r\nInjected: 1"),
  "content-type-lf": (res) => res.headers.set("Content-Type", "text/plain\nInjected: 1"),
  "reason-crlf": (res) => {
    res.reasonPhrase = "OK\r\nInjected: 1";
  },
  "cookie-path-crlf": (res) => res.setCookie("a", "b", { path: "/\r\nInjected: 1" }),
  "cookie-name-crlf": (res) => res.setCookie("a\r\nInjected", "b"),
  "number-then-crlf": (res) => {
    res.headers.set("X-Count", 1);
    res.headers.set("X-Test", "1\r\nInjected: 1");
  },
};

/** Errors an application may throw, by name: none may show its message (5xx), a stack or a path. */
export const ERRORS: Record<string, (req: Request) => unknown> = {
  "error-with-path": () => {
    throw new Error("ENOENT: no such file or directory, open '/srv/app/config/secret-path.json'");
  },
  "async-error": async () => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    throw new TypeError("Cannot read properties of undefined (reading 'x') at /srv/app/secret-path.js:12:3");
  },
  "vsgi-error": () => {
    throw new VsgiError(ERR_BAD_REQUEST, "internal state /srv/app/secret-path broken");
  },
  "vsgi-error-500": () => {
    throw new VsgiError("ERR_APP_INTERNAL", "database at /srv/app/secret-path.sqlite is locked", { status: 500 });
  },
  "vsgi-error-503": () => {
    throw new VsgiError("ERR_APP_INTERNAL", "pool exhausted, see /srv/app/secret-path.log", { status: 503 });
  },
  string: () => {
    throw "a thrown string with /srv/app/secret-path in it";
  },
  object: () => {
    throw { path: "/srv/app/secret-path", stack: "at /srv/app/secret-path.js:1:1" };
  },
  null: () => {
    throw null;
  },
  "json-body": (req) => req.json(),
  "error-with-cause": () => {
    throw new Error("outer", { cause: new Error("inner /srv/app/secret-path") });
  },
};

/**
 * The application: `/inject/<name>`, `/error/<name>`, `/count...` (counts and answers the path and
 * body length), anything else 200 `ok`.
 *
 * @example Server.new("scgi", { handler: securityApp() });
 */
export function securityApp(): Router {
  const app = new Router();
  app.rule(Method.ANY, "/inject/<path:name>", (req, res, next, ctx) => {
    INJECTIONS[ctx.name]!(res);
    return res.expandUtf8("should not be sent");
  });
  app.rule(Method.ANY, "/error/<path:name>", async (req, res, next, ctx) => {
    await ERRORS[ctx.name]!(req);
    return res.expandUtf8("should not be sent");
  });
  app.use(async (req, res) => {
    if (!req.path.startsWith("/count")) return res.expandUtf8("ok");
    // counted once the whole body is in: a request cut short is no request
    const body = req.path.includes("noread") ? Buffer.alloc(0) : await req.flatten();
    counted.requests++;
    counted.paths.push(req.path);
    return res.expandUtf8(`count ${req.method} ${req.path} ${body.length} te=${req.headers.get("transfer-encoding")}`);
  });
  return app;
}
