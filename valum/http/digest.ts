/**
 * Digest authentication (RFC 7616) as pure functions: the algorithms, H(), the response a client
 * computes and a server checks, the userhash, and the RFC 8187 ext-value of `username*`. The
 * header grammar is in `authorization.ts`.
 */
import { createHash } from "node:crypto";
import { AuthSyntaxError } from "./authorization.js";

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const LATIN1 = new TextDecoder("latin1");

/** The Digest algorithms of RFC 7616 §3.3 (the `-sess` forms hash the nonces into the secret). */
export type DigestAlgorithm = "SHA-256" | "SHA-256-sess" | "SHA-512-256" | "SHA-512-256-sess" | "MD5" | "MD5-sess";

/** Every `DigestAlgorithm`, strongest first. */
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ["SHA-512-256", "SHA-512-256-sess", "SHA-256", "SHA-256-sess", "MD5", "MD5-sess"];

const HASH_OF: Record<DigestAlgorithm, string> = {
  "SHA-256": "sha256",
  "SHA-256-sess": "sha256",
  "SHA-512-256": "sha512-256",
  "SHA-512-256-sess": "sha512-256",
  MD5: "md5",
  "MD5-sess": "md5",
};

/**
 * The algorithm named by an `algorithm` directive (case-insensitive), or `null` if unknown.
 *
 * @example digestAlgorithm("sha-256"); // "SHA-256"
 */
export function digestAlgorithm(name: string): DigestAlgorithm | null {
  const upper = name.toUpperCase();
  for (const a of DIGEST_ALGORITHMS) if (a.toUpperCase() === upper) return a;
  return null;
}

/**
 * The algorithm's hash of `text` (UTF-8), in lower-case hex: RFC 7616's H().
 *
 * @example digestHash("MD5", "a"); // "0cc175b9c0f1b6a831c399e269772661"
 */
export function digestHash(algorithm: DigestAlgorithm, text: string): string {
  return createHash(HASH_OF[algorithm]).update(text, "utf8").digest("hex");
}

/**
 * What a client sends as `username` with `userhash=true` (RFC 7616 §3.4.4): H(username:realm).
 * A server precomputes it for each user to find them again.
 *
 * @example digestUserhash("SHA-256", "ana", "app");
 */
export function digestUserhash(algorithm: DigestAlgorithm, username: string, realm: string): string {
  return digestHash(algorithm, `${username}:${realm}`);
}

/**
 * H(username:realm:password), the secret a server may store instead of the password (as
 * Apache's htdigest files do). It depends on the realm and the algorithm.
 *
 * @example digestSecret("SHA-256", "ana", "app", "pw");
 */
export function digestSecret(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return digestHash(algorithm, `${username}:${realm}:${password}`);
}

/** What a Digest response is computed from, besides the secret. */
export interface DigestInput {
  algorithm: DigestAlgorithm;
  method: string;
  /** The `uri` directive, exactly as sent. */
  uri: string;
  nonce: string;
  /** The `nc` directive exactly as sent (8 hex digits): it is hashed as text. */
  nc: string;
  cnonce: string;
  /** Only `auth` is computed here (no `auth-int`). */
  qop: "auth";
}

/**
 * The `response` directive for qop `auth` (RFC 7616 §3.4.1), from the stored secret
 * H(username:realm:password) (see `digestSecret`).
 *
 * @example digestResponse(digestSecret("SHA-256", "ana", "app", "pw"), { algorithm: "SHA-256", method: "GET", uri: "/", nonce, nc: "00000001", cnonce, qop: "auth" });
 */
export function digestResponse(secret: string, input: DigestInput): string {
  const { algorithm, nonce, cnonce } = input;
  const ha1 = algorithm.endsWith("-sess") ? digestHash(algorithm, `${secret}:${nonce}:${cnonce}`) : secret;
  const ha2 = digestHash(algorithm, `${input.method}:${input.uri}`);
  return digestHash(algorithm, `${ha1}:${nonce}:${input.nc}:${cnonce}:${input.qop}:${ha2}`);
}

/**
 * Decodes an RFC 8187 ext-value (`UTF-8''J%C3%A4s%C3%B8n`), the form of `username*`
 * (RFC 7616 §3.4.4) for a name a quoted-string cannot carry. Throws an `AuthSyntaxError` unless
 * the charset is UTF-8 or ISO-8859-1 and the encoding is valid.
 *
 * @example decodeExtValue("UTF-8''J%C3%A4s%C3%B8n%20Doe"); // "Jäsøn Doe"
 */
export function decodeExtValue(value: string): string {
  const first = value.indexOf("'");
  const second = first === -1 ? -1 : value.indexOf("'", first + 1);
  if (second === -1) throw new AuthSyntaxError("ext-value without charset and language");
  const charset = value.slice(0, first).toUpperCase();
  if (charset !== "UTF-8" && charset !== "ISO-8859-1") throw new AuthSyntaxError(`ext-value charset ${charset} is not UTF-8 or ISO-8859-1`);
  const encoded = value.slice(second + 1);
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded.charCodeAt(i);
    if (c === 37 /* % */) {
      const hex = encoded.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new AuthSyntaxError("bad percent-encoding in ext-value");
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (ATTR_CHAR.test(encoded[i]!)) bytes.push(c);
    else throw new AuthSyntaxError("invalid character in ext-value");
  }
  const raw = Uint8Array.from(bytes);
  if (charset === "ISO-8859-1") return LATIN1.decode(raw);
  try {
    return UTF8.decode(raw);
  } catch {
    throw new AuthSyntaxError("ext-value is not UTF-8");
  }
}

const ATTR_CHAR = /^[A-Za-z0-9!#$&+\-.^_`|~]$/;

/**
 * Encodes `text` as a UTF-8 RFC 8187 ext-value (the inverse of `decodeExtValue`).
 *
 * @example encodeExtValue("Jäsøn Doe"); // "UTF-8''J%C3%A4s%C3%B8n%20Doe"
 */
export function encodeExtValue(text: string): string {
  let out = "UTF-8''";
  for (const byte of Buffer.from(text, "utf8")) {
    const ch = String.fromCharCode(byte);
    out += byte < 128 && ATTR_CHAR.test(ch) ? ch : "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}
