/**
 * The Basic scheme (RFC 7617) for `authenticate`: the password travels in clear (base64), so use
 * it over TLS only.
 */
import type { Request } from "../../vsgi/index.js";
import { AuthSyntaxError, constantTimeEqual, decodeBasicCredentials, serializeAuthParams, type AuthParams } from "../http/authorization.js";
import { AUTHENTICATE_DEFAULTS, checkKnownOptions, checkRealm, type AuthenticationScheme, type Authorization } from "./authenticate.js";
import { invalidOption } from "./options.js";

/** Options of `new BasicAuthentication(realm, options)`; defaults in `AUTHENTICATE_DEFAULTS`. */
export interface BasicAuthenticationOptions {
  /** `"UTF-8"` (announced, RFC 7617 §2.1) or `null` (none announced). */
  charset?: "UTF-8" | null;
}

/**
 * Basic credentials: the user-id and the password as the client sent them.
 *
 * @example (auth: BasicAuthorization) => bcrypt.compare(auth.password, hashes.get(auth.username))
 */
export class BasicAuthorization implements Authorization {
  readonly scheme = "Basic";

  constructor(
    readonly username: string,
    /** The password sent: for a check against a stored hash (bcrypt, argon2, ...). */
    readonly password: string,
    readonly realm: string,
  ) {}

  /**
   * Whether the password sent is `password`, compared in constant time.
   *
   * @example auth.challengeWithPassword(passwords.get(auth.username) ?? "")
   */
  challengeWithPassword(password: string): boolean {
    return constantTimeEqual(this.password, password);
  }
}

const KNOWN = ["charset"];

/**
 * The Basic scheme: challenges with `Basic realm="...", charset="UTF-8"` and reads
 * `Authorization: Basic base64(user-id:password)`, split on the first colon.
 *
 * @example authenticate(new BasicAuthentication("admin"), (auth) => auth.username === "root" && auth.challengeWithPassword(rootPassword), forward)
 */
export class BasicAuthentication implements AuthenticationScheme<BasicAuthorization> {
  readonly name = "Basic";
  readonly realm: string;
  readonly charset: "UTF-8" | null;
  private readonly challenge: readonly string[];

  constructor(realm: string, options: BasicAuthenticationOptions = {}) {
    this.realm = checkRealm("BasicAuthentication", realm);
    checkKnownOptions("BasicAuthentication", options, KNOWN);
    const charset = options.charset === undefined ? AUTHENTICATE_DEFAULTS.charset : options.charset;
    if (charset !== null && (typeof charset !== "string" || charset.toUpperCase() !== "UTF-8")) {
      throw invalidOption("BasicAuthentication", "charset", '"UTF-8" or null (RFC 7617 allows no other)', charset);
    }
    this.charset = charset === null ? null : "UTF-8";
    const params = new Map([["realm", realm]]);
    if (this.charset !== null) params.set("charset", this.charset);
    this.challenge = Object.freeze([serializeAuthParams({ scheme: "Basic", token68: null, params })]);
  }

  /** The one challenge, the same every time. @example scheme.challenges(false); // ['Basic realm="admin", charset="UTF-8"'] */
  challenges(): readonly string[] {
    return this.challenge;
  }

  /** The credentials decoded; an `AuthSyntaxError` when they are no base64 `user:password`. */
  authorize(_req: Request, credentials: AuthParams): BasicAuthorization {
    if (credentials.token68 === null) throw new AuthSyntaxError("Basic credentials are one base64 token");
    const { username, password } = decodeBasicCredentials(credentials.token68, this.charset);
    return new BasicAuthorization(username, password, this.realm);
  }

  /** Basic has no state: what `check` accepted holds. */
  accept(): "accept" {
    return "accept";
  }
}
