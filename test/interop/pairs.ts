// Builds the (front server, backend) pairs of the interop matrix: starts the echo application
// (listening itself, spawned by the front server, or run as a CGI script) and the front server
// with a config from the examples/deploy templates.
import { join } from "node:path";
import type { Backend, Mount } from "../../examples/deploy/templates.js";
import { appCommand, frontServerAvailable, removeFolder, startApp, startFront, tempFolder, writeCgiScript, type App, type FrontName } from "./harness.js";
import { runChecks, type Exception } from "./checks.js";

export interface PairOptions {
  /** lighttpd: spawn the app with bin-path on a UNIX socket instead of connecting to it. */
  spawn?: boolean;
  /** Extra command-line flags for the app (`--forks 3`). */
  appArgs?: string[];
  /** Backend options (JSON) for the launcher: `secret`, `scriptName`. */
  appOptions?: Record<string, unknown>;
  /** ajp: the secret, set on both sides. */
  secret?: string;
  exceptions?: Record<string, Exception>;
  /** Changes the front server's rendered config (a variant of a documented setting). */
  edit?: (config: string) => string;
}

/** Starts one pair: the app, then the front server in front of it. */
export async function startPair(front: FrontName, backend: Backend, prefix: string, o: PairOptions = {}) {
  const dir = tempFolder(`${front}-${backend}`);
  let app: App | undefined;
  const mount: Mount = { backend, prefix };
  const appOptions = o.secret !== undefined ? { ...o.appOptions, secret: o.secret } : o.appOptions;
  try {
    if (backend === "cgi") {
      mount.script = writeCgiScript(dir, appOptions);
    } else if (o.spawn) {
      mount.spawn = { command: [...appCommand(backend, appOptions), ...(o.appArgs ?? [])].join(" "), socket: join(dir, `${backend}.sock`), maxProcs: 1 };
    } else {
      app = await startApp(backend, appOptions, o.appArgs);
      mount.upstream = { host: "127.0.0.1", port: app.port };
    }
    if (o.secret !== undefined) mount.secret = o.secret;
    const server = await startFront(front, dir, [mount], o.edit !== undefined ? { edit: o.edit } : {});
    // With --forks the main process serves until its first worker accepts, then only supervises
    // (vsgi/supervisor.ts): what it served in that window is out of reach of the requests after
    // (the disconnect check's /seen polls missed an abort counted there). The checks begin once
    // the workers hold the sockets.
    if (o.appArgs?.includes("--forks")) {
      try {
        await waitForText(() => server.log() + (app?.proc.log ?? ""), "the workers hold the listening sockets now");
      } catch (err) {
        await server.stop();
        throw err;
      }
    }
    return {
      port: server.port,
      log: () => server.log() + (app !== undefined ? `\n--- app ---\n${app.proc.log}` : ""),
      async stop() {
        await server.stop();
        await app?.stop();
        removeFolder(dir);
      },
    };
  } catch (err) {
    await app?.stop();
    removeFolder(dir);
    throw err;
  }
}

/** Resolves once `text` appears in what `read` returns; rejects after 30 s with what it had. */
async function waitForText(read: () => string, text: string): Promise<void> {
  for (const start = Date.now(); !read().includes(text); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() - start > 30000) throw new Error(`never saw "${text}" in:\n${read()}`);
  }
}

/**
 * Defines the checks for a pair at the root and under /app.
 *
 * @example pair("nginx", "fastcgi");
 */
export function pair(front: FrontName, backend: Backend, o: PairOptions & { prefixOptions?: PairOptions; root?: boolean; prefixed?: boolean } = {}): void {
  const flags = o.appArgs !== undefined ? ` ${o.appArgs.join(" ")}` : "";
  const how = backend === "cgi" ? "cgi script" : o.spawn ? `${backend}${flags}, spawned by bin-path` : `${backend}${flags}`;
  if (o.root !== false) {
    runChecks({
      title: `${front} + ${how} at /`,
      prefix: "",
      processPerRequest: backend === "cgi",
      exceptions: o.exceptions,
      start: () => startPair(front, backend, "", o),
    });
  }
  if (o.prefixed !== false) {
    const p = { ...o, ...o.prefixOptions, exceptions: { ...o.exceptions, ...o.prefixOptions?.exceptions } };
    runChecks({
      title: `${front} + ${how} under /app`,
      prefix: "/app",
      processPerRequest: backend === "cgi",
      exceptions: p.exceptions,
      start: () => startPair(front, backend, "/app", p),
    });
  }
}

/** Whether the front server's tests run here (throws in CI when it is missing). */
export { frontServerAvailable };
