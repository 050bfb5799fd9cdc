// The static files example of docs/middlewares/serve-from-path.md:
//   npm run build && node dist/examples/static/app.js        (http on 127.0.0.1:3003)
//   curl -i http://127.0.0.1:3003/static/hello.txt
import { fileURLToPath } from "node:url";
import { Router, ClientError, serveFromPath } from "valum";
import { Server } from "valum/vsgi";

// the public/ folder beside this example's source (the compiled file runs from dist/examples/static/)
const root = fileURLToPath(new URL("../../../examples/static/public/", import.meta.url));

const app = new Router();

// a guard in front: no spelling of /static/private/... reaches the files below it
app.get("/static/private/*", () => {
  throw ClientError.forbidden();
});

app.get("/static/<path:path>", serveFromPath(root, { maxAge: 3600 }));

await Server.new(process.env.VSGI_BACKEND ?? "http", { handler: app }).run(process.argv);
