// The peer of the FastCGI backend: the same hello world served by the `node-fastcgi` package
// (a FastCGI responder that mimics node:http's server API).
//   node dist/bench/apps/gateway-node-fastcgi.js 9002
import { createRequire } from "node:module";
import type { IncomingMessage, ServerResponse, Server } from "node:http";

type Responder = (req: IncomingMessage, res: ServerResponse) => void;
const fcgi = createRequire(import.meta.url)("node-fastcgi") as { createServer(responder: Responder): Server };

const port = Number(process.argv[2] ?? 9002);
fcgi
  .createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": "12" });
    res.end("Hello world!");
  })
  .listen(port, "127.0.0.1", () => console.log(`Listening on 'fcgi://127.0.0.1:${port}/'`));
