// Runs the echo application on the backend named by the first argument:
//   node dist/examples/echo/app.js scgi -p 9001
//   node dist/examples/echo/app.js fastcgi        (the socket on fd 0, as lighttpd's bin-path gives it)
//   node dist/examples/echo/app.js cgi            (one request from the CGI environment)
import { Server } from "valum/vsgi";
import { handler } from "./handler.js";

const [backend = "http", ...rest] = process.argv.slice(2);
await Server.new(backend, { handler }).run([process.argv[0]!, process.argv[1]!, ...rest]);
