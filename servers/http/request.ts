import type { IncomingMessage, ServerResponse } from "node:http";
import { Request, Headers } from "../../vsgi/index.js";

/**
 * A request from node:http. Node parses the head; this reads it lazily: the host, the peer and
 * the header table are only looked at when asked for.
 */
export class HttpRequest extends Request {
  private readonly node: IncomingMessage;
  private readonly nodeResponse: ServerResponse;
  private listening = false;

  constructor(node: IncomingMessage, nodeResponse: ServerResponse, scheme: string) {
    super({ method: node.method!, target: node.url!, scheme, httpVersion: node.httpVersion, body: node });
    this.node = node;
    this.nodeResponse = nodeResponse;
  }

  protected override getAuthority(): string {
    const host = this.node.headers.host;
    if (host !== undefined && host.length > 0) return host;
    const socket = this.node.socket;
    const address = socket.localAddress ?? "localhost";
    return (address.includes(":") ? `[${address}]` : address) + ":" + socket.localPort;
  }

  override get remoteAddress(): string | null {
    return this.node.socket.remoteAddress ?? null;
  }

  protected override rawHeader(name: string): string | null {
    const value = this.node.headers[name.toLowerCase()];
    if (value === undefined) return null;
    return typeof value === "string" ? value : value.join(", ");
  }

  protected override loadHeaders(): Headers {
    const raw = this.node.rawHeaders;
    const headers = new Headers(null, false);
    for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
    return headers;
  }

  override get signal(): AbortSignal {
    if (!this.listening) {
      this.listening = true;
      // The response closing before it finished means the client went away.
      this.nodeResponse.once("close", () => {
        if (!this.nodeResponse.writableFinished) this.abort(new Error("the client closed the connection"));
      });
    }
    return super.signal;
  }

  override get aborted(): boolean {
    return super.aborted || (this.nodeResponse.destroyed && !this.nodeResponse.writableFinished);
  }
}
