import { readFileSync } from "node:fs";
import { defaultCommandLine, parseCommandLine, usage, type CommandLine } from "./cli.js";
import { logError } from "./handler.js";
import { enableAccessLog } from "./access-log.js";
import type { Server } from "./server.js";
import { DEFAULT_STOP_TIMEOUT } from "./socket-server.js";
import { Supervisor } from "./supervisor.js";
import { isWorker, moreInheritedListeners, leavePrimary } from "./workers.js";

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
 * The process listens and serves. With `--forks N`, or on the first SIGHUP, it becomes a
 * supervisor (supervisor.ts): worker processes (the same program started again, N+1 of them with
 * `--forks N`) take its listening sockets and serve, and it only holds the sockets, replaces the
 * workers on SIGHUP and restarts those that die. Its pid never changes.
 */
export class Application {
  private readonly server: Server;

  constructor(server: Server) {
    this.server = server;
  }

  /**
   * Parses `argv` (as `process.argv`: the executable and the script come first), serves until
   * SIGTERM or SIGINT, and resolves with the exit status.
   */
  async run(argv: readonly string[]): Promise<number> {
    let line: CommandLine;
    try {
      line = parseCommandLine(argv.slice(2));
    } catch (err) {
      if (isWorker()) line = defaultCommandLine();
      else {
        console.error(`${(err as Error).message}\n\n${usage(argv)}`);
        process.exitCode = 2;
        return 2;
      }
    }
    if (isWorker()) return this.runWorker(line);
    if (line.help) {
      process.stdout.write(usage(argv));
      return 0;
    }
    if (line.version) {
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    // The main process serves until its first worker accepts: it logs those requests too.
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
    const code = await this.supervise(line);
    process.exitCode = code;
    return code;
  }

  /** Serves (then supervises, with `--forks` or after a SIGHUP) until a signal stops it. */
  private supervise(line: CommandLine): Promise<number> {
    const shareable = this.server.listeners().length > 0;
    const stopTimeout = line.stopTimeout ?? this.server.options.stopTimeout ?? DEFAULT_STOP_TIMEOUT;
    const supervisor = new Supervisor(this.server, stopTimeout, line.startTimeout);
    const onStop = (): void => void supervisor.stop(0);
    const onReload = (): void => {
      if (shareable) supervisor.reload();
      else console.error(`vsgi: SIGHUP ignored: the ${this.server.scheme} server has no listening socket to hand to a new worker`);
    };
    // Installing a listener also keeps node from starting its inspector on SIGUSR1.
    const onReopen = (): void => supervisor.forward("SIGUSR1");
    process.on("SIGTERM", onStop).on("SIGINT", onStop).on("SIGHUP", onReload).on("SIGUSR1", onReopen);
    // Only now that the signals are handled: whoever reads the line may send one at once.
    // Standard error, as every line of the framework's own: behind lighttpd's bin-path or a
    // CGI gateway standard output goes nowhere or is the response.
    for (const uri of this.server.uris) console.error(`Listening on '${uri.href}'`);
    if (line.forks > 0) {
      if (shareable) supervisor.supervise(line.forks + 1);
      else console.error(`vsgi: --forks ignored: the ${this.server.scheme} server has no listening socket to share`);
    }
    // The server done by itself (the cgi backend's one request, the application's own stop()
    // while this process serves): the run ends as after SIGTERM. A hand-over does not settle it.
    const done = this.server.done;
    if (done !== null) void done.then(onStop);
    return supervisor.finished.finally(() => {
      process.off("SIGTERM", onStop).off("SIGINT", onStop).off("SIGHUP", onReload).off("SIGUSR1", onReopen);
    });
  }

  /** A worker: accepts on its parent's sockets until SIGTERM or SIGINT. */
  private runWorker(line: CommandLine): Promise<number> {
    const logStatus = openAccessLog(line);
    if (logStatus !== 0) return Promise.resolve(logStatus);
    return new Promise((resolve) => {
      let stopping = false;
      const stop = (code: number): void => {
        if (stopping) return;
        stopping = true;
        process.off("SIGTERM", onStop).off("SIGINT", onStop);
        void this.server.stop(line.stopTimeout).then(() => {
          // The parent channel would keep the process alive.
          leavePrimary();
          process.exitCode = code;
          resolve(code);
        });
      };
      const onStop = (): void => stop(0);
      // SIGHUP is the supervisor's (a terminal's hang-up reaches the whole group); SIGUSR1 is
      // for whoever writes a log file, and with a listener node starts no inspector.
      const ignore = (): void => undefined;
      process.on("SIGTERM", onStop).on("SIGINT", onStop).on("SIGHUP", ignore).on("SIGUSR1", ignore);
      // The application stopping its server itself ends the worker, as a signal does.
      void this.server.done?.then(onStop);
      void (async () => {
        try {
          do await this.server.listen();
          while (!stopping && moreInheritedListeners());
        } catch (err) {
          logError(`worker ${process.env.VSGI_WORKER} cannot listen`, err);
          stop(1);
        }
      })();
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
