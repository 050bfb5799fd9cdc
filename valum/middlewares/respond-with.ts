import type { Request, Response } from "../../vsgi/index.js";
import type { HandlerCallback } from "../handler.js";
import { Status, statusFromCode } from "../status.js";
import { invalidOption } from "./options.js";

/**
 * A handler that always gives the same answer: a status code or a `Status` (thrown, so that
 * `status` handlers and the router answer it as any thrown status: `Location`, `Allow`, no body
 * for 204 ...), or a fixed body (text as `text/plain; charset=UTF-8`, bytes as
 * `application/octet-stream`, unless a Content-Type is set already) sent with the current
 * status, 200 unless changed. Checked and encoded once, at registration.
 *
 * @example
 * app.get("/health", respondWith("ok"));
 * app.rule(Method.ANY, "/legacy/*", respondWith(410));
 * app.get("/old", respondWith(Redirection.movedPermanently("/new")));
 */
export function respondWith(answer: number | Status | string | Uint8Array): HandlerCallback {
  if (typeof answer === "number") {
    if (!Number.isInteger(answer) || answer < 100 || answer > 599) throw invalidOption("respondWith", "status", "an HTTP status from 100 to 599", answer);
    const code = answer;
    // (req, res): the router then spares the handler a context
    return function respondWith(_req: Request, _res: Response): never {
      // a new one each time: a status handler may look at it, and keep it
      throw statusFromCode(code);
    };
  }
  if (answer instanceof Status) {
    const status = answer;
    return function respondWith(_req: Request, _res: Response): never {
      throw status;
    };
  }
  let bytes: Uint8Array;
  let type: string;
  if (typeof answer === "string") {
    bytes = Buffer.from(answer, "utf8");
    type = "text/plain; charset=UTF-8";
  } else if (answer instanceof Uint8Array) {
    bytes = answer.slice();
    type = "application/octet-stream";
  } else {
    throw invalidOption("respondWith", "answer", "a status code, a Status, a string or bytes", answer);
  }
  return function respondWith(req: Request, res: Response): Promise<boolean> {
    if (!res.headers.hasLower("content-type")) res.headers.setTrusted("Content-Type", type);
    return res.expand(bytes);
  };
}
