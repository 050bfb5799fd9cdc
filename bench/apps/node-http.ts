// The peer: bare node:http answering "Hello world!".
import { createServer } from "node:http";

const port = Number(process.argv[2] ?? 3003);
createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/plain; charset=UTF-8", "Content-Length": "12" });
  res.end("Hello world!");
}).listen(port, "127.0.0.1", () => console.log(`Listening on 'http://127.0.0.1:${port}/'`));
