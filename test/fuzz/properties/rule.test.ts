// Properties of the rule grammar (valum/rule.ts) and of urlFor: any text parses or is a
// RuleError; a compiled rule matches any path or not (a URIError only for a malformed
// percent-encoding, the router's 400); reverse (urlFor) and match are inverse: the path built
// for parameters matches them back, through the router too.
import { describe, it, expect } from "@jest/globals";
import fc from "fast-check";
import { Router } from "../../../valum/index.js";
import { RuleError, compileRule, parseRule } from "../../../valum/rule.js";
import { PROPERTY_TIMEOUT, params, randomText } from "../../helpers/fuzz.js";
import { memoryExchange } from "../../valum/util.js";

const PIECES = ["/", "<", ">", "(", ")", "?", "*", ":", "int:", "path:", "string:", "id", "name", "a", "é", "%", " ", "-", ".", "\ud83d\ude00", "<id>", "<int:n>", "<path:p>", "(/<x>)?", "\ud800"];
const ruleText = fc.oneof(fc.array(fc.constantFrom(...PIECES), { maxLength: 12 }).map((p) => p.join("")), randomText);
const pathText = fc.oneof(
  fc.array(fc.constantFrom("/", "a", "1", "42", "%C3%A9", "%C3", "%2F", "%2e", ".", "..", "é", "-", "_", "%", "9007199254740993"), { maxLength: 12 }).map((p) => p.join("")),
  randomText,
);

/** Calls `fn`; a RuleError is the documented refusal, anything else fails. */
function ruleOutcome<T>(fn: () => T): T | RuleError {
  try {
    return fn();
  } catch (error) {
    if (error instanceof RuleError) return error;
    throw error;
  }
}

// Rules built from parts that make one reading of a path: literal segments, one parameter per
// segment (int, string, path last), optional groups holding a whole segment.
type Part = { kind: "literal"; text: string } | { kind: "param"; type: "int" | "string"; optional: boolean } | { kind: "path" };
const literal = fc.stringMatching(/^[a-z][a-z0-9é~._-]{0,6}$/).filter((t) => t !== "." && t !== "..");
const part: fc.Arbitrary<Part> = fc.oneof(
  literal.map((text) => ({ kind: "literal" as const, text })),
  fc.record({ kind: fc.constant("param" as const), type: fc.constantFrom("int" as const, "string" as const), optional: fc.boolean() }),
);
const ruleParts = fc.tuple(fc.array(part, { minLength: 1, maxLength: 6 }).filter((p) => p[0]!.kind !== "param" || !p[0]!.optional), fc.boolean()).map(([parts, tail]) => (tail ? [...parts, { kind: "path" as const }] : parts))
  // an optional segment followed by another parameter reads two ways: make it required there
  .map((parts) => parts.map((p, i) => (p.kind === "param" && p.optional && i + 1 < parts.length && parts[i + 1]!.kind !== "literal" ? { ...p, optional: false } : p)));

const intValue = fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER));
const stringValue = fc.string({ unit: "grapheme", minLength: 1, maxLength: 10 }).filter((s) => /^(?:\w|[^\x00-\x7f])+$/u.test(s));
const pathValue = fc.array(fc.string({ unit: "grapheme", minLength: 1, maxLength: 6 }).filter((s) => !s.includes("/") && s !== "." && s !== ".."), { minLength: 1, maxLength: 4 }).map((s) => s.join("/"));

/** A rule from its parts, and values for its parameters (optional ones sometimes left out). */
const ruleWithValues = ruleParts.chain((parts) =>
  fc
    .tuple(...parts.map((p) => (p.kind === "literal" ? fc.constant(null) : p.kind === "path" ? pathValue : p.type === "int" ? (p.optional ? fc.option(intValue, { nil: undefined }) : intValue) : p.optional ? fc.option(stringValue, { nil: undefined }) : stringValue)))
    .map((values) => {
      let rule = "";
      const given: Record<string, unknown> = {};
      parts.forEach((p, i) => {
        const name = `p${i}`;
        if (p.kind === "literal") rule += "/" + p.text;
        else if (p.kind === "path") rule += `/<path:${name}>`;
        else rule += p.optional ? `(/<${p.type}:${name}>)?` : `/<${p.type}:${name}>`;
        if (values[i] !== null && values[i] !== undefined) given[name] = values[i];
      });
      return { rule, given };
    }),
);

describe("rule grammar, properties", () => {
  it(
    "any text parses and compiles, or is refused with a RuleError",
    () => {
      fc.assert(
        fc.property(ruleText, (text) => {
          const nodes = ruleOutcome(() => parseRule(text));
          const compiled = ruleOutcome(() => compileRule(text));
          if (nodes instanceof RuleError) expect(compiled).toBeInstanceOf(RuleError);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "a compiled rule matches any path or not: parameters, null, or a URIError for a malformed percent-encoding",
    () => {
      // At most two parameters or stars: adjacent ones (`<a><b>x`) backtrack polynomially in
      // the path's length, to the power of their number (see docs/fuzzing.md, "Limits").
      const fewCaptures = ruleText.filter((t) => (t.match(/<|\*/g)?.length ?? 0) <= 2);
      fc.assert(
        fc.property(fc.oneof(fewCaptures, ruleWithValues.map((r) => r.rule)), pathText, (text, path) => {
          const rule = ruleOutcome(() => compileRule(text));
          if (rule instanceof RuleError) return;
          try {
            const match = rule.match(path);
            if (match !== null) expect(path.startsWith(rule.prefix)).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(URIError);
          }
          ruleOutcome(() => rule.reverse({}));
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "reverse and match are inverse: the path built for the parameters matches them back",
    () => {
      fc.assert(
        fc.property(ruleWithValues, ({ rule, given }) => {
          const compiled = compileRule(rule);
          const path = compiled.reverse(given);
          expect(path.startsWith("/")).toBe(true);
          expect(compiled.match(path)).toEqual(given);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "urlFor builds the path the router routes back to the same parameters",
    async () => {
      await fc.assert(
        fc.asyncProperty(ruleWithValues, async ({ rule, given }) => {
          const app = new Router();
          let seen: Record<string, unknown> | null = null;
          app.get(
            rule,
            (_req, res, _next, ctx) => {
              seen = Object.fromEntries(Object.keys(ctx).filter((k) => /^p\d$/.test(k)).map((k) => [k, (ctx as Record<string, unknown>)[k]]));
              return res.end();
            },
            "target",
          );
          const path = app.urlFor("target", given);
          const { req, res } = memoryExchange("GET", path);
          expect(await app.handle(req, res)).toBe(true);
          expect(seen).toEqual(given);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "reverse refuses values outside a parameter's type with a RuleError, never another error",
    () => {
      fc.assert(
        fc.property(ruleWithValues, fc.dictionary(fc.constantFrom("p0", "p1", "p2", "p3", "p4", "p5", "p6", "zz"), fc.oneof(randomText, fc.integer(), fc.double(), fc.constant(null))), ({ rule }, values) => {
          const compiled = compileRule(rule);
          const path = ruleOutcome(() => compiled.reverse(values));
          if (typeof path === "string") expect(path.startsWith("/")).toBe(true);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );
});
