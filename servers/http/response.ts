import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex, Writable } from "node:stream";
import { Response, type Headers, type TakenConnection } from "../../vsgi/index.js";
import type { HttpRequest } from "./request.js";

function flatten(headers: Headers): string[] {
  return headers.flatten();
}

// node checks a reason phrase it is given (a regular expression per response): give it only
// the ones it would not find itself.
function custom(status: number, reason: string): string | undefined {
  return STATUS_CODES[status] === reason ? undefined : reason;
}

/** What node:http's 'upgrade' event gives besides the request: the connection and the bytes read past the head. */
export interface HttpUpgrade {
  socket: Duplex;
  head: Buffer;
  request: IncomingMessage;
}

/**
 * A response written through node:http, which frames it (length or chunked) and drops HEAD
 * bodies. For a request that asks to upgrade, `takeConnection()` gives the socket away.
 */
export class HttpResponse extends Response {
  private readonly node: ServerResponse;
  private upgrade: HttpUpgrade | null;
  private taken: Duplex | null = null;

  constructor(request: HttpRequest, node: ServerResponse, upgrade: HttpUpgrade | null = null) {
    super(request);
    this.node = node;
    this.upgrade = upgrade;
  }

  protected override detachConnection(): TakenConnection | null {
    const upgrade = this.upgrade;
    if (upgrade === null) return null;
    this.upgrade = null;
    this.taken = upgrade.socket;
    this.node.detachSocket(upgrade.socket as Socket);
    return { socket: upgrade.socket, head: upgrade.head, nativeRequest: upgrade.request };
  }

  protected sendHead(status: number, reason: string, headers: Headers): void {
    this.node.writeHead(status, custom(status, reason), flatten(headers));
  }

  protected get sink(): Writable {
    return this.node;
  }

  protected override sendWhole(status: number, reason: string, headers: Headers, body: string | Uint8Array | null): void {
    this.node.writeHead(status, custom(status, reason), flatten(headers));
    if (body === null) this.node.end();
    else this.node.end(body);
  }

  destroy(error?: Error): void {
    if (this.taken !== null) this.taken.destroy(error);
    else this.node.destroy(error);
  }
}
