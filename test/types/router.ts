/**
 * Type tests for the Router: compiled by the main build. Each `@ts-expect-error` line proves a
 * wrong use fails to compile (the build fails if the line compiles).
 */
import { Router, Method, type RuleParams, type UrlParams, type Context } from "../../valum/index.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}

// --- parameters read from the rule string -----------------------------------------------------
assertType<Equal<RuleParams<"/users/<int:id>/<name>">, { id: number; name: string }>>();
assertType<Equal<RuleParams<"/files/<path:p>">, { p: string }>>();
assertType<Equal<RuleParams<"/static">, {}>>();
assertType<Equal<RuleParams<"/users(/<int:id>)?">, { id?: number }>>();
assertType<Equal<RuleParams<"/a(/<x>(/<int:y>)?)?/<z>">, { x?: string; y?: number; z: string }>>();
assertType<Equal<RuleParams<"/a/<int:n>?">, { n?: number }>>();
assertType<Equal<RuleParams<"/a/<uuid:n>">, { n: unknown }>>();
assertType<Equal<RuleParams<"*">, {}>>();
// @ts-expect-error the checks above are real: a wrong expectation fails
assertType<Equal<RuleParams<"/a/<int:n>">, { n: string }>>();
assertType<Equal<UrlParams<"/users/<int:id>(/<name>)?">, { id: number; name?: string }>>();

const app = new Router();

app.get("/users/<int:id>/<name>", (req, res, next, ctx) => {
  const id: number = ctx.id;
  const name: string = ctx.name;
  // @ts-expect-error an int parameter is a number
  const wrong: string = ctx.id;
  // @ts-expect-error no string methods on a number
  ctx.id.toUpperCase();
  return res.expandUtf8(`${id + 1} ${name.toUpperCase()} ${wrong}`);
});

app.get("/users(/<int:id>)?", (req, res, next, ctx) => {
  // @ts-expect-error an optional parameter may be undefined
  const id: number = ctx.id;
  const maybe: number | undefined = ctx.id;
  return res.expandUtf8(String(id ?? maybe));
});

// the context stays open to what middlewares put in it
app.use((req, res, next, ctx) => {
  ctx.user = "ana";
  const user: unknown = ctx.user;
  return user === undefined ? next() : next();
});

app.rule(Method.GET | Method.POST, "/search/<q>", (req, res, next, ctx) => res.expandUtf8(ctx.q));
app.post("/x/<int:n>", (req, res, next, ctx) => res.expandUtf8(String(ctx.n * 2)));

// a handler declared elsewhere with a plain context is accepted
const logger = (req: unknown, res: unknown, next: () => boolean | Promise<boolean>, ctx: Context) => {
  ctx.seen = true;
  return next();
};
app.get("/logged/<int:id>", logger);

// --- registered types ---------------------------------------------------------------------------
const typed = new Router()
  .registerType("hex", /[0-9a-f]+/, (s) => parseInt(s, 16))
  .registerType("slug", /[a-z-]+/);
typed.get("/color/<hex:rgb>/<slug:s>", (req, res, next, ctx) => {
  const rgb: number = ctx.rgb;
  const slug: string = ctx.s;
  // @ts-expect-error a converted hex is a number
  const text: string = ctx.rgb;
  return res.expandUtf8(`${rgb} ${slug} ${text}`);
});

// --- urlFor ---------------------------------------------------------------------------------------
const named = new Router()
  .get("/users/<int:id>", (req, res) => res.end(), "user")
  .get("/posts(/<int:page>)?", (req, res) => res.end(), "posts")
  .path(Method.GET, "/about", (req, res) => res.end(), "about");

named.urlFor("user", { id: 5 });
named.urlFor("posts");
named.urlFor("posts", { page: 2 });
named.urlFor("about");
// @ts-expect-error a missing required parameter
named.urlFor("user", {});
// @ts-expect-error no parameters at all
named.urlFor("user");
// @ts-expect-error a parameter of the wrong type
named.urlFor("user", { id: "five" });
// @ts-expect-error a parameter the rule does not have
named.urlFor("user", { id: 5, extra: 1 });
// names the compiler has not seen (registered without chaining) are checked at run time
app.urlFor("anything", { x: 1 });

// --- scopes: the prefix's parameters reach the handlers, names come back out ----------------------
const scoped = new Router().scope("/users/<int:uid>", (users) =>
  users.get("/posts/<int:pid>", (req, res, next, ctx) => {
    const sum: number = ctx.uid + ctx.pid;
    return res.expandUtf8(String(sum));
  }, "post"),
);
scoped.urlFor("post", { uid: 1, pid: 2 });
// @ts-expect-error the scope's parameter is required too
scoped.urlFor("post", { pid: 2 });

// --- status handlers see the status -----------------------------------------------------------
app.status(404, (req, res, next, ctx) => res.expandUtf8(`${ctx.status.code} ${ctx.message}`));

export {};

// --- urlFor with registered types: the converted value or its text --------------------------------
const colors = new Router()
  .registerType("hex", /[0-9a-f]+/, (s) => parseInt(s, 16))
  .get("/color/<hex:c>/<int:n>", (req, res) => res.end(), "color");
colors.urlFor("color", { c: "ff", n: 1 });
colors.urlFor("color", { c: 255, n: 1 });
// @ts-expect-error an int still takes a number only
colors.urlFor("color", { c: "ff", n: "1" });

// --- big identifiers: a converter returning bigint types the parameter as bigint ------------------
const big = new Router()
  .registerType("bigint", /\d+/, BigInt)
  .get("/orders/<bigint:id>", (req, res, next, ctx) => {
    assertType<Equal<typeof ctx.id, bigint>>();
    // @ts-expect-error a bigint is no number
    const n: number = ctx.id;
    return res.expandUtf8(String(ctx.id + 1n) + n);
  }, "order");
assertType<Equal<RuleParams<"/orders/<bigint:id>", { bigint: bigint }>, { id: bigint }>>();
big.urlFor("order", { id: 12345678901234567890123n });
big.urlFor("order", { id: "12345678901234567890123" });
// @ts-expect-error a number is not what the type converts to
big.urlFor("order", { id: 5 });

// --- the nine method helpers come from one list and keep their types ------------------------------
const methods = new Router()
  .get("/g/<int:n>", (req, res, next, ctx) => res.expandUtf8(String(ctx.n + 1)), "g")
  .post("/po/<int:n>", (req, res, next, ctx) => res.expandUtf8(String(ctx.n + 1)), "po")
  .put("/pu/<int:n>", (req, res, next, ctx) => res.expandUtf8(String(ctx.n + 1)), "pu")
  .delete("/d/<int:n>", (req, res, next, ctx) => res.expandUtf8(String(ctx.n + 1)), "d")
  .head("/h/<int:n>", (req, res, next, ctx) => res.expandUtf8(String(ctx.n + 1)), "h")
  .options("/o/<int:n>", (req, res, next, ctx) => res.expandUtf8(String(ctx.n + 1)), "o")
  .trace("/t/<int:n>", (req, res, next, ctx) => res.expandUtf8(String(ctx.n + 1)), "t")
  .connect("/c/<int:n>", (req, res, next, ctx) => res.expandUtf8(String(ctx.n + 1)), "c")
  .patch("/pa/<int:n>(/<s>)?", (req, res, next, ctx) => {
    assertType<Equal<typeof ctx.n, number>>();
    assertType<Equal<typeof ctx.s, string | undefined>>();
    // @ts-expect-error an int parameter is no string
    ctx.n.toUpperCase();
    return res.end();
  }, "pa");
for (const name of ["g", "po", "pu", "d", "h", "o", "t", "c"] as const) methods.urlFor(name, { n: 1 });
methods.urlFor("pa", { n: 1 });
methods.urlFor("pa", { n: 1, s: "x" });
// @ts-expect-error each helper adds its name with its rule's parameters
methods.urlFor("d", { n: "1" });
assertType<Equal<Parameters<typeof methods.delete>[0], string>>();
new Router().scope("/s/<int:sid>", (s) =>
  s.delete("/x/<y>", (req, res, next, ctx) => {
    assertType<Equal<typeof ctx.sid, number>>();
    assertType<Equal<typeof ctx.y, string>>();
    return res.end();
  }),
);
