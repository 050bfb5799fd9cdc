// serveFromPath on the http backend, serving the folder given as the second argument.
import { Router, serveFromPath } from "valum";
import { Server } from "valum/vsgi";

const port = process.argv[2] ?? "3003";
const root = process.argv[3]!;
const handler = new Router();
handler.get("/static/<path:path>", serveFromPath(root));
await Server.new("http", { handler }).run([process.argv[0]!, process.argv[1]!, "--port", port]);
