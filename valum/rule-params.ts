// The parameters of a rule, read from its string by the type checker: what `/users/<int:id>`
// gives the handler's context (`ctx.id: number`) and what `urlFor` takes for it. Types only.
import type { BuiltinTypes } from "./param-types.js";

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The value a parameter of type `Ty` has in the context (`Url` false) or takes in `urlFor` (`Url` true). */
type ValueOf<Ty extends string, T, Url extends boolean> = Ty extends keyof T
  ? Url extends false
    ? T[Ty]
    : Ty extends keyof BuiltinTypes
      ? [T[Ty]] extends [BuiltinTypes[Ty]]
        ? BuiltinTypes[Ty]
        : T[Ty] | string
      : T[Ty] | string
  : Url extends false
    ? unknown
    : string | number;

type ParamOf<P extends string, T, Url extends boolean> = P extends `${infer Ty}:${infer N}`
  ? { [K in N]: ValueOf<Ty, T, Url> }
  : { [K in P]: string };

type Scan<S extends string, T, Url extends boolean, Stack extends unknown[], Cur> = S extends `<${infer P}>${infer Rest}`
  ? Rest extends `?${infer After}`
    ? Scan<After, T, Url, Stack, Cur & Partial<ParamOf<P, T, Url>>>
    : Scan<Rest, T, Url, Stack, Cur & ParamOf<P, T, Url>>
  : S extends `(${infer Rest}`
    ? Scan<Rest, T, Url, [Cur, ...Stack], {}>
    : S extends `)${infer Rest}`
      ? Stack extends [infer Parent, ...infer Up]
        ? Rest extends `?${infer After}`
          ? Scan<After, T, Url, Up, Parent & Partial<Cur>>
          : Scan<Rest, T, Url, Up, Parent & Cur>
        : Cur
      : S extends `${infer _C}${infer Rest}`
        ? Scan<Rest, T, Url, Stack, Cur>
        : Cur;

/**
 * The parameters of a rule, as the handler's context sees them: `int` is a `number`, `string`
 * and `path` are strings, a registered type is its converter's result, a parameter inside an
 * optional part may be `undefined`.
 *
 * @example type P = RuleParams<"/users/<int:id>(/<name>)?">; // { id: number; name?: string }
 */
export type RuleParams<R extends string, T = BuiltinTypes> = string extends R
  ? { [key: string]: unknown }
  : Simplify<Scan<R, T, false, [], {}>>;

/**
 * The parameters `urlFor` takes for a rule: the same names, required unless inside an optional
 * part; values of a registered type may also be given as text (what the rule matches).
 *
 * @example const p: UrlParams<"/users/<int:id>"> = { id: 5 };
 */
export type UrlParams<R extends string, T = BuiltinTypes> = string extends R
  ? { [key: string]: unknown }
  : Simplify<Scan<R, T, true, [], {}>>;
