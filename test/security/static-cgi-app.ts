// The CGI program of the traversal tests: the static application of static-fixture.ts on the
// cgi backend, serving the root named by VALUM_TEST_STATIC_ROOT (set by the test, as a front
// server's SetEnv would).
import { Server } from "../../vsgi/index.js";
import { staticApp } from "./static-fixture.js";

const root = process.env.VALUM_TEST_STATIC_ROOT;
if (root === undefined) throw new Error("VALUM_TEST_STATIC_ROOT is not set");
await Server.new("cgi", { handler: staticApp(root) }).run(process.argv);
