/**
 * The opening handshake of the WebSocket protocol (RFC 6455 §4) as pure functions on header
 * values: the token lists of `Connection`, `Upgrade` and `Sec-WebSocket-Protocol`, the
 * subprotocol choice, the key's shape and origins. No request, no response, no socket: what the
 * `websocket` middleware glues. The frames themselves are `ws`'s.
 */
import { isToken, splitList } from "./tokens.js";

/** A handshake header value that does not follow its grammar. */
export class WebSocketSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebSocketSyntaxError";
  }
}

const OWS = /^[ \t]+|[ \t]+$/g;

/**
 * Whether a comma-separated header value (`Connection`, `Upgrade`) lists `token`, compared
 * case-insensitively; for `Upgrade`, `websocket/13` does not count as `websocket`.
 *
 * @example listHasToken("keep-alive, Upgrade", "upgrade"); // true
 */
export function listHasToken(value: string | null, token: string): boolean {
  const elements = value === null ? null : splitList(value);
  if (elements === null) return false;
  const wanted = token.toLowerCase();
  for (const element of elements) if (element.toLowerCase() === wanted) return true;
  return false;
}

/**
 * The subprotocols a client offers (`Sec-WebSocket-Protocol`, RFC 6455 §4.1: tokens, each once),
 * in its order of preference. Throws a `WebSocketSyntaxError` on an empty element, a character
 * outside a token or a duplicate, which `ws` refuses too.
 *
 * @example parseProtocols("chat.v2, chat"); // ["chat.v2", "chat"]
 */
export function parseProtocols(value: string): string[] {
  // Not splitList: an empty element must be refused here, as ws would refuse it after the upgrade.
  const parts = value.split(",");
  const out: string[] = [];
  for (const part of parts) {
    const protocol = part.replace(OWS, "");
    if (protocol.length === 0) throw new WebSocketSyntaxError("an empty subprotocol in the list");
    if (!isToken(protocol)) throw new WebSocketSyntaxError(`the subprotocol ${JSON.stringify(protocol)} is not a token`);
    if (out.includes(protocol)) throw new WebSocketSyntaxError(`the subprotocol ${JSON.stringify(protocol)} is offered twice`);
    out.push(protocol);
  }
  return out;
}

/**
 * The value of `Sec-WebSocket-Protocol` for a list of subprotocols.
 *
 * @example serializeProtocols(["chat.v2", "chat"]); // "chat.v2, chat"
 */
export function serializeProtocols(protocols: readonly string[]): string {
  for (const protocol of protocols) {
    if (!isToken(protocol)) throw new WebSocketSyntaxError(`the subprotocol ${JSON.stringify(protocol)} is not a token`);
  }
  return protocols.join(", ");
}

/**
 * The subprotocol to answer with: the first of the server's, in the server's order, that the
 * client offers (names are compared exactly); `null` when there is none in common, and then
 * the server sends no `Sec-WebSocket-Protocol` (RFC 6455 §4.2.2).
 *
 * @example chooseProtocol(["chat.v2", "chat"], ["chat", "chat.v2"]); // "chat.v2"
 */
export function chooseProtocol(spoken: readonly string[], offered: Iterable<string>): string | null {
  const set = offered instanceof Set ? (offered as ReadonlySet<string>) : new Set(offered);
  for (const protocol of spoken) if (set.has(protocol)) return protocol;
  return null;
}

// 16 random bytes in base64 (RFC 6455 §4.1): 22 characters and the padding, as `ws` checks it.
const KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * Whether `Sec-WebSocket-Key` has the shape of a key: the base64 of 16 bytes.
 *
 * @example isWebSocketKey("dGhlIHNhbXBsZSBub25jZQ=="); // true
 */
export function isWebSocketKey(value: string | null): boolean {
  return value !== null && KEY.test(value);
}

// scheme "://" authority, then at most a "/": no path, query or fragment.
const ORIGIN = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#\s]+\/?$/;

/**
 * The serialized origin (`scheme://host[:port]`, RFC 6454) of a configured origin, lower-cased
 * and without a default port, the way browsers send `Origin`; `null` when `value` is not an
 * origin (a path, a query, credentials, no host).
 *
 * @example normalizeOrigin("HTTPS://Example.com:443"); // "https://example.com"
 */
export function normalizeOrigin(value: string): string | null {
  if (!ORIGIN.test(value)) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.host === "" || url.username !== "" || url.password !== "" || url.origin === "null") return null;
  return url.origin;
}
