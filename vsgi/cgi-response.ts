import type { Headers } from "./headers.js";
import { Response } from "./response.js";

// Hop-by-hop headers: the front server frames the body and manages its own connection. A
// Transfer-Encoding passed back is relayed by nginx and Apache as body bytes (PROTOCOLS.md).
const HOP_BY_HOP = new Set(["transfer-encoding", "connection", "keep-alive", "status"]);

/**
 * The head of a CGI-style response (RFC 3875 6.2): the headers, then `Status:` last (HAProxy
 * 2.6 turns a response into a 302 when Location follows Status), then a blank line.
 *
 * @example cgiHead(404, "Not Found", headers); // "Content-Type: text/plain\r\nStatus: 404 Not Found\r\n\r\n"
 */
export function cgiHead(status: number, reason: string, headers: Headers): string {
  return headers.serialize(HOP_BY_HOP) + "Status: " + status + " " + reason + "\r\n\r\n";
}

/**
 * The response of the CGI-family backends (cgi, scgi, fastcgi): a CGI head then the body, both
 * written to the backend's sink, which drops body bytes when the response has none.
 */
export abstract class CgiResponse extends Response {
  protected sendHead(status: number, reason: string, headers: Headers, hasBody: boolean): void {
    this.writeCgiHead(cgiHead(status, reason, headers), hasBody);
  }

  /** Writes the serialized head; `hasBody` false tells the sink to drop what follows. */
  protected abstract writeCgiHead(head: string, hasBody: boolean): void;
}
