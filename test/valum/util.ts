import { serve, send, raw, type RawResponse } from "../helpers/http.js";
import type { HandlerLike } from "../../vsgi/index.js";

/** A served application and shortcuts to request it over a real socket. */
export interface Client {
  url: string;
  port: number;
  /** One request with node:http (any method, any target). */
  send(method: string, path: string, headers?: Record<string, string>, body?: string): Promise<RawResponse & { text: string }>;
  /** Raw bytes on a socket, the whole answer as latin1 text. */
  raw(bytes: string, idleMs?: number): Promise<string>;
}

/**
 * Starts `app` on the real http backend, runs `body`, and stops the server whatever happens.
 *
 * @example await withServer(app, async (c) => expect((await c.send("GET", "/")).status).toBe(200));
 */
export async function withServer(app: HandlerLike, body: (client: Client) => Promise<void>): Promise<void> {
  const served = await serve(app);
  try {
    await body({
      url: served.url,
      port: served.port,
      async send(method, path, headers = {}, payload) {
        const res = await send(served.port, method, path, headers, payload);
        return Object.assign(res, { text: res.body.toString("utf8") });
      },
      raw: (bytes, idleMs) => raw(served.port, bytes, idleMs),
    });
  } finally {
    await served.close();
  }
}

import { PassThrough, Writable } from "node:stream";
import { Request, Response, Headers } from "../../vsgi/index.js";

/** A response kept in memory: for what the http backend cannot carry (e.g. CONNECT). */
export class MemoryResponse extends Response {
  head: { status: number; headers: Headers } | null = null;
  readonly chunks: Buffer[] = [];
  destroyed: Error | null | undefined = undefined;
  private readonly out = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      this.chunks.push(Buffer.from(chunk));
      cb();
    },
  });

  protected sendHead(status: number, _reason: string, headers: Headers): void {
    this.head = { status, headers };
  }

  protected get sink(): Writable {
    return this.out;
  }

  destroy(error?: Error): void {
    this.destroyed = error ?? null;
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

/** An in-memory request and response pair. */
export function memoryExchange(method: string, target: string, headers: [string, string][] = []): { req: Request; res: MemoryResponse } {
  const body = new PassThrough();
  body.end();
  const req = new Request({ method, target, body, headers: new Headers(headers) });
  return { req, res: new MemoryResponse(req) };
}
