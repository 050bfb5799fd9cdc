// HAProxy 2.6 in front of the echo application: FastCGI with keep-conn, mpxs-conns (several
// requests multiplexed on one connection), get-values, and plain HTTP proxying.
import { describe, it, expect } from "@jest/globals";
import { chunkedUpload } from "./checks.js";
import { frontServerAvailable, pair } from "./pairs.js";

// HAProxy 2.6's FastCGI mux must know CONTENT_LENGTH: a chunked body is answered 400 unless
// `option http-buffer-request` (set by the template) buffers it whole, which works only for bodies
// that fit HAProxy's buffer (tune.bufsize, 16 KiB by default). PROTOCOLS.md, and checked here.
const chunked = {
  reason: "HAProxy's FastCGI mux takes chunked bodies only when they fit its buffer (http-buffer-request, tune.bufsize); larger ones get 400",
  async instead(ctx: Parameters<typeof chunkedUpload>[0]) {
    const small = await chunkedUpload(ctx, 8 * 1024);
    expect(small.status).toBe(200);
    expect(JSON.parse(small.body.toString()).length).toBe(8 * 1024);
    // HAProxy answers 400 and closes: the client may see the 400 or a write error (EPIPE).
    const large = await chunkedUpload(ctx, 64 * 1024).then(
      (res) => String(res.status),
      (err: NodeJS.ErrnoException) => err.code ?? String(err),
    );
    expect(["400", "EPIPE", "ECONNRESET"]).toContain(large);
  },
};

if (frontServerAvailable("haproxy")) {
  pair("haproxy", "fastcgi", { exceptions: { "chunked-upload": chunked } });
  pair("haproxy", "http", { prefixed: false });
} else {
  describe("haproxy", () => it.skip("HAProxy is not installed", () => undefined));
}
