// The control of the memory benchmark: bare node:http serving the echo app's /upload (length and
// SHA-256 of the body) and /download?size=N (the i % 251 pattern, with back-pressure), so that
// what Node itself costs for streaming 1 GiB is measured beside the backends.
//   node dist/bench/apps/gateway-memory-control.js 3003
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";

const BLOCK = Buffer.alloc(64 * 1024);
for (let i = 0; i < BLOCK.length; i++) BLOCK[i] = i % 251;

const port = Number(process.argv[2] ?? 3003);
createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", "http://x");
  if (url.pathname === "/upload") {
    const hash = createHash("sha256");
    let length = 0;
    for await (const chunk of req) {
      hash.update(chunk as Buffer);
      length += (chunk as Buffer).length;
    }
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ length, sha256: hash.digest("hex") }));
  } else if (url.pathname === "/download") {
    const size = Number(url.searchParams.get("size") ?? BLOCK.length);
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": String(size) });
    for (let offset = 0; offset < size; ) {
      const start = offset % 251;
      const n = Math.min(BLOCK.length - 251, size - offset);
      if (!res.write(BLOCK.subarray(start, start + n))) await once(res, "drain");
      offset += n;
    }
    res.end();
  } else {
    res.writeHead(404).end();
  }
}).listen(port, "127.0.0.1", () => console.log(`Listening on 'http://127.0.0.1:${port}/'`));
