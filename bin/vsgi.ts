#!/usr/bin/env node
// The `vsgi` command: runs an application module on a backend chosen on the command line, so
// one module serves behind any front server without a start-up file of its own:
//   vsgi scgi ./app.js --forks 3
//   vsgi http ./app.js --port 8080
// The module's default export (or its export named `app` or `handler`) is the handler: a
// Router, an object with handle(req, res), or a function.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Server, OPTIONS_HELP, type HandlerLike } from "../vsgi/index.js";

const HELP = `Usage: vsgi SERVER MODULE [OPTION...]

Runs the application exported by MODULE (default export, or "app", or "handler") on the backend
SERVER (http, cgi, scgi, fastcgi, ajp, or a module in a folder of VSGI_SERVER_PATH).

${OPTIONS_HELP}`;

async function main(argv: string[]): Promise<number> {
  const [name, module, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h") {
    process.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  if (module === undefined) {
    process.stderr.write(`vsgi: missing MODULE after ${name}\n\n${HELP}`);
    return 2;
  }
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(resolve(module)).href)) as Record<string, unknown>;
  } catch (err) {
    process.stderr.write(`vsgi: cannot load ${module}: ${(err as Error).message}\n`);
    return 1;
  }
  const handler = (exports.default ?? exports.app ?? exports.handler) as HandlerLike | undefined;
  if (handler === undefined) {
    process.stderr.write(`vsgi: ${module} exports no application (default, app or handler)\n`);
    return 1;
  }
  try {
    return await Server.new(name, { handler }).run([process.argv[0]!, module, ...rest]);
  } catch (err) {
    process.stderr.write(`vsgi: ${(err as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
