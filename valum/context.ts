/**
 * The context tree. Each route a request goes through gets a child of the previous route's
 * context; reading a key walks up to the parents. It is a plain prototype chain, so
 * `ctx.user` reads through every ancestor for free, and assigning shadows without touching the
 * parent.
 */

/**
 * A request's context: rule captures, the results of middlewares, and the router-wide values
 * of `router.context` at its root. Typed routes intersect it with their parameters.
 */
export interface Context {
  [key: string]: unknown;
}

/**
 * A new context whose lookups fall back to `parent` (a root when absent).
 *
 * @example
 * const root = createContext();
 * root.db = db;
 * const child = createContext(root);
 * child.db === db; // read through the parent
 */
export function createContext<P extends object = Context>(parent?: P | null): Context & P {
  return Object.create(parent ?? null) as Context & P;
}

/**
 * The parent of a context, or `null` at the root.
 *
 * @example contextParent(ctx)?.id; // the value of `id` one level up
 */
export function contextParent(ctx: Context): Context | null {
  return Object.getPrototypeOf(ctx) as Context | null;
}

/**
 * Whether `key` is set anywhere in the context or its ancestors.
 *
 * @example if (contextHas(ctx, "user")) ...
 */
export function contextHas(ctx: Context, key: string): boolean {
  return key in ctx;
}

/**
 * A flat copy of everything visible from `ctx`, nearest values winning: handy for templates,
 * logs and tests.
 *
 * @example contextToObject(ctx); // { id: 5, user: "ana" }
 */
export function contextToObject(ctx: Context): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in ctx) out[key] = ctx[key];
  return out;
}
