// lighttpd 1.4 in front of the echo application: SCGI and FastCGI spawned by bin-path (as in
// Valum's example), CGI through mod_cgi, AJP13, and plain HTTP proxying.
import { describe, it, expect } from "@jest/globals";
import { answersItself, checkRequest, type Exception } from "./checks.js";
import { frontServerAvailable, pair } from "./pairs.js";

// PROTOCOLS.md: with server.stream-request-body, lighttpd answers 411 to a request body without
// Content-Length on its gateway modules instead of passing it on.
const chunked = answersItself(411, "lighttpd answers 411 Length Required to chunked uploads (stream-request-body)");

// lighttpd's mod_ajp13 (PROTOCOLS.md):
// - sends request body packets without the inner chunk length, against the AJP13 spec, and no
//   first body packet when it streams: the ajp backend copes with both (docs/servers/ajp.md), so
//   the full 10 MiB upload is checked;
// - answers 400 itself to methods it has no AJP code for (PATCH): checked with PUT;
// - sends the path decoded: %2F reaches the app as "/".
const ajpExceptions: Record<string, Exception> = {
  "encoded-path": {
    reason: "lighttpd mod_ajp13 sends the path decoded: %2F reaches the app as /",
    async instead({ client, prefix }) {
      const res = await client.get(`${prefix}/echo-path/caf%C3%A9/a%2Fb/x%20y`);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body.toString())).toEqual({ path: "/echo-path/caf%C3%A9/a/b/x%20y", scriptName: prefix });
    },
  },
  "chunked-upload": chunked,
  request: {
    reason: "lighttpd mod_ajp13 answers 400 itself to PATCH (no AJP method code): checked with PUT",
    async instead(ctx) {
      expect((await ctx.client.request({ method: "PATCH", target: `${ctx.prefix}/request`, body: Buffer.from("{}") })).status).toBe(400);
      await checkRequest(ctx, "PUT");
    },
  },
};

if (frontServerAvailable("lighttpd")) {
  pair("lighttpd", "scgi", { spawn: true, exceptions: { "chunked-upload": chunked } });
  // The deployment of the SPEC: spawned by lighttpd, in forked multi-worker mode (4 processes
  // accept on the socket lighttpd hands over).
  pair("lighttpd", "scgi", { spawn: true, appArgs: ["--forks", "3"], prefixed: false, exceptions: { "chunked-upload": chunked } });
  // lighttpd connecting to apps that listen on their own.
  pair("lighttpd", "scgi", { prefixed: false, exceptions: { "chunked-upload": chunked } });
  pair("lighttpd", "fastcgi", { prefixed: false, exceptions: { "chunked-upload": chunked } });
  pair("lighttpd", "fastcgi", { spawn: true, exceptions: { "chunked-upload": chunked } });
  pair("lighttpd", "cgi", { exceptions: { "chunked-upload": chunked } });
  // lighttpd sends AJP no mount prefix: under /app the app is told its scriptName.
  pair("lighttpd", "ajp", { exceptions: ajpExceptions, prefixOptions: { appOptions: { scriptName: "/app" } } });
  pair("lighttpd", "http", { prefixed: false });
} else {
  describe("lighttpd", () => it.skip("lighttpd is not installed", () => undefined));
}
