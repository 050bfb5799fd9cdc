import { request as httpRequest, Agent } from "node:http";
import { Readable } from "node:stream";
import { Headers, Server } from "../../vsgi/index.js";
import { handler } from "../../examples/echo/handler.js";
import type { ConformanceClient, ConformanceRequest, ConformanceResponse, Transport } from "../servers/conformance.js";

/** Speaks HTTP/1.1 to a port with node:http (keep-alive), for the conformance suite. */
export function httpClient(port: number, close: () => Promise<void>): ConformanceClient {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  return {
    request(r: ConformanceRequest): Promise<ConformanceResponse> {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string | string[]> = {};
        for (const [name, value] of r.headers ?? []) {
          const previous = headers[name];
          headers[name] = previous === undefined ? value : ([] as string[]).concat(previous, value);
        }
        const req = httpRequest({ host: "127.0.0.1", port, method: r.method, path: r.target, headers, agent }, (res) => {
          const out = new Headers(null, false);
          for (let i = 0; i < res.rawHeaders.length; i += 2) out.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
          const chunks: Buffer[] = [];
          let received = 0;
          res.on("data", (chunk: Buffer) => {
            chunks.push(chunk);
            received += chunk.length;
            if (r.abortAfter !== undefined && received >= r.abortAfter) {
              req.destroy();
              resolve({ status: res.statusCode!, headers: out, body: Buffer.concat(chunks) });
            }
          });
          res.on("end", () => resolve({ status: res.statusCode!, headers: out, body: Buffer.concat(chunks) }));
          res.on("error", (err) => (r.abortAfter !== undefined ? undefined : reject(err)));
        });
        req.on("error", (err) => (r.abortAfter !== undefined ? undefined : reject(err)));
        if (r.body === undefined) req.end();
        else if (Buffer.isBuffer(r.body)) req.end(r.body);
        else Readable.from(r.body).pipe(req);
      });
    },
    async close(): Promise<void> {
      agent.destroy();
      await close();
    },
  };
}

/** The http backend, for the conformance suite. */
export const httpTransport: Transport = {
  name: "http",
  async start() {
    const server = await Server.load("http", { handler });
    await server.listen({ port: 0 });
    return httpClient(Number(server.uris[0]!.port), () => server.stop());
  },
};
