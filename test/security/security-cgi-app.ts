// The CGI program of the security tests: the application of app.ts on the cgi backend.
import { Server } from "../../vsgi/index.js";
import { securityApp } from "./app.js";

await Server.new("cgi", { handler: securityApp() }).run(process.argv);
