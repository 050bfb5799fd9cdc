/**
 * What the Router answers when no route (or no more route) handles a request: a TRACE echoed,
 * OPTIONS answered with the methods the path has, 405 listing them, or 404. Apart from the
 * Router's API: none of it runs while a route answers.
 */
import type { Request, Response } from "../vsgi/index.js";
import { Method, methodsToStrings } from "./method.js";
import { ClientError } from "./status.js";
import type { Table } from "./table.js";

/** Headers a TRACE echo leaves out: credentials (RFC 9110 9.3.8). */
const SENSITIVE = new Set(["authorization", "proxy-authorization", "cookie"]);

/**
 * Nothing (more) handles the request: echo a TRACE; if routes of `table` serve `path` with
 * other methods, answer OPTIONS with them or throw a 405 listing them; otherwise throw a 404.
 * `bit` is the request's method as a `Method` flag.
 *
 * @example return exhausted(this.table, req, res, Method.GET, req.path); // throws the 404
 */
export function exhausted(table: Table, req: Request, res: Response, bit: number, path: string): boolean | Promise<boolean> {
  if (bit === Method.TRACE) return echo(req, res);
  let allow: number;
  if (path === "*" && bit === Method.OPTIONS) {
    // OPTIONS *: the server as a whole
    allow = table.methods;
    if (allow === 0) throw ClientError.notFound();
  } else {
    allow = table.allowed(path);
    if (allow === 0 || (allow & bit) !== 0) throw ClientError.notFound();
  }
  const methods = methodsToStrings(allow).join(", ");
  if (bit === Method.OPTIONS) {
    res.headers.set("Allow", methods);
    return res.expand("");
  }
  throw ClientError.methodNotAllowed(methods);
}

/**
 * TRACE: the request as received, as `message/http` (credentials left out, RFC 9110 9.3.8).
 *
 * @example return echo(req, res);
 */
export function echo(req: Request, res: Response): Promise<boolean> {
  let text = `${req.method} ${req.target} HTTP/${req.httpVersion}\r\n`;
  for (const [name, value] of req.headers) {
    if (!SENSITIVE.has(name.toLowerCase())) text += `${name}: ${value}\r\n`;
  }
  res.status = 200;
  res.headers.set("Content-Type", "message/http");
  return res.expand(Buffer.from(text + "\r\n", "latin1"));
}
