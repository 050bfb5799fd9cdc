// HAProxy 2.6 in front of the echo application: FastCGI with keep-conn, mpxs-conns (several
// requests multiplexed on one connection), get-values, and plain HTTP proxying.
import { describe, it } from "@jest/globals";
import { frontServerAvailable, pair } from "./pairs.js";

if (frontServerAvailable("haproxy")) {
  pair("haproxy", "fastcgi");
  pair("haproxy", "http", { prefixed: false });
} else {
  describe("haproxy", () => it.skip("HAProxy is not installed", () => undefined));
}
