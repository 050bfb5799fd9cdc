// What every front server's template takes (the types), and the little they share: quoting,
// comment lines, a mount's required parts.

/** A backend the front server forwards to. */
export type Backend = "scgi" | "fastcgi" | "cgi" | "ajp" | "http";

/** One application mounted by the front server. */
export interface Mount {
  backend: Backend;
  /** `""` for the root, or a prefix such as `/app` (no trailing slash). */
  prefix: string;
  /** TCP address of a backend that listens itself (scgi, fastcgi, ajp, http). */
  upstream?: { host: string; port: number };
  /**
   * nginx and HAProxy, instead of `upstream`: several hosts that serve the same application;
   * requests are spread over them, and one that refuses connections is skipped.
   */
  hosts?: { host: string; port: number }[];
  /** HAProxy over HTTP with `hosts`: the path each host answers 200 to while it is healthy. */
  healthCheck?: string;
  /**
   * lighttpd only: the command line lighttpd runs (`bin-path`) with the listening socket on
   * fd 0, and the UNIX socket path it creates for it (scgi, fastcgi).
   */
  spawn?: { command: string; socket: string; maxProcs?: number };
  /** cgi: the executable script the front server runs for each request. */
  script?: string;
  /** ajp: the shared secret (Apache `secret=`; the backend's `secret` option). */
  secret?: string;
}

/** Where a front server listens and keeps its files. */
export interface FrontConfig {
  host: string;
  port: number;
  /** A folder for the pid file, temporary files and sockets. */
  runDir: string;
  /** Where errors go: a file, or `stderr`. */
  errorLog: string;
  /**
   * lighttpd only: `server.breakagelog`, the file that gets the standard error of the apps it
   * spawns (bin-path) and of CGI scripts. Unset, they write to lighttpd's own standard error.
   */
  breakageLog?: string;
  mounts: Mount[];
  /** nginx/Apache: the user the workers run as (`root` in tests started as root). */
  user?: string;
  /** Extra comment lines at the top. */
  header?: string[];
}

/**
 * `lines` as `#` comment lines, for a configuration's top.
 *
 * @example comment(["the echo app"]); // "# the echo app\n"
 */
export function comment(lines: string[] | undefined): string {
  return (lines ?? []).map((l) => `# ${l}`.trimEnd() + "\n").join("");
}

/**
 * A double-quoted string, as every front server here reads one.
 *
 * @example q("/app"); // '"/app"'
 */
export function q(s: string): string {
  return JSON.stringify(s);
}

/**
 * `value`, or an error naming the mount and what it lacks.
 *
 * @example const up = need(m.upstream, "upstream", m);
 */
export function need<T>(value: T | undefined, what: string, mount: Mount): T {
  if (value === undefined) throw new Error(`mount ${mount.backend} at ${q(mount.prefix || "/")} needs ${what}`);
  return value;
}

/**
 * The hosts a balancing front server spreads the mount's requests over: `hosts`, or the one
 * upstream.
 *
 * @example hostsOf({ backend: "http", prefix: "", upstream: { host: "127.0.0.1", port: 3003 } }); // [{ host: "127.0.0.1", port: 3003 }]
 */
export function hostsOf(m: Mount): { host: string; port: number }[] {
  return m.hosts !== undefined && m.hosts.length > 0 ? m.hosts : [need(m.upstream, "upstream or hosts", m)];
}
