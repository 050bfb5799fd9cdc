import type { Request, Response } from "../vsgi/index.js";
import type { Context } from "./context.js";

/**
 * Runs the next matching route (with a child of the current context) and returns its result.
 * Calling it again runs the same routes again: that is how a status handler retries.
 */
export type NextCallback = () => boolean | Promise<boolean>;

/**
 * A route handler or a middleware. The result says whether the request is (or will be)
 * handled: return what a `res` helper returns, or what `next()` returns.
 *
 * The router looks at how many parameters a handler declares: one written `(req, res) => ...`
 * gets no `next` and no context of its own, which saves two allocations per request.
 *
 * @example
 * const logger: HandlerCallback = (req, res, next) => {
 *   console.log(req.method, req.path);
 *   return next();
 * };
 */
export type HandlerCallback<C extends Context = Context> = (
  req: Request,
  res: Response,
  next: NextCallback,
  ctx: C,
) => boolean | Promise<boolean>;

/**
 * Decides whether a `matcher` route applies; it may put what it found into `ctx`, which becomes
 * the context of the route's handler.
 */
export type MatcherCallback = (req: Request, ctx: Context) => boolean;

/**
 * What a middleware that produces a value hands it to (Valum's `ForwardCallback<T>`): a handler
 * with the value as a fifth argument. The middleware also stores the value in `ctx` under the key
 * its page names, so that a later handler can read it too.
 *
 * @example
 * app.get("/private", authenticate(new BasicAuthentication("board"), check, (req, res, next, ctx, auth) =>
 *   res.expandUtf8(`hello ${auth.username}`)));
 */
export type ForwardCallback<T, C extends Context = Context> = (
  req: Request,
  res: Response,
  next: NextCallback,
  ctx: C,
  value: T,
) => boolean | Promise<boolean>;
