// The `vsgi` command as lighttpd's bin-path (docs/loader.md): lighttpd spawns
// `node dist/bin/vsgi.js --server scgi --directory ... handler.js:handler` with the listening
// socket on fd 0, and the module's named export answers through it; with --live-reload, a
// change to the module reloads it on that socket without a failed request.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, expect } from "@jest/globals";
import { HttpClient } from "./checks.js";
import { DIST, frontServerAvailable, removeFolder, startFront, tempFolder } from "./harness.js";
import { more } from "../helpers/steady-load.js";

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

    it("with --live-reload, reloads a changed module on the same socket without a failed request", async () => {
      const dir = tempFolder("lighttpd-vsgi");
      try {
        // The module in a folder of its own: the one watched, apart from lighttpd's files.
        const folder = join(dir, "app");
        mkdirSync(folder, { mode: 0o755 });
        const app = join(folder, "app.mjs");
        const version = (v: string): string => `export default (req, res) => res.expandUtf8("${v}");\n`;
        writeFileSync(app, version("v1"));
        const command = [process.execPath, VSGI, "--live-reload", "--server", "scgi", app].join(" ");
        const front = await startFront("lighttpd", dir, [{ backend: "scgi", prefix: "/app", spawn: { command, socket: join(dir, "scgi.sock") } }]);
        const client = new HttpClient(front.port);
        const answers: string[] = [];
        const failures: string[] = [];
        let going = true;
        const load = (async () => {
          while (going) {
            try {
              const res = await client.get("/app/");
              (res.status === 200 ? answers : failures).push(`${res.status} ${res.body.toString()}`);
            } catch (err) {
              failures.push((err as Error).message);
            }
          }
        })();
        try {
          await more(answers, 5);
          writeFileSync(app, version("v2"));
          while (!/vsgi: reloaded: /.test(front.log())) await new Promise((r) => setTimeout(r, 20));
          // The request on its way when the reload is logged may be older.
          const mark = answers.length + 1;
          await more(answers, 6);
          expect(answers.slice(mark)).toEqual(Array(answers.length - mark).fill("200 v2"));
          going = false;
          await load;
          expect(failures).toEqual([]);
          expect(answers[0]).toBe("200 v1");
          // One start on lighttpd's socket, then a reload on it, no restart.
          expect(front.log().match(/Listening on 'scgi\+fd:\/\/0\/'/g)).toHaveLength(1);
          expect(front.log()).toContain("vsgi: app.mjs changed, reloading");
        } finally {
          going = false;
          await load;
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
