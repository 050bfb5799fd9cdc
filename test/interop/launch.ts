// Runs the echo application on a backend with options given as JSON, for the interop suite
// (backends that need options the echo app's command line does not take: the AJP secret, the
// scriptName of a prefix the front server does not send):
//   node dist/test/interop/launch.js ajp '{"secret":"XYZ"}' -p 8009
import { Server } from "../../vsgi/index.js";
import { handler } from "../../examples/echo/handler.js";

const [backend = "http", json = "{}", ...rest] = process.argv.slice(2);
const options = JSON.parse(json) as Record<string, unknown>;
await Server.new(backend, { ...options, handler }).run([process.argv[0]!, process.argv[1]!, ...rest]);
