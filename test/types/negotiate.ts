/**
 * Type tests for `negotiate` and the `accept*` helpers: the forward's value and
 * `ctx.negotiated` are strings, the route's parameters stay typed, the options are checked.
 * Compiled by the main build; each `@ts-expect-error` line must fail to compile.
 */
import { Router, negotiate, accept, acceptCharset, acceptEncoding, acceptLanguage, acceptRanges, type HandlerCallback } from "../../valum/index.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}

const app = new Router();

app.get(
  "/users/<int:id>",
  accept("application/json, text/html; q=0.9", (req, res, next, ctx, type) => {
    assertType<Equal<typeof type, string>>();
    assertType<Equal<typeof ctx.negotiated, string>>();
    // the rule's parameters come through
    const id: number = ctx.id;
    return res.expandUtf8(`${type} ${id}`);
  }),
);

app.get("/", negotiate("X-Flavour", "vanilla, chocolate", (req, res, next, ctx, value) => res.expandUtf8(value + ctx.negotiated), { vary: false }));
app.get("/c", acceptCharset("utf-8, iso-8859-1", (req, res) => res.expandUtf8("x")));
app.get("/e", acceptEncoding("br, gzip", (req, res) => res.expandUtf8("x"), { threshold: 0, vary: true }));
app.get("/l", acceptLanguage("en, fr", (req, res, next, ctx, lang) => res.expandUtf8(lang)));
app.get("/r", acceptRanges("bytes", (req, res) => res.expandUtf8("x")));

// they compose: a negotiation forwards to another
const nested: HandlerCallback = acceptEncoding("gzip", accept("text/html", (req, res) => res.expandUtf8("<p/>")));
app.get("/n", nested);

// @ts-expect-error threshold is acceptEncoding's alone
accept("text/html", (req, res) => res.end(), { threshold: 10 });
// @ts-expect-error the value is a string, not a number
accept("text/html", (req, res, next, ctx, value: number) => res.expandUtf8(String(value)));
// @ts-expect-error expectations are one comma-separated string
accept(["text/html"], (req, res) => res.end());
