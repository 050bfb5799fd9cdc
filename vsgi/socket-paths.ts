// UNIX socket paths that outlive the process that bound them. node removes a socket's path when
// the server that bound it closes, even while other processes still accept on the socket (a
// reload hands it to workers): so the socket is bound under a temporary name and moved into
// place, and whoever stops last removes the path.
import { lstatSync, renameSync, unlinkSync } from "node:fs";

/**
 * Where to bind a socket meant for `path`, and what to call once bound (it moves the socket into
 * place). A path that exists already is refused as node refuses it: `EADDRINUSE`.
 *
 * @example const { temporary, place } = socketPlace("/run/app.sock"); server.listen(temporary, place);
 */
export function socketPlace(path: string): { temporary: string; place: () => void } {
  if (pathExists(path)) {
    throw Object.assign(new Error(`listen EADDRINUSE: address already in use ${path}`), { code: "EADDRINUSE", syscall: "listen", address: path });
  }
  const temporary = `${path}~${process.pid}`;
  return { temporary, place: () => renameSync(temporary, path) };
}

function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes a UNIX socket's path, if a socket is still there.
 *
 * @example removeSocket("/run/app.sock");
 */
export function removeSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // gone already
  }
}
