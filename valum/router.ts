/**
 * The Router, the public API: registration (rules, exact paths, regexes, matchers, middlewares,
 * scopes, types, names), `urlFor`, and handling: the matching routes run in insertion order with
 * `next` continuations and a context per route, then the default answers (TRACE echo, automatic
 * OPTIONS, 405, 404, thrown statuses). The routing table and its indexes are in table.ts, the
 * method helpers' list in method-helpers.ts, the answers when no route handles a request in
 * default-answers.ts.
 */
import { HANDLED, type Handler, type Request, type Response } from "../vsgi/index.js";
import type { Context } from "./context.js";
import type { HandlerCallback, MatcherCallback, NextCallback } from "./handler.js";
import { exhausted } from "./default-answers.js";
import { installMethodHelpers, type MethodHelpers } from "./method-helpers.js";
import { Method, methodFromString } from "./method.js";
import {
  CompiledRule,
  RuleError,
  createType,
  encodeLiteral,
  checkRuleStart,
  type BuiltinTypes,
  type RuleParams,
  type TypeMap,
  type UrlParams,
} from "./rule.js";
import { catchStatus, respondToError, type StatusContext } from "./status.js";
import { REGEX, RULE, Route, STATIC, Table, USE, find, type LiteHandler, type Reverser } from "./table.js";

// ---------------------------------------------------------------------------------------------
// Public types

/** The names a router knows, each with the parameters `urlFor` takes for it. */
export type NameMap = object;

/** The context of a route's handler: the context tree plus the rule's typed parameters. */
export type RuleContext<R extends string, T = BuiltinTypes> = Context & RuleParams<R, T>;

/** A handler for a rule: its context is typed from the rule string. */
export type RuleHandler<R extends string, T = BuiltinTypes> = HandlerCallback<RuleContext<R, T>>;

type UrlArgs<P> = {} extends P ? [params?: P] : [params: P];

function stripAnchors(source: string): string {
  let s = source.startsWith("^") ? source.slice(1) : source;
  if (s.endsWith("$")) {
    let slashes = 0;
    for (let i = s.length - 2; i >= 0 && s[i] === "\\"; i--) slashes++;
    if (slashes % 2 === 0) s = s.slice(0, -1);
  }
  return s;
}

// The helpers' types, merged into the class below (which gets the functions after it).
export interface Router<Types extends TypeMap = BuiltinTypes, Names extends NameMap = {}, Prefix extends string = "">
  extends MethodHelpers<Types, Names, Prefix> {}

// ---------------------------------------------------------------------------------------------
// The Router

/**
 * Routes requests to handlers. A handler's result says whether it handled the request; it may
 * instead call `next()` to run the following matching route. Routes are tried in the order
 * they were added.
 *
 * The type parameters track what the compiler can check: `Types`, the parameter types
 * (extended by `registerType`); `Names`, the named routes and their parameters (extended by each
 * named route, when calls are chained); `Prefix`, the rule prefix of a `scope`.
 *
 * @example
 * const app = new Router();
 * app.get("/users/<int:id>", (req, res, next, ctx) => res.expandUtf8(`user #${ctx.id}`), "user");
 * await Server.new("http", { handler: app }).run(process.argv);
 */
export class Router<Types extends TypeMap = BuiltinTypes, Names extends NameMap = {}, Prefix extends string = ""> implements Handler {
  /**
   * The router-wide context, the root of every request's context: put shared values here.
   *
   * @example app.context.db = db; app.get("/", (req, res, next, ctx) => ...ctx.db...);
   */
  readonly context: Context = Object.create(null) as Context;
  private readonly table: Table = new Table();
  /** The scope prefix, as a rule (empty outside `scope`). */
  private prefix = "";
  /** The scope prefix compiled with a tail, or `null` outside `scope`. */
  private prefixRule: CompiledRule | null = null;

  // --- registration ------------------------------------------------------------------------

  private compile(rule: string, tail: boolean): CompiledRule {
    if (typeof rule !== "string") throw new TypeError("a rule must be a string");
    return new CompiledRule(rule, this.table.lookupType, tail);
  }

  private nameRoute(name: string | undefined, reverser: Reverser): void {
    if (name === undefined) return;
    if (this.table.names.has(name)) throw new Error(`a route is already named ${JSON.stringify(name)}`);
    this.table.names.set(name, reverser);
  }

  private push(
    kind: number,
    methods: number,
    handler: HandlerCallback<any>,
    attach: string,
    rule: CompiledRule | null,
    regex: RegExp | null = null,
    matcher: MatcherCallback | null = null,
    exactTail: string | null = null,
    once = false,
  ): void {
    if (!Number.isInteger(methods) || methods <= 0 || methods > Method.ANY) {
      throw new TypeError(`invalid method flags ${String(methods)}: combine Method.GET, Method.POST, ...`);
    }
    const table = this.table;
    table.add(new Route(table.routes.length, kind, methods, handler, attach, rule, regex, matcher, exactTail, once));
  }

  /** An entry that runs for every request under the scope prefix (everywhere outside a scope). */
  private pushEverywhere(methods: number, handler: HandlerCallback<any>, matcher: MatcherCallback | null, once: boolean): void {
    const rule = this.prefixRule;
    this.push(USE, methods, handler, rule === null ? "" : rule.prefix, rule, null, matcher, null, once);
  }

  /**
   * Adds a route for the methods in `method` (flags of `Method`) and a rule (see docs/rules.md).
   * With a `name`, `urlFor(name, params)` builds its URLs.
   *
   * @example app.rule(Method.GET | Method.POST, "/search(/<query>)?", (req, res, next, ctx) => ...);
   */
  rule<R extends string, N extends string = never>(
    method: Method,
    rule: R,
    handler: RuleHandler<`${Prefix}${R}`, Types>,
    name?: N,
  ): Router<Types, Names & { [K in N]: UrlParams<`${Prefix}${R}`, Types> }, Prefix> {
    if (typeof rule !== "string") throw new TypeError("a rule must be a string");
    checkRuleStart(rule, this.prefix, false);
    const compiled = this.compile(this.prefix + rule, false);
    this.push(compiled.isStatic ? STATIC : RULE, method, handler, compiled.prefix, compiled);
    this.nameRoute(name, compiled);
    return this as any;
  }

  /**
   * A route for one exact path, taken literally (no rule syntax): `<`, `(`, `?` and `*` are
   * plain characters here. Matched by a map lookup.
   *
   * @example app.path(Method.GET, "/robots.txt", (req, res) => res.expandUtf8("User-agent: *\n"), "robots");
   */
  path<N extends string = never>(
    method: Method,
    path: string,
    handler: HandlerCallback<RuleContext<Prefix, Types>>,
    name?: N,
  ): Router<Types, Names & { [K in N]: UrlParams<Prefix, Types> }, Prefix> {
    if (typeof path !== "string") throw new TypeError("a path must be a string");
    // `*` alone is the asterisk request-target (as `asterisk()` routes it)
    if (!path.startsWith("/") && !(path === "" && this.prefix !== "") && !(path === "*" && this.prefix === "")) {
      throw new RuleError(path, `a path must start with "/"${this.prefix !== "" ? ` (it follows the scope prefix ${JSON.stringify(this.prefix)}) or be empty` : ""}`);
    }
    const encoded = encodeLiteral(path);
    const scope = this.prefixRule;
    const head = scope === null ? null : this.compile(this.prefix, false);
    if (head === null || head.isStatic) {
      const key = (head === null ? "" : head.prefix) + encoded;
      this.push(STATIC, method, handler, key, null);
      this.nameRoute(name, { reverse: () => key });
    } else {
      this.push(RULE, method, handler, scope!.prefix, scope, null, null, encoded);
      this.nameRoute(name, { reverse: (params) => head.reverse(params) + encoded });
    }
    return this as any;
  }

  /**
   * A route for a regular expression matched against the whole path (after the scope prefix,
   * if any), which is percent-encoded; named groups go into the context, decoded.
   *
   * @example app.regex(Method.GET, /\/archive\/(?<year>\d{4})/, (req, res, next, ctx) => ...);
   */
  regex(method: Method, regex: RegExp, handler: HandlerCallback<RuleContext<Prefix, Types>>): this {
    if (!(regex instanceof RegExp)) throw new TypeError("regex() takes a RegExp");
    const anchored = new RegExp(`^(?:${stripAnchors(regex.source)})$`, regex.flags.replace(/[gyd]/g, ""));
    const scope = this.prefixRule;
    this.push(REGEX, method, handler, scope === null ? "" : scope.prefix, scope, anchored);
    return this;
  }

  /**
   * A route decided by a function of the request; it may put what it found into the context
   * it receives, which becomes the handler's.
   *
   * @example app.matcher(Method.GET, (req) => req.header("x-beta") !== null, beta);
   */
  matcher(method: Method, matcher: MatcherCallback, handler: HandlerCallback<RuleContext<Prefix, Types>>): this {
    if (typeof matcher !== "function") throw new TypeError("matcher() takes a function (req, ctx) => boolean");
    this.pushEverywhere(method, handler, matcher, false);
    return this;
  }

  /**
   * A route for the `*` request-target (as in `OPTIONS * HTTP/1.1`).
   *
   * @example app.asterisk(Method.OPTIONS, (req, res) => { res.headers.set("Allow", "GET"); return res.end(); });
   */
  asterisk(method: Method, handler: HandlerCallback): this {
    this.push(STATIC, method, handler, "*", null);
    return this;
  }

  /**
   * A middleware for every request (every request under the prefix, inside a `scope`).
   *
   * @example app.use((req, res, next) => { res.headers.set("Server", "valum"); return next(); });
   */
  use(handler: HandlerCallback<RuleContext<Prefix, Types>>): this {
    this.pushEverywhere(Method.ANY, handler, null, false);
    return this;
  }

  /**
   * A middleware that runs for the first request only; later requests pass it by.
   *
   * @example app.once(async (req, res, next) => { await warmUp(); return next(); });
   */
  once(handler: HandlerCallback<RuleContext<Prefix, Types>>): this {
    this.pushEverywhere(Method.ANY, handler, null, true);
    return this;
  }

  /**
   * Catches the status `code` thrown by the routes that follow (including the router's own 404
   * and 405) and lets `handler` answer; its context has the `status` and its `message`, and
   * calling its `next` runs those routes again.
   *
   * @example app.status(404, (req, res, next, ctx) => res.expandUtf8(`nothing at ${req.path}`));
   */
  status(code: number, handler: HandlerCallback<StatusContext>): this {
    if (typeof handler !== "function") throw new TypeError("status() takes a handler");
    this.pushEverywhere(Method.ANY, catchStatus(code, handler), null, false);
    return this;
  }

  /**
   * Registers the routes `build` adds under a prefix, itself a rule: its parameters reach the
   * handlers' contexts. Return the router from `build` to keep the names it added typed.
   *
   * @example
   * app.scope("/admin", (admin) => {
   *   admin.use(requireLogin);
   *   admin.get("/users", listUsers); // /admin/users
   * });
   */
  scope<P extends string, Inner extends NameMap = {}>(
    prefix: P,
    build: (router: Router<Types, {}, `${Prefix}${P}`>) => Router<any, Inner, any> | void,
  ): Router<Types, Names & Inner, Prefix> {
    if (typeof prefix !== "string") throw new TypeError("a scope prefix must be a string");
    checkRuleStart(prefix, this.prefix, true);
    const view = Object.create(this) as Router<Types, {}, `${Prefix}${P}`>;
    view.prefix = this.prefix + prefix;
    view.prefixRule = this.compile(view.prefix, true);
    build(view);
    return this as any;
  }

  /**
   * Adds a parameter type for the rules registered after it: `pattern` (unanchored, matched on
   * the percent-encoded path), an optional conversion of the decoded text, and its inverse for
   * `urlFor` (`String(value)` by default; text is always taken as is). Chain it to have the
   * converted type in the handlers' contexts.
   *
   * @example
   * const app = new Router().registerType("hex", /[0-9a-fA-F]+/, (s) => parseInt(s, 16), (n) => n.toString(16));
   * app.get("/color/<hex:rgb>", (req, res, next, ctx) => ...); // ctx.rgb: number
   */
  registerType<N extends string, V = string>(
    name: N,
    pattern: RegExp,
    convert?: (value: string) => V,
    format?: (value: V) => string,
  ): Router<Omit<Types, N> & { [K in N]: V }, Names, Prefix> {
    if (!/^\w+$/.test(name)) throw new TypeError(`invalid type name ${JSON.stringify(name)}`);
    this.table.types.set(name, createType(pattern, convert, format));
    return this as any;
  }

  /**
   * The path of a named route, its parameters percent-encoded; optional parts whose parameters
   * are absent are left out. Throws for an unknown name or a missing parameter. The path is
   * relative to where the application is mounted (prefix it with `req.scriptName` if needed).
   *
   * @example app.urlFor("user", { id: 5 }); // "/users/5"
   */
  urlFor<N extends string>(
    name: N,
    ...params: N extends keyof Names ? UrlArgs<Names[N]> : [params?: Readonly<Record<string, unknown>>]
  ): string {
    const reverser = this.table.names.get(name);
    if (reverser === undefined) throw new Error(`no route is named ${JSON.stringify(name)}`);
    return reverser.reverse(params[0] as Readonly<Record<string, unknown>> | undefined);
  }

  // --- handling ----------------------------------------------------------------------------

  /**
   * Handles one request: the Handler interface of VSGI, so a router can be given to any
   * server as is. Matching uses `req.method`, or on a POST the `X-HTTP-Method-Override`
   * header; it resolves to whether the request was handled.
   *
   * @example await Server.new("http", { handler: app }).listen();
   */
  handle(req: Request, res: Response): boolean | Promise<boolean> {
    const table = this.table;
    if (table.dirty) table.build();
    let bit = methodFromString(req.method);
    if (bit === Method.POST) {
      const override = req.header("x-http-method-override");
      if (override !== null) bit = methodFromString(override.trim().toUpperCase());
    }
    const path = req.path;
    let result: boolean | Promise<boolean>;
    try {
      result = this.run(req, res, table.exact.get(path) ?? find(table.root, path), 0, bit, path, this.context);
    } catch (error) {
      return respondToError(req, res, error);
    }
    if (result === true || result === false) return result;
    if (result === HANDLED) return true;
    return this.settle(result, req, res);
  }

  private async settle(result: Promise<boolean>, req: Request, res: Response): Promise<boolean> {
    try {
      return await result;
    } catch (error) {
      return respondToError(req, res, error);
    }
  }

  /** Runs the first route of `list` from `i` on that matches, or the end of the chain. */
  private run(
    req: Request,
    res: Response,
    list: readonly Route[],
    i: number,
    bit: number,
    path: string,
    parent: Context,
  ): boolean | Promise<boolean> {
    for (; i < list.length; i++) {
      const route = list[i]!;
      if ((route.methods & bit) === 0) continue;
      if (route.kind === STATIC) {
        if (route.lite) return (route.handler as LiteHandler)(req, res);
        return this.invoke(route, req, res, list, i, bit, path, parent, true);
      }
      if (route.once && route.done) continue;
      const m = route.test(path);
      if (m === null) continue;
      if (route.matcher !== null) {
        const ctx = Object.create(parent) as Context;
        route.capture(ctx, m);
        if (!route.matcher(req, ctx)) continue;
        if (route.once) route.done = true;
        return route.handler(req, res, this.nextOf(route, req, res, list, i, bit, path, ctx), ctx);
      }
      if (route.once) route.done = true;
      if (route.lite) return (route.handler as LiteHandler)(req, res);
      return this.invoke(route, req, res, list, i, bit, path, parent, m);
    }
    return exhausted(this.table, req, res, bit, req.path);
  }

  private invoke(
    route: Route,
    req: Request,
    res: Response,
    list: readonly Route[],
    i: number,
    bit: number,
    path: string,
    parent: Context,
    m: RegExpExecArray | true,
  ): boolean | Promise<boolean> {
    const ctx = Object.create(parent) as Context;
    if (m !== true) route.capture(ctx, m);
    return route.handler(req, res, this.nextOf(route, req, res, list, i, bit, path, ctx), ctx);
  }

  /** The `next` of the route at `list[i]`: the following routes, under a child of `ctx`. */
  private nextOf(
    route: Route,
    req: Request,
    res: Response,
    list: readonly Route[],
    i: number,
    bit: number,
    path: string,
    ctx: Context,
  ): NextCallback {
    return () => {
      const now = req.path;
      if (now === path) return this.run(req, res, list, i + 1, bit, path, ctx);
      // a middleware rewrote the path: the following routes are those of the new path
      const table = this.table;
      if (table.dirty) table.build();
      const again = table.candidates(now);
      let j = 0;
      while (j < again.length && again[j]!.index <= route.index) j++;
      return this.run(req, res, again, j, bit, now, ctx);
    };
  }
}

installMethodHelpers(Router.prototype);
