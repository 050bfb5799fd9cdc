// Where a socket backend listens, both ways: a `ListenAddress` (a port, a UNIX socket path, an
// inherited descriptor, a handle) to a listening `net.Server`, and a listener back to the URI
// it is known by (`uris`, the "Listening on" line). The kinds of address are told apart here
// only, so that socket-server.ts keeps what is shared once a server listens: the listeners,
// admission, connection tracking and the graceful stop.
import type { Server as NetServer, AddressInfo } from "node:net";
import type { ListenAddress } from "./server.js";
import { VsgiError, ERR_INVALID_OPTION } from "./errors.js";
import { socketPlace } from "./socket-paths.js";

// A descriptor that is no listening socket (a backend started by hand, without flags, has a
// terminal on fd 0) fails with a bare EINVAL or ENOTSOCK: say what to do instead.
function notAListeningSocket(fd: number, err: Error): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== "EINVAL" && code !== "ENOTSOCK" && code !== "EBADF" && code !== "ENOTSUP") return err;
  return new VsgiError(
    ERR_INVALID_OPTION,
    `fd ${fd} is no listening socket (${code}): give a port (-p) or a UNIX socket path (-s), ` +
      "or let a front server hand one over on fd 0 (lighttpd bin-path, spawn-fcgi) or systemd with LISTEN_FDS",
    { cause: err },
  );
}

/**
 * Makes `server` listen on `address` (any kind but a `net.Server` that listens already, whose
 * connections the caller takes over instead). Once it listens, and before the promise resolves,
 * `listening` gets the UNIX socket path that was bound and moved into place (socket-paths.ts),
 * for the caller to remove on stop, or `null`. Later errors of the listener are logged under
 * `scheme`.
 *
 * @example await listenAt(createServer(onConnection), { port: 0 }, "scgi", (path) => {});
 */
export function listenAt(server: NetServer, address: ListenAddress, scheme: string, listening: (placed: string | null) => void): Promise<NetServer> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject("fd" in address ? notAListeningSocket(address.fd, err) : err);
    server.once("error", onError);
    let renamed: (() => void) | null = null;
    let placed: string | null = null;
    const done = (): void => {
      server.off("error", onError);
      try {
        renamed?.();
      } catch (err) {
        server.close();
        reject(err as Error);
        return;
      }
      server.on("error", (err) => console.error(`${scheme} listener error:`, err));
      listening(placed);
      resolve(server);
    };
    if ("handle" in address) server.listen(address.handle, done);
    else if ("fd" in address) server.listen({ fd: address.fd }, done);
    else if ("path" in address) {
      const path = address.path;
      // An abstract socket (Linux: a leading NUL) has no file to move or remove.
      if (path.startsWith("\0")) {
        server.listen({ path }, done);
        return;
      }
      // Bound under a temporary name, moved into place; the caller removes it on stop.
      let place;
      try {
        place = socketPlace(path);
      } catch (err) {
        reject(err as Error);
        return;
      }
      const { temporary } = place;
      renamed = () => {
        place.place();
        placed = path;
      };
      server.listen({ path: temporary }, done);
    } else {
      if (!Number.isInteger(address.port) || address.port < 0 || address.port > 65535) {
        reject(new VsgiError(ERR_INVALID_OPTION, `invalid port ${address.port}: a port is an integer from 0 to 65535`));
        return;
      }
      server.listen({ port: address.port, host: address.host ?? "127.0.0.1", ipv6Only: address.ipv6Only ?? false }, done);
    }
  });
}

/**
 * The URI of a listener: `scheme://host:port/` for TCP, `scheme+unix://path/` for a UNIX socket,
 * `scheme+fd://n/` for an inherited descriptor (with `?name=` when systemd named it). `bound` is
 * the server that owns the listening socket; `null` when it has no address (closed).
 *
 * @example listenerUri("scgi", { port: 0 }, server); // URL "scgi://127.0.0.1:41234/"
 */
export function listenerUri(scheme: string, address: ListenAddress, bound: NetServer): URL | null {
  if ("fd" in address) {
    // A systemd socket's name (FileDescriptorName=) shows which one it is.
    const name = address.name !== undefined ? `?${new URLSearchParams({ name: address.name })}` : "";
    return new URL(`${scheme}+fd://${address.fd}/${name}`);
  }
  if ("path" in address) return new URL(`${scheme}+unix://${address.path}/`);
  const where = bound.address();
  if (where === null) return null;
  if (typeof where === "string") return new URL(`${scheme}+unix://${where}/`);
  const info = where as AddressInfo;
  const host = info.family === "IPv6" || info.address.includes(":") ? `[${info.address}]` : info.address;
  return new URL(`${scheme}://${host}:${info.port}/`);
}
