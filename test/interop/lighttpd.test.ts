// lighttpd 1.4 in front of the echo application: SCGI and FastCGI spawned by bin-path (as in
// Valum's example), CGI through mod_cgi, AJP13 (GET only), and plain HTTP proxying.
import { describe, it } from "@jest/globals";
import { answersItself, type Exception } from "./checks.js";
import { frontServerAvailable, pair } from "./pairs.js";

// PROTOCOLS.md: with server.stream-request-body, lighttpd answers 411 to a request body without
// Content-Length on its gateway modules instead of passing it on.
const chunked = answersItself(411, "lighttpd answers 411 Length Required to chunked uploads (stream-request-body)");

// PROTOCOLS.md: lighttpd's mod_ajp13 sends request body packets without the inner chunk length,
// against the AJP13 spec: request bodies through lighttpd AJP are not supported.
const ajpNoBody = "lighttpd mod_ajp13 frames request bodies against the AJP13 spec: GET/HEAD only";
const ajpExceptions: Record<string, Exception> = {
  upload: { reason: ajpNoBody },
  "chunked-upload": chunked,
  request: { reason: ajpNoBody + " (the check sends a PATCH with a body)" },
};

if (frontServerAvailable("lighttpd")) {
  pair("lighttpd", "scgi", { spawn: true, exceptions: { "chunked-upload": chunked } });
  pair("lighttpd", "fastcgi", { spawn: true, exceptions: { "chunked-upload": chunked } });
  pair("lighttpd", "cgi", { exceptions: { "chunked-upload": chunked } });
  // lighttpd sends AJP no mount prefix: under /app the app is told its scriptName.
  pair("lighttpd", "ajp", { exceptions: ajpExceptions, prefixOptions: { appOptions: { scriptName: "/app" } } });
  pair("lighttpd", "http", { prefixed: false });
} else {
  describe("lighttpd", () => it.skip("lighttpd is not installed", () => undefined));
}
