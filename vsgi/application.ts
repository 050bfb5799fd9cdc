import { readFileSync } from "node:fs";
import { parseCommandLine, usage, type CommandLine } from "./cli.js";
import { enableAccessLog } from "./access-log.js";
import { logError } from "./handler.js";
import type { Server } from "./server.js";
import { Workers, isWorker, inheritedListener, moreInheritedListeners, leavePrimary } from "./workers.js";

/**
 * This package's version, from the package.json two folders above the compiled file (the same
 * in the repository and in an installed package); "unknown" when it cannot be read.
 *
 * @example packageVersion(); // "0.1.0"
 */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * What `server.run(argv)` does: the command line, the listeners, the workers and the signals.
 *
 * Workers (`--forks N`, see workers.ts) are the same program started again: the primary hands
 * them its listening sockets over IPC and they accept on them too, which is what a fork after
 * listen does in Valum. The primary serves as well: `--forks N` makes N+1 processes in all.
 */
export class Application {
  private readonly server: Server;
  private readonly workers: Workers;
  private stopping = false;

  constructor(server: Server) {
    this.server = server;
    this.workers = new Workers(() => server.listeners());
  }

  /**
   * Parses `argv` (as `process.argv`: the executable and the script come first), serves until
   * SIGTERM or SIGINT, and resolves with the exit status.
   */
  async run(argv: readonly string[]): Promise<number> {
    if (isWorker()) return this.runWorker(argv);
    let line;
    try {
      line = parseCommandLine(argv.slice(2));
    } catch (err) {
      console.error(`${(err as Error).message}\n\n${usage(argv)}`);
      process.exitCode = 2;
      return 2;
    }
    if (line.help) {
      process.stdout.write(usage(argv));
      return 0;
    }
    if (line.version) {
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    const logStatus = openAccessLog(line);
    if (logStatus !== 0) return logStatus;
    try {
      if (line.addresses.length === 0) await this.server.listen();
      else for (const address of line.addresses) await this.server.listen(address);
    } catch (err) {
      console.error(`cannot listen: ${(err as Error).message}`);
      process.exitCode = 1;
      return 1;
    }
    // Standard error, as every line of the framework's own: behind lighttpd's bin-path or a
    // CGI gateway standard output goes nowhere or is the response.
    for (const uri of this.server.uris) console.error(`Listening on '${uri.href}'`);
    for (let i = 0; i < line.forks; i++) this.workers.spawn();
    return this.serveUntilSignal();
  }

  private async runWorker(argv: readonly string[]): Promise<number> {
    const logStatus = openAccessLog(parseCommandLine(argv.slice(2)));
    if (logStatus !== 0) return logStatus;
    const serving = this.serveUntilSignal();
    void this.adoptListeners();
    const code = await serving;
    leavePrimary();
    return code;
  }

  /** Accepts on every listening socket of the primary, as they come. */
  private async adoptListeners(): Promise<void> {
    do {
      const { handle } = await inheritedListener();
      if (this.stopping) return;
      await this.server.listen({ handle }).catch((err: Error) => logError("worker cannot listen", err));
    } while (moreInheritedListeners());
  }

  private serveUntilSignal(): Promise<number> {
    return new Promise((resolve) => {
      const onSignal = (): void => {
        if (this.stopping) return;
        this.stopping = true;
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
        void Promise.all([this.server.stop(), this.workers.stop()]).then(() => {
          process.exitCode = 0;
          resolve(0);
        });
      };
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);
      const done = this.server.done;
      if (done !== null) {
        void done.then(() => {
          process.off("SIGTERM", onSignal);
          process.off("SIGINT", onSignal);
          resolve(0);
        });
      }
    });
  }
}

/** `--access-log`: on before the first request; 0, or 1 when the file cannot be opened (the exit status). */
function openAccessLog(line: CommandLine): number {
  if (line.accessLog === null) return 0;
  try {
    enableAccessLog({ file: line.accessLog, format: line.logFormat });
    return 0;
  } catch (err) {
    console.error((err as Error).message);
    return (process.exitCode = 1);
  }
}
