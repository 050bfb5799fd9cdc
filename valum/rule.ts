/**
 * Rules: the route pattern language, as in Valum.
 *
 * - literal text, matched as is (`/users`);
 * - `<name>`: a parameter of type `string`; `<type:name>`: a parameter of a named type;
 * - `( ... )`: a group;
 * - `?`: the previous character, parameter or group is optional;
 * - `*`: anything (including `/`).
 *
 * A rule is compiled once, when it is registered: its leading literal text (what the router
 * indexes it by) and a regular expression for the rest. Matching runs on the request path as
 * it arrives, percent-encoded; captured values are decoded, then converted by their type.
 */

import { pathEncodes } from "../vsgi/index.js";

// ---------------------------------------------------------------------------------------------
// Types of parameters

/** A parameter type: the pattern a value matches (on the encoded path) and its conversion. */
export interface ParamType {
  /** The pattern, unanchored; its capturing groups (if any) are accounted for. */
  readonly pattern: RegExp;
  /** Turns the decoded text into the value put in the context. */
  readonly convert: ((value: string) => unknown) | null;
  /** Turns a value back into text for `urlFor` (`String(value)` when absent). */
  readonly format?: ((value: any) => string) | null;
  /** @internal Whether the captured text is percent-decoded before `convert`. */
  readonly decode: boolean;
  /** @internal A check on the decoded value the pattern alone cannot express. */
  readonly check: ((value: string) => boolean) | null;
  /** @internal How many capturing groups `pattern` has. */
  readonly groups: number;
}

/** The value types of the built-in parameter types, as TypeScript sees them. */
export interface BuiltinTypes {
  int: number;
  string: string;
  path: string;
}

/** Maps parameter type names to the TypeScript type of their converted value. */
export type TypeMap = object;

function countGroups(pattern: RegExp): number {
  return new RegExp(pattern.source + "|").exec("")!.length - 1;
}

/**
 * An error in a rule (bad syntax, unknown type) or in reversing it; names the rule.
 *
 * @example try { app.get("/x/<uuid:id>", h); } catch (err) { if (err instanceof RuleError) console.log(err.rule); }
 */
export class RuleError extends Error {
  /** The rule at fault. */
  readonly rule: string;

  constructor(rule: string, message: string) {
    super(`${message} in rule ${JSON.stringify(rule)}`);
    this.name = "RuleError";
    this.rule = rule;
  }
}

/**
 * Creates a parameter type. The pattern must not be anchored; it matches percent-encoded text
 * (`%XX`), and the captured text is decoded before `convert` sees it. `format` is the inverse
 * of `convert`, for `urlFor` given a converted value (text is always accepted as is).
 *
 * @example const hex = createType(/[0-9a-f]+/, (s) => parseInt(s, 16), (n: number) => n.toString(16));
 */
export function createType<V = string>(
  pattern: RegExp,
  convert?: ((value: string) => V) | null,
  format?: ((value: V) => string) | null,
): ParamType {
  if (!(pattern instanceof RegExp)) throw new TypeError("a parameter type needs a RegExp");
  if (pattern.flags.replace(/[gyd]/g, "") !== "") {
    throw new TypeError(`a parameter type pattern cannot use the flags "${pattern.flags}": it is embedded in the rule's expression`);
  }
  return { pattern, convert: convert ?? null, format: format ?? null, decode: true, check: null, groups: countGroups(pattern) };
}

// A segment: anything but `/`, where `%2F` (an encoded slash) would smuggle a separator in.
const SEGMENT = "(?:[^/%]|%(?!2[fF])[0-9A-Fa-f]{2})+";

const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

function hasNoDotSegment(value: string): boolean {
  return value.indexOf(".") === -1 || !DOT_SEGMENT.test(value);
}

/**
 * An expression for the runs of digits whose value is at most `max` (leading zeros allowed).
 * The bound is a lookahead at the start of the run, followed by a plain `\d+`: when the rest
 * of the rule fails, the engine backtracks over the digits as it would for `\d+` alone instead
 * of trying every alternative of the bound again (a lookahead is not re-entered), so a rule with
 * an `int` costs a few nanoseconds more than with `\d+`, and a run of digits too large does not
 * match at all, not even a part of it.
 *
 * @example new RegExp(`^(?:${digitsUpTo("250").source})$`).test("0249"); // true, "251" false
 */
function digitsUpTo(max: string): RegExp {
  const alternatives = [`\\d{1,${max.length - 1}}`];
  for (let i = 0; i < max.length; i++) {
    const digit = max.charCodeAt(i) - 48;
    const low = i === 0 ? 1 : 0;
    if (digit <= low) continue;
    const range = digit - 1 === low ? String(low) : `[${low}-${digit - 1}]`;
    alternatives.push(max.slice(0, i) + range + (i + 1 < max.length ? `\\d{${max.length - i - 1}}` : ""));
  }
  alternatives.push(max);
  return new RegExp(`(?=${alternatives[0]}(?!\\d)|0*(?:${alternatives.join("|")})(?!\\d))\\d+`);
}

/** The built-in types: `int`, `string` and `path`. */
export const builtinTypes: Readonly<Record<keyof BuiltinTypes, ParamType>> = Object.freeze({
  /**
   * Digits, converted to a number; only those that fit a safe integer match, so that the value
   * is the number written and `urlFor` gives the same path back (register a `bigint` type for
   * larger identifiers).
   */
  int: { pattern: digitsUpTo(String(Number.MAX_SAFE_INTEGER)), convert: Number, decode: false, check: null, groups: 0 },
  /**
   * Word characters: ASCII letters, digits, `_`, and any non-ASCII character (percent-encoded
   * UTF-8 on the wire).
   */
  string: { pattern: /(?:\w|%[89A-Fa-f][0-9A-Fa-f])+/, convert: null, decode: true, check: null, groups: 0 },
  /** Non-empty segments separated by `/`, none of them `.` or `..` (even encoded). */
  path: {
    pattern: new RegExp(`${SEGMENT}(?:/${SEGMENT})*`),
    convert: null,
    decode: true,
    check: hasNoDotSegment,
    groups: 0,
  },
});

// ---------------------------------------------------------------------------------------------
// Parsing

/** @internal One construct of a parsed rule. */
export type RuleNode =
  | { kind: "text"; text: string; optional: boolean }
  | { kind: "param"; name: string; type: string; optional: boolean }
  | { kind: "group"; nodes: RuleNode[]; optional: boolean }
  | { kind: "star"; optional: boolean };

const NAME = /^\w+$/;
/** How deep groups may nest in a rule. */
const MAX_DEPTH = 32;

/**
 * Parses a rule into its constructs. Throws a `RuleError` on bad syntax.
 *
 * @example parseRule("/users/<int:id>"); // [text "/", text "u", ..., param id: int]
 */
export function parseRule(rule: string): RuleNode[] {
  let i = 0;
  const sequence = (depth: number): RuleNode[] => {
    const nodes: RuleNode[] = [];
    while (i < rule.length) {
      const c = rule[i]!;
      if (c === ")") {
        if (depth === 0) throw new RuleError(rule, `unbalanced ")" at ${i}`);
        return nodes;
      }
      if (c === "?") {
        const last = nodes[nodes.length - 1];
        if (last === undefined || last.optional) throw new RuleError(rule, `"?" at ${i} has nothing to make optional`);
        last.optional = true;
        i++;
      } else if (c === "<") {
        const end = rule.indexOf(">", i);
        if (end === -1) throw new RuleError(rule, `unclosed "<" at ${i}`);
        const inner = rule.slice(i + 1, end);
        const colon = inner.indexOf(":");
        const type = colon === -1 ? "string" : inner.slice(0, colon);
        const name = colon === -1 ? inner : inner.slice(colon + 1);
        if (!NAME.test(type)) throw new RuleError(rule, `invalid type name ${JSON.stringify(type)}`);
        if (!NAME.test(name)) throw new RuleError(rule, `invalid parameter name ${JSON.stringify(name)}`);
        nodes.push({ kind: "param", name, type, optional: false });
        i = end + 1;
      } else if (c === "(") {
        // bounded: the parser (and compile, reverse) recurse once per level
        if (depth === MAX_DEPTH) throw new RuleError(rule, `groups nested deeper than ${MAX_DEPTH} at ${i}`);
        const start = i++;
        const inner = sequence(depth + 1);
        if (rule[i] !== ")") throw new RuleError(rule, `unclosed "(" at ${start}`);
        i++;
        nodes.push({ kind: "group", nodes: inner, optional: false });
      } else if (c === "*") {
        nodes.push({ kind: "star", optional: false });
        i++;
      } else if (c === ">") {
        throw new RuleError(rule, `unexpected ">" at ${i}`);
      } else {
        // one code point: an optional `é?` makes the whole character optional
        const code = rule.codePointAt(i)!;
        // a lone surrogate is no character: it has no UTF-8, so no path can hold it
        if (code >= 0xd800 && code <= 0xdfff) throw new RuleError(rule, `lone surrogate U+${code.toString(16).toUpperCase()} at ${i}: a rule is well-formed text`);
        const text = String.fromCodePoint(code);
        nodes.push({ kind: "text", text, optional: false });
        i += text.length;
      }
    }
    return nodes;
  };
  const nodes = sequence(0);
  return nodes;
}

/** A path the rule matches may start with `/`. */
const STARTS_SLASH = 1;
/** ... with anything (a leading `*`). */
const STARTS_ANY = 2;
/** ... with something else than `/` (text, a parameter). */
const STARTS_OTHER = 4;
/** ... or be empty. */
const STARTS_EMPTY = 8;

/**
 * How the paths a parsed rule matches can begin, as `STARTS_*` flags, every optional
 * part taken and left out: the router refuses a rule that could start with anything but `/`,
 * since request paths all do.
 *
 * @example ruleStarts(parseRule("(/<lang>)?/about")); // STARTS_SLASH
 */
function ruleStarts(nodes: readonly RuleNode[]): number {
  return startsAt(nodes, 0, STARTS_EMPTY);
}

/**
 * @internal Refuses a rule (or scope prefix) that could never match where it is: request paths
 * start with `/`, so does every rule; inside a scope (`scopePrefix` not empty) a rule starts
 * with `/` or is empty (the prefix itself), since what follows the prefix is a new segment,
 * never the rest of the prefix's last word (`"users"` under `/admin` would route `/adminusers`).
 *
 * @example checkRuleStart("users/<int:id>", "", false); // throws a RuleError
 */
export function checkRuleStart(part: string, scopePrefix: string, isPrefix: boolean): void {
  const nodes = parseRule(part);
  const starts = ruleStarts(nodes);
  const scoped = scopePrefix !== "";
  const fix = part.startsWith("*") ? `"/${part}" or "(/${part})?"` : `"/${part}"`;
  if ((starts & STARTS_OTHER) !== 0) {
    throw new RuleError(part, `a rule must start with "/"${scoped ? ` (it follows the scope prefix ${JSON.stringify(scopePrefix)})` : ""}: write ${fix}`);
  }
  if (scoped && (starts & STARTS_ANY) !== 0) {
    throw new RuleError(
      part,
      `under the scope prefix ${JSON.stringify(scopePrefix)} a leading "*" would also match paths that merely continue the prefix's last word: write ${fix}`,
    );
  }
  if (!scoped && !isPrefix && starts === STARTS_EMPTY) throw new RuleError(part, `an empty rule matches no path: write "/"`);
  const last = nodes[nodes.length - 1];
  if (isPrefix && last !== undefined && last.kind === "text" && last.text === "/" && !last.optional) {
    throw new RuleError(part, `a scope prefix cannot end with "/": the rules inside start with one, write ${JSON.stringify(part.slice(0, -1))}`);
  }
}

// `after`: how what follows `nodes` (outside their group) can begin. Each call computes what
// follows node `i` at most once, so nested optional groups stay linear.
function startsAt(nodes: readonly RuleNode[], i: number, after: number): number {
  if (i === nodes.length) return after;
  const node = nodes[i]!;
  if (node.kind === "group") {
    const rest = startsAt(nodes, i + 1, after);
    const inner = startsAt(node.nodes, 0, rest);
    return node.optional ? inner | rest : inner;
  }
  const first = node.kind === "star" ? STARTS_ANY : node.kind === "text" && node.text === "/" ? STARTS_SLASH : STARTS_OTHER;
  return node.optional ? first | startsAt(nodes, i + 1, after) : first;
}

// ---------------------------------------------------------------------------------------------
// Compilation

/**
 * A literal of a rule as it appears in an encoded request path.
 *
 * @example encodeLiteral("/café"); // "/caf%C3%A9"
 */
export function encodeLiteral(text: string): string {
  let out = "";
  for (const ch of text) {
    out += pathEncodes(ch.charCodeAt(0)) ? encodeURIComponent(ch) : ch;
  }
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
}

/** @internal A parameter captured by a compiled rule: its name, group index and type. */
export interface Capture {
  readonly name: string;
  readonly group: number;
  readonly type: ParamType;
}

/** A source of parameter types by name (the router's registry). */
export type TypeLookup = (name: string) => ParamType | undefined;

const lookupBuiltin: TypeLookup = (name) => (Object.hasOwn(builtinTypes, name) ? builtinTypes[name as keyof BuiltinTypes] : undefined);

/**
 * A rule compiled once: its leading literal (encoded; the key the router indexes it by), whether
 * it is only literal text, and a sticky expression for what follows the literal.
 *
 * @example
 * const rule = compileRule("/users/<int:id>");
 * rule.match("/users/42"); // { id: 42 }
 * rule.reverse({ id: 7 }); // "/users/7"
 */
export class CompiledRule {
  /** The rule as written. */
  readonly source: string;
  /** The leading literal text, encoded: every path the rule matches starts with it. */
  readonly prefix: string;
  /** True when the rule is literal text only: it matches exactly `prefix`. */
  readonly isStatic: boolean;
  /** What follows the prefix, anchored at both ends (sticky, starting at `prefix.length`). */
  readonly expression: RegExp;
  /** The parameters, in order. */
  readonly captures: readonly Capture[];
  /** The parameter names, for error messages and reversal checks. */
  readonly names: ReadonlySet<string>;
  /** @internal Whether some capture needs a check after matching. */
  readonly checked: boolean;
  /** @internal With `tail`, the group holding whatever follows the rule (0 otherwise). */
  readonly tailGroup: number;
  /** The captures whose type has a check, the only ones `validate` looks at. */
  private readonly checks: readonly Capture[];
  private readonly nodes: RuleNode[];
  private readonly types: TypeLookup;

  /**
   * `tail`: the rule is a prefix: it matches the start of a path, and what follows is captured
   * in group `tailGroup` (the router uses it for `scope`).
   */
  constructor(source: string, types: TypeLookup = lookupBuiltin, tail = false) {
    this.source = source;
    this.types = types;
    this.nodes = parseRule(source);
    // the leading literal: non-optional text at the top level
    let prefix = "";
    let first = 0;
    for (; first < this.nodes.length; first++) {
      const node = this.nodes[first]!;
      if (node.kind !== "text" || node.optional) break;
      prefix += node.text;
    }
    this.prefix = encodeLiteral(prefix);
    this.isStatic = !tail && first === this.nodes.length;
    const captures: Capture[] = [];
    const names = new Set<string>();
    let group = 1;
    const emit = (nodes: readonly RuleNode[]): string => {
      let out = "";
      for (const node of nodes) {
        let piece: string;
        switch (node.kind) {
          case "text":
            piece = escapeRegExp(encodeLiteral(node.text));
            if (node.optional) piece = `(?:${piece})?`;
            break;
          case "star":
            piece = node.optional ? "(?:.*)?" : ".*";
            break;
          case "param": {
            const type = this.types(node.type);
            if (type === undefined) throw new RuleError(source, `unknown type ${JSON.stringify(node.type)} for parameter ${JSON.stringify(node.name)}`);
            if (names.has(node.name)) throw new RuleError(source, `parameter ${JSON.stringify(node.name)} appears twice`);
            names.add(node.name);
            captures.push({ name: node.name, group, type });
            group += 1 + type.groups;
            piece = `((?:${type.pattern.source}))${node.optional ? "?" : ""}`;
            break;
          }
          case "group":
            piece = `(?:${emit(node.nodes)})${node.optional ? "?" : ""}`;
            break;
        }
        out += piece;
      }
      return out;
    };
    const body = emit(this.nodes.slice(first));
    this.tailGroup = tail ? group : 0;
    this.expression = new RegExp(`${body}${tail ? "(.*)" : ""}$`, "y");
    this.captures = captures;
    this.names = names;
    this.checks = captures.filter((c) => c.type.check !== null);
    this.checked = this.checks.length > 0;
  }

  /**
   * Matches the part of `path` after the prefix (which the caller knows is there); the raw
   * match, or `null`. `match` is the friendly form.
   *
   * @example if (path.startsWith(rule.prefix) && rule.exec(path) !== null) ...
   */
  exec(path: string): RegExpExecArray | null {
    const expression = this.expression;
    expression.lastIndex = this.prefix.length;
    const match = expression.exec(path);
    if (match === null || !this.checked) return match;
    return this.validate(match) ? match : null;
  }

  private validate(match: RegExpExecArray): boolean {
    const checks = this.checks;
    for (let i = 0; i < checks.length; i++) {
      const capture = checks[i]!;
      const raw = match[capture.group];
      if (raw === undefined) continue;
      const type = capture.type;
      let value = raw;
      if (type.decode && raw.indexOf("%") !== -1) {
        try {
          value = decodeURIComponent(raw);
        } catch {
          continue; // malformed: decoding it again when capturing reports it
        }
      }
      if (!type.check!(value)) return false;
    }
    return true;
  }

  /**
   * Matches a whole path: the decoded and converted parameters, or `null`.
   *
   * @example compileRule("/a/<int:n>").match("/a/5"); // { n: 5 }
   */
  match(path: string): Record<string, unknown> | null {
    if (!path.startsWith(this.prefix)) return null;
    const match = this.exec(path);
    if (match === null) return null;
    const params: Record<string, unknown> = {};
    this.assign(match, params);
    return params;
  }

  /** @internal Puts the decoded, converted captures of `match` into `target`. */
  assign(match: RegExpExecArray, target: Record<string, unknown>): void {
    const captures = this.captures;
    for (let i = 0; i < captures.length; i++) {
      const capture = captures[i]!;
      const raw = match[capture.group];
      if (raw === undefined) continue;
      const type = capture.type;
      const text = type.decode ? decodeValue(raw) : raw;
      target[capture.name] = type.convert === null ? text : type.convert(text);
    }
  }

  /**
   * Builds the path this rule matches for `params` (values percent-encoded; optional parts
   * left out when their parameters are absent). Throws a `RuleError` for a missing required
   * parameter or a value its type does not match.
   *
   * @example compileRule("/users(/<int:id>)?").reverse({}); // "/users"
   */
  reverse(params: Readonly<Record<string, unknown>> = {}): string {
    const used = new Set<string>();
    const out = this.reverseNodes(this.nodes, params, used);
    for (const key of Object.keys(params)) {
      if (params[key] !== undefined && params[key] !== null && !used.has(key)) {
        if (this.names.has(key)) {
          throw new RuleError(this.source, `parameter ${JSON.stringify(key)} is given, but the optional part it is in cannot be built`);
        }
        throw new RuleError(this.source, `unknown parameter ${JSON.stringify(key)}`);
      }
    }
    return out;
  }

  private reverseNodes(nodes: readonly RuleNode[], params: Readonly<Record<string, unknown>>, used: Set<string>): string {
    let out = "";
    for (const node of nodes) {
      switch (node.kind) {
        case "text":
          if (!node.optional) out += encodeLiteral(node.text);
          break;
        case "star":
          break;
        case "param": {
          const value = params[node.name];
          if (value === undefined || value === null) {
            if (node.optional) break;
            throw new RuleError(this.source, `missing parameter ${JSON.stringify(node.name)}`);
          }
          out += this.encodeParam(node.name, node.type, value);
          used.add(node.name);
          break;
        }
        case "group": {
          if (node.optional) {
            const required = requiredParams(node.nodes);
            const all = allParams(node.nodes);
            if (all.length === 0 || !all.some((name) => params[name] !== undefined && params[name] !== null)) break;
            const missing = required.find((name) => params[name] === undefined || params[name] === null);
            if (missing !== undefined) {
              throw new RuleError(this.source, `missing parameter ${JSON.stringify(missing)} (the optional part it is in has other parameters given)`);
            }
          }
          out += this.reverseNodes(node.nodes, params, used);
          break;
        }
      }
    }
    return out;
  }

  private encodeParam(name: string, typeName: string, value: unknown): string {
    const type = this.types(typeName)!;
    const text = typeof value === "string" ? value : type.format ? type.format(value) : String(value);
    let encoded: string;
    try {
      encoded = typeName === "path" ? text.split("/").map(encodeURIComponent).join("/") : encodeURIComponent(text);
    } catch {
      // a lone surrogate: no UTF-8, so no path can carry it
      throw new RuleError(this.source, `value ${JSON.stringify(text)} of parameter ${JSON.stringify(name)} is not well-formed text`);
    }
    const whole = new RegExp(`^(?:${type.pattern.source})$`);
    if (!whole.test(encoded) || (type.check !== null && !type.check(text))) {
      throw new RuleError(this.source, `value ${JSON.stringify(text)} does not match the type ${typeName} of parameter ${JSON.stringify(name)}`);
    }
    return encoded;
  }
}

function requiredParams(nodes: readonly RuleNode[]): string[] {
  const names: string[] = [];
  for (const node of nodes) {
    if (node.optional) continue;
    if (node.kind === "param") names.push(node.name);
    else if (node.kind === "group") names.push(...requiredParams(node.nodes));
  }
  return names;
}

function allParams(nodes: readonly RuleNode[]): string[] {
  const names: string[] = [];
  for (const node of nodes) {
    if (node.kind === "param") names.push(node.name);
    else if (node.kind === "group") names.push(...allParams(node.nodes));
  }
  return names;
}

/**
 * Decodes a captured value; a malformed percent-encoding is a `URIError`.
 *
 * @example decodeValue("caf%C3%A9"); // "café"
 */
export function decodeValue(raw: string): string {
  return raw.indexOf("%") === -1 ? raw : decodeURIComponent(raw);
}

/**
 * Compiles a rule with the built-in types, or with the types `lookup` finds.
 *
 * @example compileRule("/files/<path:p>").match("/files/a/b.txt"); // { p: "a/b.txt" }
 */
export function compileRule(rule: string, lookup?: TypeLookup): CompiledRule {
  return new CompiledRule(rule, lookup ?? lookupBuiltin);
}

// ---------------------------------------------------------------------------------------------
// Types: the parameters of a rule, read from its string at compile time

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
