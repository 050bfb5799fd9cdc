// The `allow` option of the socket backends: the peers that may connect, as IP addresses
// written the way node reports a peer, so that admitting a connection is one set look-up.
import { isIP } from "node:net";
import { VsgiError, ERR_INVALID_OPTION } from "./errors.js";

function stripMapped(address: string): string {
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

/**
 * An allow-list entry in the spelling node gives a peer's address: IPv4 dotted, IPv6 compressed
 * and in lower case (RFC 5952), an IPv4-mapped one as its IPv4 address. Anything that is no IP
 * address is an error: a host name or a range would silently refuse every peer.
 *
 * @example allowEntry("0:0:0:0:0:0:0:1"); // "::1"
 */
function allowEntry(entry: unknown): string {
  const family = typeof entry === "string" ? isIP(entry) : 0;
  if (family === 0) {
    throw new VsgiError(ERR_INVALID_OPTION, `option allow must list IP addresses (no host names or ranges), got ${JSON.stringify(entry)}`);
  }
  const address = entry as string;
  if (family === 4) return address;
  let host: string;
  try {
    host = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address.toLowerCase(); // a zone index (fe80::1%eth0), which URL does not take
  }
  // the URL serializer writes a mapped IPv4 address in hex (::ffff:7f00:1)
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped === null) return host;
  const high = parseInt(mapped[1]!, 16);
  const low = parseInt(mapped[2]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/**
 * The `allow` option checked and made a set of addresses in node's spelling; `null` (anyone)
 * when absent or empty. A value that is no list, or an entry that is no IP address, is a
 * `VsgiError` (`ERR_VSGI_INVALID_OPTION`) naming it.
 *
 * @example peerAllowList(["127.0.0.1", "0:0:0:0:0:0:0:1"]); // Set { "127.0.0.1", "::1" }
 */
export function peerAllowList(allow: unknown): ReadonlySet<string> | null {
  if (allow === undefined) return null;
  if (!Array.isArray(allow)) throw new VsgiError(ERR_INVALID_OPTION, "option allow must be a list of peer addresses");
  return allow.length > 0 ? new Set(allow.map(allowEntry)) : null;
}

/**
 * Whether a peer is on the list (an IPv4-mapped IPv6 peer as its IPv4 address). A peer without
 * an IP address, on a UNIX socket, passes: the list is of IP peers, and the socket file's
 * permissions say who may connect there.
 *
 * @example peerAllowed(new Set(["127.0.0.1"]), "::ffff:127.0.0.1"); // true
 */
export function peerAllowed(allow: ReadonlySet<string>, remoteAddress: string | undefined): boolean {
  return remoteAddress === undefined || allow.has(stripMapped(remoteAddress));
}
