// Apache httpd 2.4 in front of the echo application: AJP13 with a secret, FastCGI with
// enablereuse, SCGI, CGI through mod_cgid, and plain HTTP proxying.
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { answersItself, HttpClient } from "./checks.js";
import { removeFolder, startApp, startFront, tempFolder } from "./harness.js";
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

// The secret is checked: Apache configured with another secret than the app's gets 403.
if (frontServerAvailable("apache")) {
  describe("apache + ajp with a wrong secret", () => {
    let stop: (() => Promise<void>) | undefined;
    let client: HttpClient;
    beforeAll(async () => {
      const dir = tempFolder("apache-ajp-secret");
      const app = await startApp("ajp", { secret: "the-app-secret" });
      try {
        const front = await startFront("apache", dir, [{ backend: "ajp", prefix: "", upstream: { host: "127.0.0.1", port: app.port }, secret: "another-secret" }]);
        client = new HttpClient(front.port);
        stop = async () => {
          await front.stop();
          await app.stop();
          removeFolder(dir);
        };
      } catch (err) {
        await app.stop();
        removeFolder(dir);
        throw err;
      }
    });
    afterAll(async () => {
      client?.close();
      await stop?.();
    });
    it("answers 403 and never runs the application", async () => {
      const res = await client.get("/hello");
      expect(res.status).toBe(403);
      expect(res.body.toString()).not.toBe("hello");
    });
  });
}
