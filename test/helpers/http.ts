import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { Server, type HandlerLike } from "../../vsgi/index.js";

/** A running http backend on a free loopback port. */
export interface Served {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/**
 * Starts the real http backend with `handler` on 127.0.0.1, port 0.
 *
 * @example const { url, close } = await serve(app); await fetch(url + "/x"); await close();
 */
export async function serve(handler: HandlerLike, options: Record<string, unknown> = {}): Promise<Served> {
  const server = await Server.load("http", { handler, ...options });
  await server.listen({ port: 0, host: "127.0.0.1" });
  const uri = server.uris[0]!;
  return {
    url: `http://127.0.0.1:${uri.port}`,
    port: Number(uri.port),
    server,
    close: () => server.stop(),
  };
}

/** A response as read off the wire by `send`. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * Sends one request with node:http (any method, any target such as `*`), reads the whole response.
 *
 * @example const res = await send(port, "TRACE", "/x", { "X-A": "1" });
 */
export function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Writes raw bytes to the server and collects everything it sends back until it closes (or
 * `idleMs` passes without data): for requests node:http will not send.
 */
export function raw(port: number, bytes: string | Buffer, idleMs = 500): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString("latin1"));
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(finish, idleMs);
    };
    socket.on("connect", () => {
      socket.write(bytes);
      arm();
    });
    socket.on("data", (c: Buffer) => {
      chunks.push(c);
      arm();
    });
    socket.on("end", finish);
    socket.on("error", reject);
  });
}
