// lighttpd 1.4 in front of the echo application: SCGI and FastCGI spawned by bin-path (as in
// Valum's example), CGI through mod_cgi, AJP13 (GET only), and plain HTTP proxying.
import { describe, it } from "@jest/globals";
import { answersItself } from "./checks.js";
import { frontServerAvailable, pair } from "./pairs.js";

// PROTOCOLS.md: with server.stream-request-body, lighttpd answers 411 to a request body without
// Content-Length instead of passing it on.
const chunked = answersItself(411, "lighttpd answers 411 Length Required to chunked uploads (stream-request-body)");

if (frontServerAvailable("lighttpd")) {
  pair("lighttpd", "http", { prefixed: false });
} else {
  describe("lighttpd", () => it.skip("lighttpd is not installed", () => undefined));
}
