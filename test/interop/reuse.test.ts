// What the front servers do with the connections to the app, seen from the app's side of the
// sockets (/proc/net/tcp): nginx (upstream keepalive + fastcgi_keep_conn), Apache (enablereuse,
// AJP pooling) and HAProxy (keep-conn) reuse them; HAProxy (mpxs-conns, http-reuse always)
// multiplexes several requests on one.
import { Agent, get } from "node:http";
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import type { Backend } from "../../examples/deploy/templates.js";
import { frontServerAvailable, removeFolder, socketsOnPort, startApp, startFront, tempFolder, type App, type Front, type FrontName } from "./harness.js";

function started(frontName: FrontName, backend: Backend, secret?: string, edit?: (config: string) => string) {
  const state: { app?: App; front?: Front; dir?: string } = {};
  beforeAll(async () => {
    state.dir = tempFolder(`reuse-${frontName}-${backend}`);
    state.app = await startApp(backend, secret !== undefined ? { secret } : undefined);
    state.front = await startFront(frontName, state.dir, [{ backend, prefix: "", upstream: { host: "127.0.0.1", port: state.app.port }, secret }], edit !== undefined ? { edit } : {});
  });
  afterAll(async () => {
    await state.front?.stop();
    await state.app?.stop();
    if (state.dir !== undefined) removeFolder(state.dir);
  });
  return state;
}

async function sequential(port: number, n: number): Promise<void> {
  const agent = new Agent({ keepAlive: true });
  try {
    for (let i = 0; i < n; i++) {
      const status = await new Promise<number>((ok, fail) => {
        get({ host: "127.0.0.1", port, path: "/hello", agent }, (res) => {
          res.resume();
          res.on("end", () => ok(res.statusCode!));
        }).on("error", fail);
      });
      expect(status).toBe(200);
    }
  } finally {
    agent.destroy();
  }
}

const REUSE: [FrontName, Backend, string | undefined][] = [
  ["nginx", "fastcgi", undefined],
  ["apache", "fastcgi", undefined],
  ["apache", "ajp", "reuse-secret"],
  ["haproxy", "fastcgi", undefined],
];

for (const [frontName, backend, secret] of REUSE) {
  if (!frontServerAvailable(frontName)) continue;
  describe(`${frontName} + ${backend}: connection reuse`, () => {
    const state = started(frontName, backend, secret);
    it("answers 40 requests in a row on a few kept-alive connections", async () => {
      await sequential(state.front!.port, 40);
      const sockets = socketsOnPort(state.app!.port);
      // Without reuse there would be about 40 (closed ones linger in TIME_WAIT).
      expect(sockets.established + sockets.other).toBeLessThanOrEqual(4);
      expect(sockets.established).toBeGreaterThanOrEqual(1);
    });
  });
}

if (frontServerAvailable("haproxy")) {
  describe("haproxy + fastcgi: multiplexing (mpxs-conns, max-reqs 8)", () => {
    // The template keeps HAProxy's default "http-reuse safe" (docs/deployment.md says why):
    // requests of different clients share a connection only with "always".
    const state = started("haproxy", "fastcgi", undefined, (c) => c.replace(/^(backend app0\n)/m, "$1  http-reuse always\n"));
    it("carries 16 requests in flight at once on a few connections, and aborts them cleanly", async () => {
      const port = state.front!.port;
      const requests: ReturnType<typeof get>[] = [];
      // 16 downloads that never end (/slow) each paused after its first bytes: all are in flight.
      await Promise.all(
        Array.from({ length: 16 }, () =>
          new Promise<void>((ok, fail) => {
            const req = get({ host: "127.0.0.1", port, path: "/slow", agent: false }, (res) => {
              res.once("data", () => {
                res.pause();
                ok();
              });
            });
            req.on("error", (err) => (requests.includes(req) && req.destroyed ? undefined : fail(err)));
            requests.push(req);
          }),
        ),
      );
      const sockets = socketsOnPort(state.app!.port);
      for (const req of requests) req.destroy();
      // One connection per request without multiplexing; 8 requests per connection with it.
      expect(sockets.established).toBeLessThanOrEqual(4);
      expect(sockets.established).toBeGreaterThanOrEqual(1);
      // HAProxy sent ABORT_REQUEST for the 16: the app still answers on the same connections.
      await sequential(port, 5);
    });
  });
}
