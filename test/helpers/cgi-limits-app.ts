// A CGI program for the limit and timeout tests: the application of limits-app.ts on the cgi
// backend, with the server options of the LIMITS_OPTIONS variable (JSON); what the handlers
// see goes to stderr, one line each.
import { Server } from "../../vsgi/index.js";
import { limitsApp } from "./limits-app.js";

const options = JSON.parse(process.env.LIMITS_OPTIONS ?? "{}") as Record<string, number>;
await Server.new("cgi", { handler: limitsApp((line) => process.stderr.write(line + "\n")), ...options }).run(process.argv);
