// nginx in front of the echo application: SCGI, FastCGI with upstream keepalive and
// fastcgi_keep_conn (connections reused, always requestId 1), and plain HTTP proxying.
import { describe, it } from "@jest/globals";
import { frontServerAvailable, pair } from "./pairs.js";

if (frontServerAvailable("nginx")) {
  pair("nginx", "scgi");
  pair("nginx", "fastcgi");
  pair("nginx", "http", { prefixed: false });
} else {
  describe("nginx", () => it.skip("nginx is not installed", () => undefined));
}
