/**
 * `authenticate(scheme, check, forward)`: HTTP authentication (RFC 9110 §11) with the Basic
 * (RFC 7617) or the Digest (RFC 7616) scheme. The header grammar lives in
 * `valum/http/authorization.ts`; the schemes in `basic-authentication.ts` and
 * `digest-authentication.ts`; this file glues them to the router.
 */
import type { Request, Response } from "../../vsgi/index.js";
import type { Context } from "../context.js";
import type { ForwardCallback, HandlerCallback, NextCallback } from "../handler.js";
import { AuthSyntaxError, parseCredentials, type AuthParams } from "../http/authorization.js";
import type { DigestAlgorithm } from "../http/digest.js";
import { ClientError } from "../status.js";
import { invalidOption } from "./options.js";

/**
 * What `check` receives and the forward gets once it said yes: the credentials of one request,
 * whatever the scheme.
 */
export interface Authorization {
  /** `Basic` or `Digest`. */
  readonly scheme: string;
  /** The user the client claims to be; not verified until `challengeWithPassword` says so. */
  readonly username: string;
  /** The realm the credentials were given for. */
  readonly realm: string;
  /**
   * Whether the client proved it knows `password` (the user's): compares in constant time.
   *
   * @example authenticate(scheme, (auth) => auth.challengeWithPassword(passwords.get(auth.username) ?? ""), forward)
   */
  challengeWithPassword(password: string): boolean;
}

/**
 * An authentication scheme as `authenticate` drives it; `BasicAuthentication` and
 * `DigestAuthentication` are the two built in.
 */
export interface AuthenticationScheme<A extends Authorization> {
  /** The auth-scheme, matched case-insensitively against the credentials'. */
  readonly name: string;
  readonly realm: string;
  /** The `WWW-Authenticate` challenges of a 401, one per header line; `stale` for a stale nonce. */
  challenges(stale: boolean): readonly string[];
  /**
   * The authorization of credentials of this scheme, `null` when they are refused outright
   * (a 401); throws an `AuthSyntaxError` when they are malformed (a 400).
   */
  authorize(req: Request, credentials: AuthParams): A | null | Promise<A | null>;
  /** After `check` said yes: whether the authorization holds, or is a 401, with `stale=true` or not. */
  accept(auth: A): "accept" | "stale" | "refuse";
}

/** The defaults of the options of `BasicAuthentication` and `DigestAuthentication`. */
export const AUTHENTICATE_DEFAULTS = {
  /**
   * Basic: the charset announced in the challenge (RFC 7617 §2.1), in which credentials are
   * decoded; `null` announces none and reads UTF-8, or Latin-1 when the bytes are not UTF-8.
   * @default "UTF-8"
   */
  charset: "UTF-8" as "UTF-8" | null,
  /**
   * Digest: the algorithms offered, one challenge each, in this order (clients take the first
   * they know).
   * @default ["SHA-256", "MD5"]
   */
  algorithms: ["SHA-256", "MD5"] as readonly DigestAlgorithm[],
  /**
   * Digest: how long a nonce is accepted, in milliseconds; after that a right answer gets a
   * 401 with `stale=true` and the client retries with a new nonce without asking the user.
   * @default 300_000
   */
  nonceTtl: 300_000,
  /**
   * Digest: how many nonces the replay check remembers. Past it the oldest are forgotten and
   * answered as stale, so memory stays bounded whatever the traffic.
   * @default 10_000
   */
  maxNonces: 10_000,
} as const;

/** The context of the forward: `ctx.authorization` is the accepted authorization. */
export type AuthorizationContext<A extends Authorization> = Context & { authorization: A };

/** Decides whether an authorization is let through; it may be asynchronous (a database). */
export type AuthorizationCheck<A extends Authorization> = (auth: A) => boolean | Promise<boolean>;

// A realm is a quoted-string clients compare and (Digest) hash byte for byte: printable ASCII
// without the two characters that need escaping, which clients do not all unescape.
const REALM = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;

/** @internal Throws `invalidOption` unless `realm` can go into a challenge unescaped. */
export function checkRealm(middleware: string, realm: unknown): string {
  if (typeof realm !== "string" || !REALM.test(realm)) {
    throw invalidOption(middleware, "realm", "a non-empty string of printable ASCII without quotes or backslashes", realm);
  }
  return realm;
}

/** @internal Throws `invalidOption` for an option the scheme does not know (a typo, usually). */
export function checkKnownOptions(middleware: string, options: object, known: readonly string[]): void {
  if (typeof options !== "object" || options === null) throw invalidOption(middleware, "options", "an object", options);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw invalidOption(middleware, key, `one of the known options (${known.join(", ")})`, key);
  }
}

/**
 * The 401 carrying `challenges`, one `WWW-Authenticate` line each (one Digest challenge per
 * algorithm). They travel in the thrown status, so a `status(401, ...)` handler that recovers
 * leaves none of them on its own answer.
 */
function unauthorized(challenges: readonly string[]): ClientError {
  if (challenges.length === 1) return ClientError.unauthorized(challenges[0]);
  return new ClientError(401, undefined, { headers: { "WWW-Authenticate": challenges } });
}

function malformed(error: unknown): unknown {
  return error instanceof AuthSyntaxError ? ClientError.badRequest(`malformed Authorization header: ${error.message}`) : error;
}

class Authenticator<A extends Authorization> {
  private readonly name: string;

  constructor(
    private readonly scheme: AuthenticationScheme<A>,
    private readonly check: AuthorizationCheck<A>,
    private readonly forward: ForwardCallback<A, AuthorizationContext<A>>,
  ) {
    this.name = scheme.name.toLowerCase();
  }

  handle(req: Request, res: Response, next: NextCallback, ctx: Context): boolean | Promise<boolean> {
    const values = req.headers.getAll("authorization");
    if (values.length === 0) throw unauthorized(this.scheme.challenges(false));
    if (values.length > 1) throw ClientError.badRequest("several Authorization headers");
    let auth: A | null | Promise<A | null>;
    try {
      const credentials = parseCredentials(values[0]!);
      if (credentials.scheme.toLowerCase() !== this.name) throw unauthorized(this.scheme.challenges(false));
      auth = this.scheme.authorize(req, credentials);
    } catch (error) {
      throw malformed(error);
    }
    if (auth instanceof Promise) return auth.then((found) => this.verify(found, req, res, next, ctx));
    return this.verify(auth, req, res, next, ctx);
  }

  private verify(auth: A | null, req: Request, res: Response, next: NextCallback, ctx: Context): boolean | Promise<boolean> {
    if (auth === null) throw unauthorized(this.scheme.challenges(false));
    const verdict = this.check(auth);
    if (typeof verdict === "boolean") return this.conclude(verdict, auth, req, res, next, ctx);
    return Promise.resolve(verdict).then((ok) => this.conclude(ok, auth, req, res, next, ctx));
  }

  private conclude(ok: unknown, auth: A, req: Request, res: Response, next: NextCallback, ctx: Context): boolean | Promise<boolean> {
    if (ok !== true) throw unauthorized(this.scheme.challenges(false));
    const decision = this.scheme.accept(auth);
    if (decision !== "accept") throw unauthorized(this.scheme.challenges(decision === "stale"));
    const context = ctx as AuthorizationContext<A>;
    context.authorization = auth;
    return this.forward(req, res, next, context, auth);
  }
}

/**
 * Lets a request through to `forward` only with credentials that `check` accepts: a missing
 * `Authorization`, another scheme or a refusal is a 401 with the scheme's challenge(s) in
 * `WWW-Authenticate`; a malformed header is a 400. The accepted authorization is the forward's
 * value and `ctx.authorization`.
 *
 * @example
 * const users = new Map([["ana", "secret"]]);
 * app.get("/private", authenticate(
 *   new DigestAuthentication("private area"),
 *   (auth) => users.has(auth.username) && auth.challengeWithPassword(users.get(auth.username)!),
 *   (req, res, next, ctx, auth) => res.expandUtf8(`hello ${auth.username}`),
 * ));
 */
export function authenticate<A extends Authorization, C extends Context = Context>(
  scheme: AuthenticationScheme<A>,
  check: AuthorizationCheck<A>,
  forward: ForwardCallback<A, NoInfer<C> & { authorization: A }>,
): HandlerCallback<C> {
  if (
    typeof scheme !== "object" ||
    scheme === null ||
    typeof scheme.name !== "string" ||
    typeof scheme.authorize !== "function" ||
    typeof scheme.challenges !== "function" ||
    typeof scheme.accept !== "function"
  ) {
    throw invalidOption("authenticate", "scheme", "a BasicAuthentication or DigestAuthentication", scheme);
  }
  if (typeof check !== "function") throw invalidOption("authenticate", "check", "a function (auth) => boolean | Promise<boolean>", check);
  if (typeof forward !== "function") throw invalidOption("authenticate", "forward", "a function (req, res, next, ctx, auth) => boolean", forward);
  const authenticator = new Authenticator(scheme, check, forward as ForwardCallback<A, AuthorizationContext<A>>);
  return function authenticate(req, res, next, ctx) {
    return authenticator.handle(req, res, next, ctx);
  };
}
