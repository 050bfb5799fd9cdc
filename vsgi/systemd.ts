// Socket activation (sd_listen_fds(3), systemd.socket(5)): the listening sockets systemd passes
// a service from fd 3, and where a backend listens when given no address.
import { VsgiError, ERR_INVALID_OPTION } from "./errors.js";
import type { ListenAddress } from "./server.js";

/** A listening socket inherited as a file descriptor, with the name systemd gave it if any. */
export type FdAddress = { fd: number; name?: string };

/** The environment variables of socket activation (sd_listen_fds(3)). */
const LISTEN_VARIABLES = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] as const;

/**
 * The sockets systemd passes with socket activation, as sd_listen_fds(3) reads them: `LISTEN_FDS`
 * sockets from fd 3, only when `LISTEN_PID` is this process (a child that inherited the variables
 * takes nothing), each named by `LISTEN_FDNAMES` (colon-separated, as `FileDescriptorName=` or
 * `systemd-socket-activate --fdname` set them). Reads `env` only: see `takeSystemdSockets`.
 *
 * @example systemdSockets({ LISTEN_PID: String(process.pid), LISTEN_FDS: "2", LISTEN_FDNAMES: "web:admin" });
 * // [{ fd: 3, name: "web" }, { fd: 4, name: "admin" }]
 */
export function systemdSockets(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): FdAddress[] {
  if (env.LISTEN_PID === undefined || env.LISTEN_FDS === undefined || env.LISTEN_FDS === "") return [];
  if (Number(env.LISTEN_PID) !== pid) return [];
  const count = /^\d+$/.test(env.LISTEN_FDS) ? Number(env.LISTEN_FDS) : NaN;
  if (!Number.isSafeInteger(count)) {
    throw new VsgiError(ERR_INVALID_OPTION, `LISTEN_FDS must be a number of sockets, got ${JSON.stringify(env.LISTEN_FDS)}`);
  }
  const names = env.LISTEN_FDNAMES === undefined ? null : env.LISTEN_FDNAMES.split(":");
  if (names !== null && names.length !== count) {
    throw new VsgiError(ERR_INVALID_OPTION, `LISTEN_FDNAMES names ${names.length} sockets (${JSON.stringify(env.LISTEN_FDNAMES)}) but LISTEN_FDS is ${count}`);
  }
  return Array.from({ length: count }, (_, i) => (names !== null && names[i] !== "" ? { fd: 3 + i, name: names[i]! } : { fd: 3 + i }));
}

// What takeSystemdSockets found, kept for a second server of the process (or a second listen()).
let taken: FdAddress[] | null = null;

/**
 * This process's systemd sockets (`systemdSockets`), read once: the first call also unsets
 * `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES`, as sd_listen_fds(3) does when asked to, so
 * that what the application spawns (a tool, a CGI script) does not take them; later calls
 * return the same sockets. Workers (`--forks`) get theirs from the main process, never from the
 * environment.
 *
 * @example const sockets = takeSystemdSockets(); // [] when not socket-activated
 */
export function takeSystemdSockets(): FdAddress[] {
  if (taken !== null) return taken;
  const found = systemdSockets(process.env);
  if (found.length === 0) return found;
  for (const name of LISTEN_VARIABLES) delete process.env[name];
  return (taken = found);
}

/**
 * The sockets a backend spawned by a front server accepts on: systemd's (`takeSystemdSockets`)
 * when there are any, else fd 0, where lighttpd's `bin-path` and spawn-fcgi put the listening
 * socket.
 */
export function inheritedSockets(): ListenAddress[] {
  const sockets = takeSystemdSockets();
  return sockets.length > 0 ? sockets : [{ fd: 0 }];
}

/**
 * Where a backend listens by default: systemd's sockets when it passed any to this process, else
 * `fallback` (http and ajp: a loopback port).
 *
 * @example protected defaultAddresses() { return systemdOr({ port: 3003, host: "127.0.0.1" }); }
 */
export function systemdOr(fallback: ListenAddress): ListenAddress[] {
  const sockets = takeSystemdSockets();
  return sockets.length > 0 ? sockets : [fallback];
}
