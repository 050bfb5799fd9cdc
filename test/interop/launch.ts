// Runs the echo application on a backend with options given as JSON, for the interop suite
// (backends that need options the echo app's command line does not take: the AJP secret, the
// scriptName of a prefix the front server does not send). The option `"app": "load"` runs the
// load test's handler (load-app.ts) instead of the echo app's:
//   node dist/test/interop/launch.js ajp '{"secret":"XYZ"}' -p 8009
import { Server } from "../../vsgi/index.js";
import { handler as echo } from "../../examples/echo/handler.js";
import { loadHandler } from "./load-app.js";

const [backend = "http", json = "{}", ...rest] = process.argv.slice(2);
const { app, ...options } = JSON.parse(json) as Record<string, unknown>;
const handler = app === "load" ? loadHandler : echo;
await Server.new(backend, { ...options, handler }).run([process.argv[0]!, process.argv[1]!, ...rest]);
