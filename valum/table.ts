/**
 * The routing table, shared by a router and its scopes: the routes in insertion order, and the
 * indexes that find a path's candidates without walking them all (an exact-path map, a prefix
 * tree of leading literals). The Router (router.ts) registers routes here and runs them.
 */
import type { Request, Response } from "../vsgi/index.js";
import type { Context } from "./context.js";
import type { HandlerCallback, MatcherCallback } from "./handler.js";
import { CompiledRule, builtinTypes, decodeValue, type ParamType } from "./rule.js";
import { ClientError } from "./status.js";

/** What the router knows of a named route, to reverse it. */
export interface Reverser {
  reverse(params?: Readonly<Record<string, unknown>>): string;
}

export const STATIC = 0; // an exact path: in the exact-path index only, so it always matches there
export const RULE = 1; // a compiled rule
export const REGEX = 2; // a regular expression (after the scope prefix, if any)
export const USE = 3; // every request (under the scope prefix, if any): use, once, matcher, status

/** One entry of the routing table. */
export class Route {
  /** Insertion order: it decides between routes that both match. */
  readonly index: number;
  readonly kind: number;
  readonly methods: number;
  readonly handler: HandlerCallback<any>;
  /** A handler that declares only `(req)` or `(req, res)`: it gets no `next` and no context. */
  readonly lite: boolean;
  /** Where the route hangs in the prefix tree: every path it matches starts with this. */
  readonly attach: string;
  /** The rule (RULE), or the scope prefix as a rule with a tail (REGEX, USE, scoped path). */
  readonly rule: CompiledRule | null;
  /** REGEX: the expression, applied to the tail. */
  readonly regex: RegExp | null;
  /** USE: the matcher callback, if any. */
  readonly matcher: MatcherCallback | null;
  /** Scoped exact path whose scope prefix has parameters: the tail it must equal. */
  readonly exactTail: string | null;
  /** `once`: the route retires after its first request. */
  readonly once: boolean;
  done = false;

  constructor(
    index: number,
    kind: number,
    methods: number,
    handler: HandlerCallback<any>,
    attach: string,
    rule: CompiledRule | null,
    regex: RegExp | null,
    matcher: MatcherCallback | null,
    exactTail: string | null,
    once: boolean,
  ) {
    if (typeof handler !== "function") throw new TypeError("a route handler must be a function (req, res, next, ctx) => boolean");
    this.index = index;
    this.kind = kind;
    this.methods = methods;
    this.handler = handler;
    this.lite = matcher === null && (handler.length === 1 || handler.length === 2);
    this.attach = attach;
    this.rule = rule;
    this.regex = regex;
    this.matcher = matcher;
    this.exactTail = exactTail;
    this.once = once;
  }

  /** Whether the route's path part matches (methods aside); `null` when it does not. */
  test(path: string): RegExpExecArray | true | null {
    switch (this.kind) {
      case STATIC:
        return true;
      case RULE: {
        const m = this.rule!.exec(path);
        if (m === null || this.exactTail === null) return m;
        return m[this.rule!.tailGroup] === this.exactTail ? m : null;
      }
      case REGEX: {
        const rule = this.rule;
        if (rule === null) return this.regex!.exec(path);
        const m = rule.exec(path);
        return m === null ? null : this.regex!.exec(m[rule.tailGroup]!) === null ? null : m;
      }
      default: {
        const rule = this.rule;
        if (rule === null) return true;
        const m = rule.exec(path);
        if (m === null) return null;
        const tail = m[rule.tailGroup]!;
        return tail.length === 0 || tail.charCodeAt(0) === 47 ? m : null;
      }
    }
  }

  /** Puts the captures of a successful `test` into `ctx`. */
  capture(ctx: Context, m: RegExpExecArray | true): void {
    if (m === true) return;
    const rule = this.rule;
    if (this.kind === REGEX && rule === null) {
      this.captureGroups(ctx, m);
      return;
    }
    if (rule!.captures.length > 0) {
      try {
        rule!.assign(m, ctx);
      } catch (error) {
        if (error instanceof URIError) throw ClientError.badRequest("malformed percent-encoding in the path");
        throw error;
      }
    }
    if (this.kind === REGEX) this.captureGroups(ctx, this.regex!.exec(m[rule!.tailGroup]!)!);
  }

  /** REGEX: the named groups, decoded. */
  captureGroups(ctx: Context, m: RegExpExecArray): void {
    const groups = m.groups;
    if (groups === undefined) return;
    for (const name in groups) {
      const value = groups[name];
      if (value === undefined) continue;
      try {
        ctx[name] = decodeValue(value);
      } catch {
        throw ClientError.badRequest("malformed percent-encoding in the path");
      }
    }
  }
}

const EMPTY: readonly Route[] = [];

/** A handler that declares neither `next` nor the context. */
export type LiteHandler = (req: Request, res: Response) => boolean | Promise<boolean>;

/** A node of the prefix tree: routes hang at the node of their leading literal text. */
export class Node {
  label: string;
  readonly children = new Map<number, Node>();
  readonly own: Route[] = [];
  /** Every route hanging here or above, in insertion order: the candidates for a path that reaches this node. */
  acc: readonly Route[] = EMPTY;
  /**
   * The children as a dense table indexed by the first character's code minus `base`: one
   * subtraction and one array read per step of a lookup, instead of a hash lookup.
   */
  base = 0;
  table: (Node | undefined)[] = [];

  constructor(label: string) {
    this.label = label;
  }

  /** Builds `table` from `children`, for this node and below. */
  freeze(): void {
    const codes = [...this.children.keys()];
    if (codes.length === 0) {
      this.base = 0;
      this.table = [];
      return;
    }
    const low = Math.min(...codes);
    const high = Math.max(...codes);
    const table: (Node | undefined)[] = new Array<Node | undefined>(high - low + 1).fill(undefined);
    for (const [code, child] of this.children) {
      table[code - low] = child;
      child.freeze();
    }
    this.base = low;
    this.table = table;
  }
}

function merge(a: readonly Route[], b: readonly Route[]): readonly Route[] {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out: Route[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(a[i]!.index < b[j]!.index ? a[i++]! : b[j++]!);
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/**
 * The routing table, shared by a router and its scopes. The indexes are rebuilt on the first
 * request after a change: an exact-path map (each entry already merged with the rules that
 * could also match that path), and a prefix tree of leading literals.
 */
export class Table {
  readonly routes: Route[] = [];
  readonly types = new Map<string, ParamType>(Object.entries(builtinTypes));
  readonly names = new Map<string, Reverser>();
  readonly lookupType = (name: string): ParamType | undefined => this.types.get(name);
  dirty = true;
  exact = new Map<string, readonly Route[]>();
  root = new Node("");
  /** The methods of every route with a path (for `OPTIONS *`). */
  methods = 0;

  add(route: Route): void {
    this.routes.push(route);
    this.dirty = true;
  }

  build(): void {
    const root = new Node("");
    const statics = new Map<string, Route[]>();
    let methods = 0;
    for (const route of this.routes) {
      if (route.kind !== USE) methods |= route.methods;
      if (route.kind === STATIC) {
        const list = statics.get(route.attach);
        if (list === undefined) statics.set(route.attach, [route]);
        else list.push(route);
      } else {
        insert(root, route.attach, route);
      }
    }
    accumulate(root, EMPTY);
    root.freeze();
    const exact = new Map<string, readonly Route[]>();
    for (const [path, list] of statics) exact.set(path, merge(list, find(root, path)));
    this.root = root;
    this.exact = exact;
    this.methods = methods;
    this.dirty = false;
  }

  /** The candidate routes for a path, in insertion order. */
  candidates(path: string): readonly Route[] {
    return this.exact.get(path) ?? find(this.root, path);
  }

  /** The methods of the routes whose path part (rule, exact path, regex) matches `path`. */
  allowed(path: string): number {
    if (this.dirty) this.build();
    let allow = 0;
    for (const route of this.candidates(path)) {
      if (route.kind !== USE && (allow | route.methods) !== allow && route.test(path) !== null) allow |= route.methods;
    }
    return allow;
  }
}

function insert(root: Node, key: string, route: Route): void {
  let node = root;
  let pos = 0;
  for (;;) {
    if (pos === key.length) {
      node.own.push(route);
      return;
    }
    const c = key.charCodeAt(pos);
    const child = node.children.get(c);
    if (child === undefined) {
      const leaf = new Node(key.slice(pos));
      leaf.own.push(route);
      node.children.set(c, leaf);
      return;
    }
    const label = child.label;
    let common = 1;
    while (common < label.length && pos + common < key.length && label.charCodeAt(common) === key.charCodeAt(pos + common)) common++;
    if (common < label.length) {
      const middle = new Node(label.slice(0, common));
      child.label = label.slice(common);
      middle.children.set(child.label.charCodeAt(0), child);
      node.children.set(c, middle);
      node = middle;
    } else {
      node = child;
    }
    pos += common;
  }
}

function accumulate(node: Node, above: readonly Route[]): void {
  node.acc = merge(above, node.own);
  for (const child of node.children.values()) accumulate(child, node.acc);
}

export function find(root: Node, path: string): readonly Route[] {
  let node = root;
  let pos = 0;
  for (;;) {
    const index = path.charCodeAt(pos) - node.base; // NaN past the end
    const table = node.table;
    const child = index >= 0 && index < table.length ? table[index] : undefined;
    if (child === undefined) return node.acc;
    const label = child.label;
    // the first character is the one just looked up
    if (label.length > 1 && !path.startsWith(label, pos)) return node.acc;
    pos += label.length;
    node = child;
  }
}
