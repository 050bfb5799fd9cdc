// The Router's hello world on the http backend: what the speed target is about. Arguments after
// the port go to run() as they are (the access log row adds `--access-log FILE`).
import { Server } from "valum/vsgi";
import { handler } from "./router-app.js";

const port = process.argv[2] ?? "3003";
await Server.new("http", { handler }).run([process.argv[0]!, process.argv[1]!, "--port", port, ...process.argv.slice(3)]);
