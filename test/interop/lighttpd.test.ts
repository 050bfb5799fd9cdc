// lighttpd 1.4 in front of the echo application: SCGI and FastCGI spawned by bin-path (as in
// Valum's example), CGI through mod_cgi, AJP13, and plain HTTP proxying.
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, expect } from "@jest/globals";
import { answersItself, checkRequest, HttpClient, type Exception } from "./checks.js";
import { appCommand, removeFolder, startFront, tempFolder } from "./harness.js";
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

// Where a bin-path app's output goes (docs/deployment.md, "Where the app's output goes"):
// lighttpd puts /dev/null on its own stdout at start-up, and the app inherits it; the app's
// stderr is server.breakagelog when set, else lighttpd's own stderr, never server.errorlog.
if (frontServerAvailable("lighttpd")) {
  describe("lighttpd bin-path: the app's standard output and standard error", () => {
    async function outputs(breakage: boolean): Promise<{ front: string; errorLog: string; breakageLog: string }> {
      const dir = tempFolder("lighttpd-output");
      try {
        const wrapper = join(dir, "app.sh");
        const command = appCommand("fastcgi").map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
        writeFileSync(wrapper, `#!/bin/sh\necho "marker written to stdout"\necho "marker written to stderr" >&2\nexec ${command}\n`);
        chmodSync(wrapper, 0o755);
        const files = { errorLog: join(dir, "error.log"), breakageLog: join(dir, "breakage.log") };
        const front = await startFront("lighttpd", dir, [{ backend: "fastcgi", prefix: "", spawn: { command: wrapper, socket: join(dir, "fastcgi.sock") } }], {
          errorLog: files.errorLog,
          ...(breakage ? { breakageLog: files.breakageLog } : {}),
        });
        const client = new HttpClient(front.port);
        try {
          expect((await client.get("/hello")).body.toString()).toBe("hello");
        } finally {
          client.close();
          await front.stop();
        }
        const read = (file: string): string => (existsSync(file) ? readFileSync(file, "utf8") : "");
        return { front: front.proc.log, errorLog: read(files.errorLog), breakageLog: read(files.breakageLog) };
      } finally {
        removeFolder(dir);
      }
    }

    it("sends stderr to server.breakagelog, and stdout nowhere", async () => {
      const out = await outputs(true);
      expect(out.breakageLog).toContain("marker written to stderr");
      expect(out.errorLog).toContain("server started"); // lighttpd's own lines
      expect(out.errorLog + out.front).not.toContain("marker written to stderr");
      expect(out.errorLog + out.front + out.breakageLog).not.toContain("marker written to stdout");
    });

    it("without server.breakagelog, sends stderr to lighttpd's own stderr (-D), not to server.errorlog", async () => {
      const out = await outputs(false);
      expect(out.front).toContain("marker written to stderr");
      expect(out.errorLog).toContain("server started");
      expect(out.errorLog).not.toContain("marker written to stderr");
      expect(out.errorLog + out.front).not.toContain("marker written to stdout");
    });
  });
}
