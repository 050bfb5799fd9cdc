import { Headers } from "./headers.js";
import { Response } from "./response.js";
import { reasonPhrase } from "./reason-phrases.js";

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

/** A whole answer a backend writes on its own: the CGI head, and the body that follows it. */
export interface CgiAnswer {
  readonly head: string;
  readonly body: Buffer;
}

/**
 * The answer of a CGI-family backend (cgi, scgi, fastcgi) to a request it refuses before the
 * application runs (bad framing, bad variables, parameters too large): `status` with its
 * standard reason phrase, and `message` as a plain-text body (CR, LF and NUL made spaces, since
 * it may quote what the front server sent). Rare by nature: built when needed.
 *
 * @example const { head, body } = cgiErrorAnswer(400, `invalid CONTENT_LENGTH "x"`); socket.end(head + body);
 */
export function cgiErrorAnswer(status: number, message: string): CgiAnswer {
  const body = Buffer.from(message.replace(/[\r\n\0]/g, " ") + "\n", "utf8");
  const headers = new Headers(null, false);
  headers.append("Content-Type", "text/plain; charset=UTF-8");
  headers.append("Content-Length", String(body.length));
  return { head: cgiHead(status, reasonPhrase(status), headers), body };
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
