// The rule grammar: a rule's text parsed into nodes (literal text, parameters, groups, stars),
// the check of where a rule may start, and `RuleError`, which names the rule at fault.
// Compilation into an expression is rule.ts's.

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
