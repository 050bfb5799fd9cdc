// The `vsgi` command as lighttpd's bin-path (docs/loader.md): lighttpd spawns
// `node dist/bin/vsgi.js --server scgi --directory ... handler.js:handler` with the listening
// socket on fd 0, and the module's named export answers through it.
import { join } from "node:path";
import { describe, it, expect } from "@jest/globals";
import { HttpClient } from "./checks.js";
import { DIST, frontServerAvailable, removeFolder, startFront, tempFolder } from "./harness.js";

const VSGI = join(DIST, "bin/vsgi.js");

if (frontServerAvailable("lighttpd")) {
  describe("lighttpd + the vsgi command as bin-path", () => {
    it("serves a module's named export on scgi, on the socket lighttpd hands over", async () => {
      const dir = tempFolder("lighttpd-vsgi");
      try {
        const command = [process.execPath, VSGI, "--server", "scgi", "--directory", join(DIST, "examples/echo"), "handler.js:handler"].join(" ");
        const front = await startFront("lighttpd", dir, [{ backend: "scgi", prefix: "/app", spawn: { command, socket: join(dir, "scgi.sock") } }]);
        const client = new HttpClient(front.port);
        try {
          const hello = await client.get("/app/hello");
          expect(hello.status).toBe(200);
          expect(hello.body.toString()).toBe("hello");
          const root = await client.get("/app/?a=1");
          expect(JSON.parse(root.body.toString())).toEqual({ root: true, scriptName: "/app", query: { a: "1" } });
          // vsgi ran the scgi backend with no listen flag: it took fd 0, as lighttpd expects
          expect(front.log()).toContain("Listening on 'scgi+fd://0/'");
        } finally {
          client.close();
          await front.stop();
        }
      } finally {
        removeFolder(dir);
      }
    });

    it("leaves the one line naming a module's mistake in lighttpd's log", async () => {
      const dir = tempFolder("lighttpd-vsgi");
      try {
        const command = [process.execPath, VSGI, "--server", "scgi", "--directory", join(DIST, "examples/echo"), "handler.js:nope"].join(" ");
        const front = await startFront("lighttpd", dir, [{ backend: "scgi", prefix: "", spawn: { command, socket: join(dir, "scgi.sock") } }]);
        const client = new HttpClient(front.port);
        try {
          const res = await client.get("/hello");
          expect(res.status).toBeGreaterThanOrEqual(500);
          expect(front.log()).toMatch(/^vsgi: handler\.js has no export "nope" \(it exports [^\n]*\)$/m);
        } finally {
          client.close();
          await front.stop();
        }
      } finally {
        removeFolder(dir);
      }
    });
  });
} else {
  describe("lighttpd + the vsgi command", () => it.skip("lighttpd is not installed", () => undefined));
}
