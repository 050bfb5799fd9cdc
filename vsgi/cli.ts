import { basename } from "node:path";
import { VsgiError, ERR_INVALID_OPTION } from "./errors.js";
import type { ListenAddress } from "./server.js";
import type { LogFormat } from "./log-format.js";

/** The command line of `run(argv)`, parsed. */
export interface CommandLine {
  help: boolean;
  version: boolean;
  forks: number;
  addresses: ListenAddress[];
  /** `--access-log`: the file, `-` for standard output, `null` when off. */
  accessLog: string | null;
  /** `--log-format`. */
  logFormat: LogFormat;
  /** `--stop-timeout`, in ms: how long a graceful stop waits for requests in flight. */
  stopTimeout?: number;
  /** `--start-timeout`, in ms: how long a new worker has to accept before it is killed; 0: no limit. */
  startTimeout?: number;
}

/** The flags `run(argv)` takes, as `--help` lists them after the usage line. */
export const OPTIONS_HELP = `Options:
      --forks N               serve with N+1 worker processes, this one supervising
      --stop-timeout SECONDS  how long a stop or a reload waits for requests in flight
                              before closing them (default 30)
      --start-timeout SECONDS a new worker that does not accept within it is killed
                              and counts as failed (default 30; 0: no limit)
  -a, --address ADDR          listen on ADDR (with --port; default: the loopback)
  -p, --port PORT             listen on TCP port PORT (repeatable; 0: any free port)
  -A, --any                   listen on every interface instead of the loopback
  -4, --ipv4-only             listen on IPv4 only
  -6, --ipv6-only             listen on IPv6 only
  -s, --socket PATH           listen on the UNIX socket PATH (repeatable)
  -f, --file-descriptor FD    accept on the listening socket FD (repeatable)
      --access-log [FILE]     log one line per request to FILE (none or -: standard output)
      --log-format FORMAT     access log format: clf (Combined Log Format, default) or json
      --help                  show this help and exit
      --version               show the version and exit

Without a listen option, the backend listens on systemd's sockets (LISTEN_FDS) when it passed
any, else where it does by default (http: 127.0.0.1:3003; ajp: 127.0.0.1:8009; scgi and
fastcgi: the socket on fd 0; cgi: one request on stdin).
`;

/**
 * The `--help` text of a program: `Usage: node app.js [OPTION...]` with the script's name from
 * `argv[1]` (as `process.argv`), then the flags.
 *
 * @example process.stdout.write(usage(process.argv));
 */
export function usage(argv: readonly string[]): string {
  const script = argv[1];
  const program = script !== undefined && script.length > 0 ? `node ${basename(script)}` : "node app.js";
  return `Usage: ${program} [OPTION...]\n\n${OPTIONS_HELP}`;
}

function integer(flag: string, text: string | undefined, min: number, max: number): number {
  const n = text === undefined || !/^\d+$/.test(text) ? NaN : Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new VsgiError(ERR_INVALID_OPTION, `option ${flag} takes an integer from ${min} to ${max}, got ${JSON.stringify(text ?? "")}`);
  }
  return n;
}

// Seconds as a decimal (0.5), in ms; up to a day.
function seconds(flag: string, text: string | undefined): number {
  const n = text === undefined || !/^\d+(\.\d+)?$/.test(text) ? NaN : Number(text);
  if (!(n <= 86400)) throw new VsgiError(ERR_INVALID_OPTION, `option ${flag} takes a number of seconds from 0 to 86400, got ${JSON.stringify(text ?? "")}`);
  return Math.round(n * 1000);
}

/**
 * The command line with no flag given: what `parseCommandLine([])` returns.
 *
 * @example const line = defaultCommandLine(); // { forks: 0, addresses: [], ... }
 */
export function defaultCommandLine(): CommandLine {
  return { help: false, version: false, forks: 0, addresses: [], accessLog: null, logFormat: "clf" };
}

/**
 * Parses the flags of `run(argv)` (argv without the node executable and the script). An unknown
 * flag or a bad value is a `VsgiError` naming it.
 *
 * @example parseCommandLine(["--port", "8080", "--forks", "3"]);
 */
export function parseCommandLine(args: readonly string[]): CommandLine {
  const line = defaultCommandLine();
  let logFormat: string | undefined;
  const ports: number[] = [];
  const hosts: string[] = [];
  let any = false;
  let v4 = false;
  let v6 = false;
  for (let i = 0; i < args.length; i++) {
    let arg = args[i]!;
    let inline: string | undefined;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    if (eq !== -1) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const value = (): string | undefined => (inline !== undefined ? inline : args[++i]);
    switch (arg) {
      case "--help":
      case "-h":
        line.help = true;
        break;
      case "--version":
      case "-V":
        line.version = true;
        break;
      case "--forks":
        line.forks = integer("--forks", value(), 0, 1024);
        break;
      case "--stop-timeout":
        line.stopTimeout = seconds(arg, value());
        break;
      case "--start-timeout":
        line.startTimeout = seconds(arg, value());
        break;
      case "-a":
      case "--address": {
        const host = value();
        if (host === undefined || host.length === 0) throw new VsgiError(ERR_INVALID_OPTION, `option ${arg} takes an address`);
        hosts.push(host);
        break;
      }
      case "-p":
      case "--port":
        ports.push(integer(arg, value(), 0, 65535));
        break;
      case "-A":
      case "--any":
        any = true;
        break;
      case "-4":
      case "--ipv4-only":
        v4 = true;
        break;
      case "-6":
      case "--ipv6-only":
        v6 = true;
        break;
      case "-s":
      case "--socket": {
        const path = value();
        if (path === undefined || path.length === 0) throw new VsgiError(ERR_INVALID_OPTION, `option ${arg} takes a socket path`);
        line.addresses.push({ path });
        break;
      }
      case "-f":
      case "--file-descriptor":
        line.addresses.push({ fd: integer(arg, value(), 0, 65535) });
        break;
      case "--access-log": {
        // FILE is optional: a next argument that is another flag is not it ("-" alone is stdout)
        const next = args[i + 1];
        line.accessLog = inline ?? (next !== undefined && (next === "-" || !next.startsWith("-")) ? args[++i]! : "-");
        if (line.accessLog.length === 0) throw new VsgiError(ERR_INVALID_OPTION, "option --access-log takes a file name, or - for standard output");
        break;
      }
      case "--log-format":
        logFormat = value();
        if (logFormat !== "clf" && logFormat !== "text" && logFormat !== "json") throw new VsgiError(ERR_INVALID_OPTION, `option --log-format takes clf or json, got ${JSON.stringify(logFormat ?? "")}`);
        line.logFormat = logFormat === "json" ? "json" : "clf";
        break;
      default:
        throw new VsgiError(ERR_INVALID_OPTION, `unknown option ${JSON.stringify(arg)} (see --help)`);
    }
  }
  if (logFormat !== undefined && line.accessLog === null) throw new VsgiError(ERR_INVALID_OPTION, "option --log-format needs --access-log");
  if (v4 && v6) throw new VsgiError(ERR_INVALID_OPTION, "options --ipv4-only and --ipv6-only exclude each other");
  if ((hosts.length > 0 || any || v4 || v6) && ports.length === 0) ports.push(3003);
  if (hosts.length > 0 && any) throw new VsgiError(ERR_INVALID_OPTION, "options --address and --any exclude each other");
  for (const port of ports) {
    if (hosts.length > 0) {
      for (const host of hosts) line.addresses.push({ port, host });
    } else if (any) {
      line.addresses.push(v4 ? { port, host: "0.0.0.0" } : { port, host: "::", ipv6Only: v6 });
    } else {
      line.addresses.push({ port, host: v6 ? "::1" : "127.0.0.1" });
    }
  }
  return line;
}
