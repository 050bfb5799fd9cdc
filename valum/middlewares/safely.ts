import type { Request, Response } from "../../vsgi/index.js";
import type { Context } from "../context.js";
import type { ForwardCallback, HandlerCallback, NextCallback } from "../handler.js";
import { respondToError, toStatus } from "../status.js";
import { invalidOption } from "./options.js";

/** A failure that is not a status: answered here, as the router would answer it. */
function contain(req: Request, res: Response, error: unknown): Promise<boolean> {
  if (toStatus(error) !== null) throw error;
  return respondToError(req, res, error);
}

/**
 * Runs `handler` (a route handler, or a middleware's forward callback) so that no failure
 * leaves it: an error that is not a status (its own, or one coming up from `next`) is logged
 * with its stack and answered right there with a 500 that reveals nothing (or, once the head is
 * written, the connection is closed), so the handlers above it see a handled request. Thrown
 * statuses still go up: they are answers, not failures.
 *
 * In Vala, Valum's `safely` takes a callback that cannot throw, a compile-time guarantee;
 * TypeScript has no checked exceptions, so here it is a boundary at run time.
 *
 * @example
 * app.use(timing); // always sees a handled request, never an exception
 * app.get("/report", safely(async (req, res) => res.expandUtf8(await buildReport())));
 */
export function safely<T = never, C extends Context = Context>(handler: ForwardCallback<T, C>): HandlerCallback<C> & ForwardCallback<T, C> {
  if (typeof handler !== "function") throw invalidOption("safely", "handler", "a handler (req, res, next, ctx) => boolean", handler);
  // five declared parameters: the router passes next and the context, and a forward its value
  return function safely(req: Request, res: Response, next: NextCallback, ctx: C, value?: T): boolean | Promise<boolean> {
    let result: boolean | Promise<boolean>;
    try {
      result = handler(req, res, next, ctx, value as T);
    } catch (error) {
      return contain(req, res, error);
    }
    if (typeof result === "boolean") return result;
    return Promise.resolve(result).then(undefined, (error: unknown) => contain(req, res, error));
  };
}
