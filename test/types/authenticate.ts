/**
 * Type tests for `authenticate`: the forward's value and `ctx.authorization` are typed from the
 * scheme. Compiled by the main build; each `@ts-expect-error` line must fail to compile.
 */
import {
  Router,
  authenticate,
  BasicAuthentication,
  BasicAuthorization,
  DigestAuthentication,
  DigestAuthorization,
  type Authorization,
  type DigestAlgorithm,
  type HandlerCallback,
} from "../../valum/index.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}

const app = new Router();

// Basic: the value is a BasicAuthorization, with the password for a check against a stored hash
app.get(
  "/basic",
  authenticate(
    new BasicAuthentication("board"),
    (auth) => {
      assertType<Equal<typeof auth, BasicAuthorization>>();
      const password: string = auth.password;
      return auth.challengeWithPassword(password);
    },
    (req, res, next, ctx, auth) => {
      assertType<Equal<typeof auth, BasicAuthorization>>();
      assertType<Equal<typeof ctx.authorization, BasicAuthorization>>();
      return res.expandUtf8(auth.username);
    },
  ),
);

// Digest: a DigestAuthorization, which has no password; check may be asynchronous
app.get(
  "/digest",
  authenticate(
    new DigestAuthentication("api", { algorithms: ["SHA-256", "MD5"], nonceTtl: 60_000 }),
    async (auth) => {
      const algorithm: DigestAlgorithm = auth.algorithm;
      // @ts-expect-error Digest credentials carry no password
      auth.password;
      return algorithm === "MD5" ? false : auth.challengeWithPassword("pw");
    },
    (req, res, next, ctx, auth) => {
      assertType<Equal<typeof auth, DigestAuthorization>>();
      assertType<Equal<typeof ctx.authorization, DigestAuthorization>>();
      const authorization: Authorization = ctx.authorization;
      return res.expandUtf8(authorization.username);
    },
  ),
);

// the rule's parameters reach the forward's context
app.get(
  "/users/<int:id>",
  authenticate(new BasicAuthentication("board"), (auth) => auth.challengeWithPassword("pw"), (req, res, next, ctx, auth) => {
    const id: number = ctx.id;
    return res.expandUtf8(`${id} ${auth.username}`);
  }),
);

// it composes as any handler
const guard: HandlerCallback = authenticate(new BasicAuthentication("board"), () => false, (req, res, next) => next());
app.use(guard);

// @ts-expect-error check returns a boolean, not a string
authenticate(new BasicAuthentication("board"), () => "yes", (req, res, next) => next());
// @ts-expect-error the forward must answer whether the request is handled
authenticate(new BasicAuthentication("board"), () => true, (req, res) => undefined);
// @ts-expect-error an unknown algorithm
new DigestAuthentication("api", { algorithms: ["SHA-1"] });
// @ts-expect-error charset is UTF-8 or null
new BasicAuthentication("board", { charset: "latin1" });
// @ts-expect-error no such option
new DigestAuthentication("api", { nonceTTL: 5 });

export {};
