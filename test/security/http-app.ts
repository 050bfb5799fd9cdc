// The application of app.ts on the http backend, as a program: the smuggling test starts it with
// NODE_OPTIONS=--insecure-http-parser to check the backend's parser stays strict.
import { Server } from "../../vsgi/index.js";
import { securityApp } from "./app.js";

await Server.new("http", { handler: securityApp() }).run(process.argv);
