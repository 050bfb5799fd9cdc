/**
 * The Router's method helpers (`get`, `post`, ...): one list, from which the Router's prototype
 * gets the functions and its interface their types (as Hono's `METHODS`).
 */
import { Method } from "./method.js";
import type { RuleHandler, NameMap, Router } from "./router.js";
import type { TypeMap, UrlParams } from "./rule.js";

/**
 * The method helpers, one per standard method: `app.get(rule, handler, name?)` is
 * `app.rule(Method.GET, rule, handler, name?)`. One list (as Hono's `METHODS`), from which the
 * Router's prototype gets the functions and its interface their types.
 */
export const METHOD_HELPERS = {
  /**
   * A GET route (HEAD requests included; HEAD never sends the body).
   *
   * @example app.get("/users/<int:id>", (req, res, next, ctx) => res.expandUtf8(`user ${ctx.id}`), "user");
   */
  get: Method.GET,
  /** A POST route. @example app.post("/users", async (req, res) => ...); */
  post: Method.POST,
  /** A PUT route. @example app.put("/users/<int:id>", (req, res, next, ctx) => ...); */
  put: Method.PUT,
  /** A DELETE route. @example app.delete("/users/<int:id>", (req, res, next, ctx) => ...); */
  delete: Method.DELETE,
  /** A HEAD-only route (a GET route answers HEAD already). @example app.head("/ping", (req, res) => res.end()); */
  head: Method.HEAD,
  /** An OPTIONS route (the router answers OPTIONS itself otherwise). @example app.options("/x", (req, res) => res.end()); */
  options: Method.OPTIONS,
  /** A TRACE route (the router echoes TRACE itself otherwise). @example app.trace("/x", (req, res) => ...); */
  trace: Method.TRACE,
  /** A CONNECT route. @example app.connect("/x", (req, res) => ...); */
  connect: Method.CONNECT,
  /** A PATCH route. @example app.patch("/users/<int:id>", (req, res, next, ctx) => ...); */
  patch: Method.PATCH,
} as const;

/** The name of a method helper: `get`, `post`, ... */
export type MethodHelperName = keyof typeof METHOD_HELPERS;

/**
 * The method helpers' types: each is `rule` with its method, its handler's context typed from
 * the rule (under the scope prefix), and the name added to the router's names.
 */
export type MethodHelpers<Types extends TypeMap, Names extends NameMap, Prefix extends string> = {
  [K in MethodHelperName]: <R extends string, N extends string = never>(
    rule: R,
    handler: RuleHandler<`${Prefix}${R}`, Types>,
    name?: N,
  ) => Router<Types, Names & { [K in N]: UrlParams<`${Prefix}${R}`, Types> }, Prefix>;
};

/**
 * Puts the helpers on the Router's prototype: `get` calls `rule(Method.GET, ...)`, and so on.
 *
 * @example installMethodHelpers(Router.prototype);
 */
export function installMethodHelpers(prototype: Router): void {
  for (const name of Object.keys(METHOD_HELPERS) as MethodHelperName[]) {
    const method = METHOD_HELPERS[name];
    const helper = function (this: Router, rule: string, handler: RuleHandler<string>, routeName?: string) {
      return this.rule(method, rule, handler, routeName);
    };
    Object.defineProperty(helper, "name", { value: name });
    Object.defineProperty(prototype, name, { value: helper, writable: true, configurable: true });
  }
}
