/**
 * Proactive negotiation (RFC 9110 section 12.5): choosing among the values a server has by an
 * `Accept`, `Accept-Charset`, `Accept-Encoding` or `Accept-Language` header, with q-values,
 * through the `negotiator` package. Pure functions; the static files middleware and the
 * negotiation middlewares share them.
 */
import Negotiator from "negotiator";

/** The request headers `preferredValues` understands (lower case). */
export type AcceptHeaderName = "accept" | "accept-charset" | "accept-encoding" | "accept-language";

/**
 * The order in which a server should offer content codings when the client weighs them the
 * same: the smallest first.
 */
export const ENCODING_PREFERENCE: readonly string[] = Object.freeze(["br", "gzip", "deflate", "identity"]);

/**
 * The values of `available` the client accepts, best first. `header` is the header's value
 * (`null` when absent). For `accept-encoding`, RFC 9110 section 12.5.3: `identity` is
 * acceptable unless excluded by `identity;q=0` or `*;q=0`, a coding is acceptable when named or
 * covered by `*` with q > 0, an absent header accepts only `identity` in practice, and ties go
 * to the earlier value of `available` (pass them in `ENCODING_PREFERENCE` order). For the other
 * headers ties go to the more specific match, then the client's order, then `available`'s.
 *
 * @example preferredValues("accept-encoding", "gzip, br;q=1, *;q=0", ["br", "gzip", "identity"]); // ["br", "gzip"]
 */
export function preferredValues(name: AcceptHeaderName, header: string | null, available: readonly string[]): string[] {
  const negotiator = new Negotiator({ headers: header === null ? {} : { [name]: header } });
  const offered = available as string[];
  switch (name) {
    case "accept":
      return negotiator.mediaTypes(offered);
    case "accept-charset":
      return negotiator.charsets(offered);
    case "accept-language":
      return negotiator.languages(offered);
    case "accept-encoding":
      // negotiator's third argument (the server's order for ties) is missing from its types
      return (negotiator.encodings as (available: string[], options: { preferred: string[] }) => string[])(offered, { preferred: offered });
  }
}

/**
 * The best value of `available` for the client, or `null` when it accepts none of them.
 *
 * @example chooseValue("accept-encoding", "gzip;q=0.5, br", ["br", "gzip", "identity"]); // "br"
 */
export function chooseValue(name: AcceptHeaderName, header: string | null, available: readonly string[]): string | null {
  return preferredValues(name, header, available)[0] ?? null;
}
