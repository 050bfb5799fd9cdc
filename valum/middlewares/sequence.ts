import type { Request, Response } from "../../vsgi/index.js";
import type { Context } from "../context.js";
import type { HandlerCallback, NextCallback } from "../handler.js";
import { invalidOption } from "./options.js";

function pair<C extends Context>(a: HandlerCallback<C>, b: HandlerCallback<C>): HandlerCallback<C> {
  return function sequence(req: Request, res: Response, next: NextCallback, ctx: C): boolean | Promise<boolean> {
    return a(req, res, () => b(req, res, next, ctx), ctx);
  };
}

/**
 * One handler made of several, as Valum's `sequence`: the first runs with the second as its
 * `next`, and so on; the last one's `next` is the route's own. They share the route's context,
 * as in Valum: what one stores, the following ones and the routes after read.
 *
 * @example
 * app.get("/admin", sequence(cacheControl("no-store"), requireLogin, (req, res) => res.expandUtf8("admin")));
 */
export function sequence<C extends Context = Context>(...handlers: HandlerCallback<NoInfer<C>>[]): HandlerCallback<C> {
  if (handlers.length === 0) throw invalidOption("sequence", "handlers", "at least one handler", handlers);
  handlers.forEach((handler, i) => {
    if (typeof handler !== "function") throw invalidOption("sequence", `handlers[${i}]`, "a handler (req, res, next, ctx) => boolean", handler);
  });
  return handlers.reduceRight((b, a) => pair(a, b));
}
