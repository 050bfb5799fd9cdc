// Apache httpd 2.4 in front of the echo application: AJP13 with a secret, FastCGI with
// enablereuse, SCGI, CGI through mod_cgid, and plain HTTP proxying.
import { describe, it } from "@jest/globals";
import { answersItself } from "./checks.js";
import { frontServerAvailable, pair } from "./pairs.js";

// PROTOCOLS.md: Apache's mod_proxy_scgi answers 411 to a request body without Content-Length.
// (mod_cgid, used here with the event MPM, streams it to the script without CONTENT_LENGTH.)
const chunked = answersItself(411, "Apache mod_proxy_scgi answers 411 Length Required to chunked uploads");

if (frontServerAvailable("apache")) {
  // AJP carries no mount prefix: under /app the app is told its scriptName.
  pair("apache", "ajp", { secret: "s3cr3t-interop", prefixOptions: { appOptions: { scriptName: "/app" } } });
  pair("apache", "fastcgi");
  // mod_proxy_scgi sends SCRIPT_NAME = the whole path: under /app the app is told its scriptName.
  pair("apache", "scgi", { exceptions: { "chunked-upload": chunked }, prefixOptions: { appOptions: { scriptName: "/app" } } });
  pair("apache", "cgi");
  pair("apache", "http", { prefixed: false });
} else {
  describe("apache", () => it.skip("Apache httpd is not installed", () => undefined));
}
