import type { Request, Response } from "../../vsgi/index.js";
import type { Context } from "../context.js";
import type { HandlerCallback, NextCallback } from "../handler.js";
import { invalidOption } from "./options.js";

/**
 * Passes control on: `forward(values)` is a handler that stores each entry of `values` in the
 * context and calls `next`; `forward` itself is Valum's `ForwardCallback` that does nothing
 * with the value it gets but call `next` (the middleware has stored the value in the context
 * already), for a middleware whose only job is to check or negotiate.
 *
 * @example
 * app.use(forward({ site: "docs" })); // ctx.site in every later handler
 * app.get("/", accept("text/html", forward)); // negotiate, then the next route
 */
export function forward(values: object): HandlerCallback;
export function forward(req: Request, res: Response, next: NextCallback, ctx: Context, value?: unknown): boolean | Promise<boolean>;
export function forward(...args: unknown[]): HandlerCallback | boolean | Promise<boolean> {
  if (args.length >= 3 && typeof args[2] === "function") return (args[2] as NextCallback)();
  const values = args[0];
  if (args.length !== 1 || values === null || typeof values !== "object" || Array.isArray(values)) {
    throw invalidOption("forward", "values", "an object of context values", values);
  }
  const entries = Object.entries(values);
  return function forward(req: Request, res: Response, next: NextCallback, ctx: Context): boolean | Promise<boolean> {
    for (let i = 0; i < entries.length; i++) ctx[entries[i]![0]] = entries[i]![1];
    return next();
  };
}
