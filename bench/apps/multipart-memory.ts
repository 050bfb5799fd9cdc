// The application of the memory benchmark's multipart row: POST /upload takes a
// multipart/form-data body through the `multipart` middleware and answers the length and SHA-256
// of its file parts' bytes, as the echo app's /upload does for a raw body.
//   node dist/bench/apps/multipart-memory.js http --port 3004
import { createHash } from "node:crypto";
import { Router, multipart } from "valum";
import { Server } from "valum/vsgi";

const app = new Router();
app.post(
  "/upload",
  multipart(
    async (req, res, next, ctx, parts) => {
      const hash = createHash("sha256");
      let length = 0;
      for await (const part of parts) {
        if (part.filename === null) continue;
        for await (const chunk of part) {
          hash.update(chunk as Buffer);
          length += (chunk as Buffer).length;
        }
      }
      res.headers.set("Content-Type", "application/json");
      return res.expandUtf8(JSON.stringify({ length, sha256: hash.digest("hex") }));
    },
    { limits: { fileSize: 4 * 1024 * 1024 * 1024 } },
  ),
);

const [backend = "http", ...rest] = process.argv.slice(2);
await Server.new(backend, { handler: app }).run([process.argv[0]!, process.argv[1]!, ...rest]);
