import { createServer } from "node:net";

/**
 * A free TCP port on the loopback (bound to port 0, then released), for programs that must be
 * told a port in advance: front servers, spawned backends.
 *
 * @example const port = await freePort();
 */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}
