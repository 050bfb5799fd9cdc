// The Router's hello world on the http backend: what the speed target is about.
import { Server } from "valum/vsgi";
import { handler } from "./router-app.js";

const port = process.argv[2] ?? "3003";
await Server.new("http", { handler }).run([process.argv[0]!, process.argv[1]!, "--port", port]);
