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
 *
 * This file compiles; the grammar is rule-parse.ts, the parameter types param-types.ts, and
 * what the type checker reads from a rule's string rule-params.ts (all re-exported here).
 */

import { pathEncodes } from "../vsgi/index.js";
import { builtinTypes, type BuiltinTypes, type ParamType } from "./param-types.js";
import { RuleError, parseRule, type RuleNode } from "./rule-parse.js";

export { builtinTypes, createType, type BuiltinTypes, type ParamType, type TypeMap } from "./param-types.js";
export { RuleError, checkRuleStart, parseRule, type RuleNode } from "./rule-parse.js";
export type { RuleParams, UrlParams } from "./rule-params.js";

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
