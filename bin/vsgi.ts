#!/usr/bin/env node
// The `vsgi` command: runs an application module on a backend chosen on the command line, so
// one module serves behind any front server without a start-up file of its own:
//   vsgi --server scgi ./app.js -- --forks 3
//   vsgi ./app.js:router -- --port 8080
//   vsgi scgi ./app.js --forks 3            (the shorthand: SERVER MODULE [SERVER-ARGUMENT...])
// Every error is one line on standard error: exit 2 for a bad command line, 1 for a module that
// cannot serve. The line matters behind lighttpd's bin-path or spawn-fcgi, where it is all the
// operator gets in the front server's log.
import { stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { superviseReloading } from "./live-reload.js";
import { Server, OPTIONS_HELP, packageVersion, toHandlerFunction, ERR_INVALID_HANDLER, VsgiError, type HandlerLike } from "../vsgi/index.js";

const HELP = `Usage: vsgi [--server NAME] [--directory DIR] [--live-reload] MODULE[:EXPORT] [-- SERVER-ARGUMENT...]
       vsgi SERVER MODULE[:EXPORT] [SERVER-ARGUMENT...]
       vsgi --help | --version

Runs the application exported by MODULE on a backend. MODULE is resolved against DIR (default the
working directory); EXPORT names the export to serve, else the default export (or, failing it,
the export "app" or "handler"). The application is a Router, an object with handle(req, res), or
a function (req, res) => boolean.

  -s, --server NAME     the backend: http (default), cgi, scgi, fastcgi, ajp, or a module in a
                        folder of VSGI_SERVER_PATH
  -C, --directory DIR   the folder MODULE is resolved against
      --live-reload     reload the application, without a gap, when a file under MODULE's
                        folder changes (node_modules ignored); a broken save leaves the
                        last good code serving
  -h, --help            show this help and exit
      --version         show the version and exit

The arguments after -- go to the backend:

${OPTIONS_HELP}`;

// The built-in backends, to tell `vsgi http` (the shorthand missing its MODULE) from a module.
const BUILT_IN_SERVERS = new Set(["http", "cgi", "scgi", "fastcgi", "ajp"]);
const EXPORT_NAME = /^[A-Za-z_$][\w$]*$/;

/** What the command line asks for. */
interface Invocation {
  server: string;
  directory: string;
  module: string;
  exportName: string | undefined;
  serverArguments: string[];
  liveReload: boolean;
}

/** A mistake on the command line: one line, exit 2. */
class UsageError extends Error {}

/** Parses the command line (without node and the script); `"help"`/`"version"` stop there. */
function parse(argv: readonly string[]): Invocation | "help" | "version" {
  let server: string | undefined;
  let directory = ".";
  let liveReload = false;
  const positionals: string[] = [];
  let i = 0;
  const value = (flag: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    const next = argv[++i];
    if (next === undefined || next === "") throw new UsageError(`${flag} needs a value`);
    return next;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") break;
    if (positionals.length > 0) {
      // After MODULE come only `--` and the backend's arguments; after SERVER MODULE (the
      // shorthand) everything is the backend's.
      if (arg.startsWith("-") || server !== undefined) break;
      positionals.push(arg);
      if (positionals.length === 2) {
        i++;
        break;
      }
      continue;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    switch (flag) {
      case "-h":
      case "--help":
        return "help";
      case "--version":
        return "version";
      case "-s":
      case "--server":
        server = value(flag, inline);
        break;
      case "-C":
      case "--directory":
        directory = value(flag, inline);
        break;
      case "--live-reload":
        if (inline !== undefined) throw new UsageError("--live-reload takes no value");
        liveReload = true;
        break;
      default:
        throw new UsageError(`unknown option ${flag} (see vsgi --help)`);
    }
  }
  if (positionals.length === 0) throw new UsageError("missing MODULE (see vsgi --help)");
  let rest = argv.slice(i);
  let target: string;
  if (positionals.length === 2) {
    server = positionals[0]!;
    target = positionals[1]!;
    if (rest[0] === "--") rest = rest.slice(1);
  } else {
    target = positionals[0]!;
    if (rest.length > 0 && rest[0] !== "--") {
      throw new UsageError(`unexpected ${rest[0]} after MODULE: the backend's arguments go after --`);
    }
    rest = rest.slice(1);
  }
  const colon = target.lastIndexOf(":");
  const named = colon > 0 && EXPORT_NAME.test(target.slice(colon + 1));
  return {
    server: server ?? "http",
    directory,
    module: named ? target.slice(0, colon) : target,
    exportName: named ? target.slice(colon + 1) : undefined,
    serverArguments: rest,
    liveReload,
  };
}

/** Loads the module and picks its handler, or throws an Error whose message is the one line. */
async function loadHandler(call: Invocation): Promise<HandlerLike> {
  const path = resolve(call.directory, call.module);
  const found = await stat(path).then((s) => s.isFile(), () => false);
  if (!found) throw new Error(`no such module ${call.module} (looked for ${path})`);
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot load ${call.module}: ${firstLine(err)}`);
  }
  let name: string;
  if (call.exportName !== undefined) {
    name = call.exportName;
    if (!(name in exports)) throw new Error(`${call.module} has no export "${name}"${listed(exports)}`);
  } else {
    const found = ["default", "app", "handler"].find((n) => exports[n] !== undefined);
    if (found === undefined) {
      throw new Error(`${call.module} has no default export (nor "app" or "handler"); name one as MODULE:EXPORT${listed(exports)}`);
    }
    name = found;
  }
  const handler = exports[name] as HandlerLike;
  try {
    toHandlerFunction(handler);
  } catch (err) {
    if (!(err instanceof VsgiError && err.code === ERR_INVALID_HANDLER)) throw err;
    throw new Error(
      `export "${name}" of ${call.module} is not a handler (${describe(handler)}): wanted a Router, an object with handle(req, res), or a function`,
    );
  }
  return handler;
}

function listed(exports: Record<string, unknown>): string {
  const names = Object.keys(exports);
  return names.length === 0 ? " (it exports nothing)" : ` (it exports ${names.join(", ")})`;
}

function describe(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "object" ? "an object without handle" : `a ${typeof value}`;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n", 1)[0]!;
}

async function main(argv: readonly string[]): Promise<number> {
  let call;
  try {
    call = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`vsgi: ${err.message}\n`);
    return 2;
  }
  if (call === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  if (call === "version") {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (call.liveReload) {
    const path = resolve(call.directory, call.module);
    if (!(await stat(path).then((s) => s.isFile(), () => false))) {
      process.stderr.write(`vsgi: no such module ${call.module} (looked for ${path})\n`);
      return 1;
    }
    // The child is this command without --live-reload, in canonical form.
    const target = call.exportName === undefined ? path : `${path}:${call.exportName}`;
    return superviseReloading(dirname(path), fileURLToPath(import.meta.url), ["--server", call.server, target, "--", ...call.serverArguments]);
  }
  let handler: HandlerLike;
  try {
    handler = await loadHandler(call);
  } catch (err) {
    // `vsgi http` alone: the shorthand without its MODULE, not a module named "http"
    if (call.exportName === undefined && call.serverArguments.length === 0 && BUILT_IN_SERVERS.has(call.module)) {
      process.stderr.write(`vsgi: missing MODULE after ${call.module}\n`);
      return 2;
    }
    process.stderr.write(`vsgi: ${firstLine(err)}\n`);
    return 1;
  }
  try {
    return await Server.new(call.server, { handler }).run([process.argv[0]!, call.module, ...call.serverArguments]);
  } catch (err) {
    process.stderr.write(`vsgi: ${firstLine(err)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
