// The Router's hello world (router-app.ts) on any backend, for the gateway benchmark:
//   node dist/bench/apps/gateway-valum.js scgi 9001
import { Server } from "valum/vsgi";
import { handler } from "./router-app.js";

const backend = process.argv[2] ?? "http";
const port = process.argv[3] ?? "3003";
await Server.new(backend, { handler }).run([process.argv[0]!, process.argv[1]!, "--port", port]);
