import { STATUS_CODES, type ServerResponse } from "node:http";
import type { Writable } from "node:stream";
import { Response, type Headers } from "../../vsgi/index.js";
import type { HttpRequest } from "./request.js";

function flatten(headers: Headers): string[] {
  return headers.flatten();
}

// node checks a reason phrase it is given (a regular expression per response): give it only
// the ones it would not find itself.
function custom(status: number, reason: string): string | undefined {
  return STATUS_CODES[status] === reason ? undefined : reason;
}

/** A response written through node:http, which frames it (length or chunked) and drops HEAD bodies. */
export class HttpResponse extends Response {
  private readonly node: ServerResponse;

  constructor(request: HttpRequest, node: ServerResponse) {
    super(request);
    this.node = node;
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
    this.node.destroy(error);
  }
}
