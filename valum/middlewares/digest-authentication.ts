/**
 * The Digest scheme (RFC 7616) for `authenticate`: the client proves it knows the password by
 * hashing it with a server nonce. Nonces are stateless (HMAC-signed, carrying their issue time);
 * the only state is the replay check (the `nc` seen per nonce), bounded by `maxNonces`.
 */
import { createHmac, randomBytes, randomFillSync, timingSafeEqual } from "node:crypto";
import type { Request } from "../../vsgi/index.js";
import { AuthSyntaxError, constantTimeEqual, decodeHeaderUtf8, serializeAuthParams, type AuthParams } from "../http/authorization.js";
import { DIGEST_ALGORITHMS, decodeExtValue, digestAlgorithm, digestResponse, digestSecret, type DigestAlgorithm } from "../http/digest.js";
import { AUTHENTICATE_DEFAULTS, checkKnownOptions, checkRealm, type AuthenticationScheme, type Authorization } from "./authenticate.js";
import { invalidOption } from "./options.js";

/** Options of `new DigestAuthentication(realm, options)`; defaults in `AUTHENTICATE_DEFAULTS`. */
export interface DigestAuthenticationOptions {
  /** The algorithms offered, one challenge each, in order. */
  algorithms?: readonly DigestAlgorithm[];
  /**
   * The key nonces are signed with (at least 16 bytes). By default a random key per process:
   * with `--forks` (or several servers) every worker must be given the same secret, or a nonce
   * from one worker is refused by the others.
   */
  secret?: string | Uint8Array;
  /** How long a nonce is accepted, in milliseconds. */
  nonceTtl?: number;
  /** How many nonces the replay check remembers. */
  maxNonces?: number;
  /**
   * Turns on `userhash` (RFC 7616 §3.4.4): clients may send H(username:realm) instead of the
   * name, and this finds the name back (precompute `digestUserhash(algorithm, name, realm)` per
   * user); `null` when no user has that hash.
   */
  userhash?: (userhash: string, algorithm: DigestAlgorithm) => string | null | Promise<string | null>;
}

/**
 * Digest credentials, checked against the request and the nonce before `check` sees them.
 *
 * @example (auth: DigestAuthorization) => auth.challengeWithSecret(htdigest.get(auth.username) ?? "")
 */
export class DigestAuthorization implements Authorization {
  readonly scheme = "Digest";
  private _verified = false;

  /** @internal Built by `DigestAuthentication.authorize` once the directives are checked. */
  constructor(
    /** The user's name (found back from the hash when `userhash` is true). */
    readonly username: string,
    readonly realm: string,
    readonly algorithm: DigestAlgorithm,
    /** The request method, which the response hashes. */
    readonly method: string,
    /** The `uri` directive, equal to the request-target. */
    readonly uri: string,
    readonly nonce: string,
    /** The `nc` directive as sent (hex). */
    readonly nc: string,
    /** `nc` as a number. */
    readonly count: number,
    readonly cnonce: string,
    readonly qop: "auth",
    /** Whether the client sent H(username:realm) instead of the name. */
    readonly userhash: boolean,
    /** @internal When the nonce was issued (ms since the epoch). */
    readonly issued: number,
    private readonly response: string,
  ) {}

  /** Whether `challengeWithPassword` or `challengeWithSecret` said yes. */
  get verified(): boolean {
    return this._verified;
  }

  /**
   * Whether the client hashed `password` (the user's): the expected response is computed and
   * compared in constant time.
   *
   * @example auth.challengeWithPassword(passwords.get(auth.username) ?? "")
   */
  challengeWithPassword(password: string): boolean {
    return this.challengeWithSecret(digestSecret(this.algorithm, this.username, this.realm, password));
  }

  /**
   * The same with the stored H(username:realm:password) (`digestSecret`, or an htdigest line)
   * instead of the password; it must be of this authorization's algorithm.
   *
   * @example auth.challengeWithSecret(secrets.get(`${auth.algorithm}:${auth.username}`) ?? "")
   */
  challengeWithSecret(secret: string): boolean {
    const ok = constantTimeEqual(digestResponse(secret, this), this.response);
    if (ok) this._verified = true;
    return ok;
  }
}

interface Seen {
  issued: number;
  /** The highest `nc` accepted. */
  max: number;
  /** Bit k set: `max - k` was accepted. */
  mask: number;
}

// Clients pipeline requests over several connections, so counts may arrive a little out of
// order: any count seen before is a replay, and so is one more than WINDOW below the highest.
const WINDOW = 32;

/** The `nc` values accepted per nonce, in a map that never grows past `cap`. */
class NonceCounts {
  private readonly seen = new Map<string, Seen>();
  /**
   * Nonces issued up to this time and not in the map are refused: they may have been in it
   * before being evicted, and their counts are lost.
   */
  private forgottenUpTo = -Infinity;

  constructor(
    private readonly cap: number,
    private readonly ttl: number,
  ) {}

  status(nonce: string, issued: number, nc: number): "fresh" | "replay" | "forgotten" {
    const entry = this.seen.get(nonce);
    if (entry === undefined) return issued <= this.forgottenUpTo ? "forgotten" : "fresh";
    if (nc > entry.max) return "fresh";
    const k = entry.max - nc;
    return k >= WINDOW || ((entry.mask >>> k) & 1) === 1 ? "replay" : "fresh";
  }

  /** Records an accepted count; says what `status` said, checked again after `check` awaited. */
  record(nonce: string, issued: number, nc: number, now: number): "fresh" | "replay" | "forgotten" {
    const status = this.status(nonce, issued, nc);
    if (status !== "fresh") return status;
    const entry = this.seen.get(nonce);
    if (entry === undefined) {
      this.seen.set(nonce, { issued, max: nc, mask: 1 });
      if (this.seen.size > this.cap) this.evict(now);
    } else if (nc > entry.max) {
      const shift = nc - entry.max;
      entry.mask = shift >= WINDOW ? 1 : ((entry.mask << shift) | 1) >>> 0;
      entry.max = nc;
    } else {
      entry.mask = (entry.mask | (1 << (entry.max - nc))) >>> 0;
    }
    return "fresh";
  }

  private evict(now: number): void {
    const seen = this.seen;
    for (const [nonce, entry] of seen) if (now - entry.issued > this.ttl) seen.delete(nonce);
    if (seen.size <= this.cap) return;
    // Still full of live nonces: forget the oldest tenth at once, so that eviction is rare.
    let count = Math.max(1, Math.ceil(this.cap / 10));
    for (const [nonce, entry] of seen) {
      if (count-- === 0) break;
      seen.delete(nonce);
      if (entry.issued > this.forgottenUpTo) this.forgottenUpTo = entry.issued;
    }
  }

  get size(): number {
    return this.seen.size;
  }
}

let processSecret: Buffer | null = null;

const NC = /^[0-9A-Fa-f]{1,8}$/;
const NONCE = /^[A-Za-z0-9_-]{43}$/;
const BARE = new Set(["algorithm", "charset", "stale", "userhash"]);
const REQUIRED = ["realm", "nonce", "uri", "response", "qop", "nc", "cnonce"];
const KNOWN = ["algorithms", "secret", "nonceTtl", "maxNonces", "userhash"];

function required(params: ReadonlyMap<string, string>, name: string): string {
  const value = params.get(name);
  if (value === undefined) throw new AuthSyntaxError(`Digest credentials without ${name}`);
  return value;
}

/**
 * The Digest scheme: one challenge per algorithm (`qop="auth"`, a signed nonce that expires,
 * `opaque`, `charset=UTF-8`, and `userhash=true` when a resolver is given), then every check
 * of RFC 7616 on the answer: realm, algorithm, `uri` equal to the request-target (else 400),
 * nonce signature and age, `nc` never seen before on that nonce, and the response itself in
 * `challengeWithPassword`.
 *
 * @example authenticate(new DigestAuthentication("api", { secret: process.env.DIGEST_SECRET }), check, forward)
 */
export class DigestAuthentication implements AuthenticationScheme<DigestAuthorization> {
  readonly name = "Digest";
  readonly realm: string;
  readonly algorithms: readonly DigestAlgorithm[];
  readonly nonceTtl: number;
  private readonly secret: Buffer;
  private readonly opaque: string;
  private readonly resolve: NonNullable<DigestAuthenticationOptions["userhash"]> | null;
  private readonly counts: NonceCounts;
  /** Each challenge without its nonce: the text before and after it. */
  private readonly parts: readonly (readonly [string, string])[];

  constructor(realm: string, options: DigestAuthenticationOptions = {}) {
    const M = "DigestAuthentication";
    this.realm = checkRealm(M, realm);
    checkKnownOptions(M, options, KNOWN);
    const algorithms = options.algorithms ?? AUTHENTICATE_DEFAULTS.algorithms;
    if (
      !Array.isArray(algorithms) ||
      algorithms.length === 0 ||
      algorithms.some((a) => !DIGEST_ALGORITHMS.includes(a as DigestAlgorithm)) ||
      new Set(algorithms).size !== algorithms.length
    ) {
      throw invalidOption(M, "algorithms", `a non-empty list of distinct algorithms among ${DIGEST_ALGORITHMS.join(", ")}`, algorithms);
    }
    this.algorithms = Object.freeze([...algorithms]);
    const ttl = options.nonceTtl ?? AUTHENTICATE_DEFAULTS.nonceTtl;
    if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl <= 0) throw invalidOption(M, "nonceTtl", "a positive number of milliseconds", ttl);
    this.nonceTtl = ttl;
    const cap = options.maxNonces ?? AUTHENTICATE_DEFAULTS.maxNonces;
    if (!Number.isSafeInteger(cap) || cap <= 0) throw invalidOption(M, "maxNonces", "a positive integer", cap);
    this.counts = new NonceCounts(cap, ttl);
    const secret = options.secret;
    if (secret === undefined) this.secret = processSecret ??= randomBytes(32);
    else if ((typeof secret === "string" || secret instanceof Uint8Array) && Buffer.byteLength(secret) >= 16) {
      this.secret = typeof secret === "string" ? Buffer.from(secret, "utf8") : Buffer.from(secret);
    } else {
      throw invalidOption(M, "secret", "a string or bytes of at least 16 bytes", typeof secret === "string" ? `${secret.length} characters` : secret);
    }
    if (options.userhash !== undefined && typeof options.userhash !== "function") {
      throw invalidOption(M, "userhash", "a function (userhash, algorithm) => username | null", options.userhash);
    }
    this.resolve = options.userhash ?? null;
    this.opaque = this.mac("opaque", Buffer.alloc(0)).subarray(0, 16).toString("base64url");
    this.parts = this.algorithms.map((algorithm) => {
      const params = new Map([
        ["realm", realm],
        ["qop", "auth"],
        ["algorithm", algorithm],
        ["nonce", "@"],
        ["opaque", this.opaque],
        ["charset", "UTF-8"],
      ]);
      if (this.resolve !== null) params.set("userhash", "true");
      // A realm has no quotes, so the placeholder nonce is found exactly once.
      const [before, after] = serializeAuthParams({ scheme: "Digest", token68: null, params }, BARE).split('nonce="@"');
      return [before + 'nonce="', '"' + after] as const;
    });
  }

  private mac(purpose: string, data: Uint8Array): Buffer {
    return createHmac("sha256", this.secret).update(`valum digest ${purpose}\0${this.realm}\0`).update(data).digest();
  }

  /** A new nonce: 6 bytes of issue time (ms), 10 random bytes, 16 bytes of HMAC, in base64url. */
  private createNonce(now: number): string {
    const bytes = Buffer.allocUnsafe(32);
    bytes.writeUIntBE(now, 0, 6);
    randomFillSync(bytes, 6, 10);
    this.mac("nonce", bytes.subarray(0, 16)).copy(bytes, 16, 0, 16);
    return bytes.toString("base64url");
  }

  /** The issue time of a nonce this scheme signed, or `null` for any other text. */
  private nonceTime(nonce: string): number | null {
    if (!NONCE.test(nonce)) return null;
    const bytes = Buffer.from(nonce, "base64url");
    // 43 characters carry 258 bits for 256: the last one's two low bits are padding, so four
    // spellings decode to the same bytes. Only the one this scheme wrote is its nonce (the
    // replay check keys on the text).
    if (bytes.toString("base64url") !== nonce) return null;
    const mac = this.mac("nonce", bytes.subarray(0, 16));
    return timingSafeEqual(mac.subarray(0, 16), bytes.subarray(16)) ? bytes.readUIntBE(0, 6) : null;
  }

  /**
   * One challenge per algorithm, with one fresh nonce, and `stale=true` when asked.
   *
   * @example scheme.challenges(false); // ['Digest realm="api", qop="auth", algorithm=SHA-256, nonce="...", ...', ...]
   */
  challenges(stale: boolean): readonly string[] {
    const nonce = this.createNonce(Date.now());
    const tail = stale ? ", stale=true" : "";
    return this.parts.map(([before, after]) => before + nonce + after + tail);
  }

  /**
   * The credentials checked against this scheme and the request; `null` (a 401) when they are
   * for another realm, algorithm, qop or opaque, when the nonce is not ours, or when `nc` was
   * seen before; an `AuthSyntaxError` (a 400) when a directive is missing or malformed, or when
   * `uri` is not the request-target.
   */
  authorize(req: Request, credentials: AuthParams): DigestAuthorization | null | Promise<DigestAuthorization | null> {
    const params = credentials.params;
    if (credentials.token68 !== null) throw new AuthSyntaxError("Digest credentials are auth-params, not a token68");
    for (const name of REQUIRED) required(params, name);
    const plain = params.get("username");
    const extended = params.get("username*");
    if ((plain === undefined) === (extended === undefined)) throw new AuthSyntaxError("Digest credentials need one of username and username*");
    const hashed = params.get("userhash");
    if (hashed !== undefined && !/^(true|false)$/i.test(hashed)) throw new AuthSyntaxError("userhash is true or false");
    const userhash = hashed !== undefined && hashed.toLowerCase() === "true";
    if (userhash && extended !== undefined) throw new AuthSyntaxError("username* cannot be a userhash");
    const username = plain !== undefined ? decodeHeaderUtf8(plain) : decodeExtValue(extended!);
    const nc = params.get("nc")!;
    if (!NC.test(nc)) throw new AuthSyntaxError("nc is 8 hexadecimal digits");
    const count = parseInt(nc, 16);
    if (count === 0) throw new AuthSyntaxError("nc starts at 00000001");
    // RFC 7616 §3.4.6: credentials for another request-target are a bad request.
    const uri = params.get("uri")!;
    if (uri !== req.target) throw new AuthSyntaxError(`uri ${JSON.stringify(uri)} is not the request-target`);

    if (params.get("realm") !== this.realm) return null;
    if (params.get("qop") !== "auth") return null;
    if (params.get("opaque") !== this.opaque) return null;
    const algorithm = digestAlgorithm(params.get("algorithm") ?? "MD5");
    if (algorithm === null || !this.algorithms.includes(algorithm)) return null;
    const nonce = params.get("nonce")!;
    const issued = this.nonceTime(nonce);
    if (issued === null) return null;
    if (this.counts.status(nonce, issued, count) === "replay") return null;

    if (!userhash) return this.create(username, req, params, algorithm, issued);
    if (this.resolve === null) return null;
    const found = this.resolve(username, algorithm);
    if (typeof found === "string") return this.create(found, req, params, algorithm, issued);
    if (found === null) return null;
    return Promise.resolve(found).then((name) => (typeof name === "string" ? this.create(name, req, params, algorithm, issued) : null));
  }

  private create(username: string, req: Request, params: ReadonlyMap<string, string>, algorithm: DigestAlgorithm, issued: number): DigestAuthorization {
    const nc = params.get("nc")!;
    return new DigestAuthorization(
      username,
      this.realm,
      algorithm,
      req.method,
      params.get("uri")!,
      params.get("nonce")!,
      nc,
      parseInt(nc, 16),
      params.get("cnonce")!,
      "auth",
      params.get("userhash")?.toLowerCase() === "true",
      issued,
      params.get("response")!,
    );
  }

  /**
   * After `check` accepted: `stale` when the nonce is too old (or its counts were forgotten) and
   * the response was right, `refuse` when it is too old and the response was not verified or
   * when `nc` is a replay, `accept` otherwise (and the count is recorded).
   */
  accept(auth: DigestAuthorization): "accept" | "stale" | "refuse" {
    const now = Date.now();
    if (now - auth.issued > this.nonceTtl) return auth.verified ? "stale" : "refuse";
    const status = this.counts.record(auth.nonce, auth.issued, auth.count, now);
    if (status === "fresh") return "accept";
    return status === "forgotten" && auth.verified ? "stale" : "refuse";
  }

  /** How many nonces the replay check remembers now (at most `maxNonces`). */
  get trackedNonces(): number {
    return this.counts.size;
  }
}
