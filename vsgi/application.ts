import { fork, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Server as NetServer } from "node:net";
import { parseCommandLine, USAGE } from "./cli.js";
import { logError } from "./handler.js";
import type { Server } from "./server.js";

/** The environment variable that marks a worker process forked by `--forks`. */
const WORKER = "VSGI_WORKER";

interface ListenMessage {
  vsgi: "listen";
  index: number;
  count: number;
}

function version(): string {
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
 * Workers are the same program started again with `VSGI_WORKER` set: the primary hands them its
 * listening sockets over IPC and they accept on them too (the kernel spreads connections), which
 * is what a fork after listen does in Valum. The primary serves as well: `--forks N` makes N+1
 * processes in all.
 */
export class Application {
  private readonly server: Server;
  private readonly workers = new Set<ChildProcess>();
  private stopping = false;

  constructor(server: Server) {
    this.server = server;
  }

  /**
   * Parses `argv` (as `process.argv`: the executable and the script come first), serves until
   * SIGTERM or SIGINT, and resolves with the exit status.
   */
  async run(argv: readonly string[]): Promise<number> {
    if (process.env[WORKER] !== undefined && process.send !== undefined) return this.runWorker();
    let line;
    try {
      line = parseCommandLine(argv.slice(2));
    } catch (err) {
      console.error(`${(err as Error).message}\n\n${USAGE}`);
      process.exitCode = 2;
      return 2;
    }
    if (line.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (line.version) {
      process.stdout.write(`${version()}\n`);
      return 0;
    }
    try {
      if (line.addresses.length === 0) await this.server.listen();
      else for (const address of line.addresses) await this.server.listen(address);
    } catch (err) {
      console.error(`cannot listen: ${(err as Error).message}`);
      process.exitCode = 1;
      return 1;
    }
    for (const uri of this.server.uris) console.log(`Listening on '${uri.href}'`);
    const listeners = this.server.listeners();
    for (let i = 0; i < line.forks; i++) this.spawn(listeners);
    return this.serveUntilSignal();
  }

  // A worker runs this very program again, with the process's own arguments (not those given to
  // run(), which the program may have rewritten).
  private spawn(listeners: NetServer[]): void {
    const script = process.argv[1];
    if (script === undefined) return;
    const child = fork(script, process.argv.slice(2), { env: { ...process.env, [WORKER]: "1" }, stdio: "inherit" });
    this.workers.add(child);
    // Handles go out only when the worker asks: one that arrived before the worker listens for
    // it would accept connections that nobody serves.
    child.on("message", (message: { vsgi?: string }) => {
      if (message?.vsgi !== "ready") return;
      listeners.forEach((listener, index) => {
        const listen: ListenMessage = { vsgi: "listen", index, count: listeners.length };
        child.send(listen, listener);
      });
    });
    child.once("exit", (code, signal) => {
      this.workers.delete(child);
      if (!this.stopping) {
        logError(`worker ${child.pid} exited (${signal ?? code}); starting another`);
        setTimeout(() => {
          if (!this.stopping) this.spawn(listeners);
        }, 1000).unref();
      }
    });
  }

  private runWorker(): Promise<number> {
    return new Promise((resolve) => {
      let received = 0;
      const onMessage = (message: ListenMessage, handle: NetServer | undefined): void => {
        if (message?.vsgi !== "listen" || handle === undefined) return;
        this.server.listen({ handle }).then(
          () => {
            if (++received === message.count) process.off("message", onMessage);
          },
          (err: Error) => logError("worker cannot listen", err),
        );
      };
      process.on("message", onMessage);
      process.send!({ vsgi: "ready" });
      // The primary going away (crash, kill -9) must not leave orphans serving.
      const orphaned = (): void => void process.kill(process.pid, "SIGTERM");
      process.once("disconnect", orphaned);
      void this.serveUntilSignal().then((code) => {
        // The IPC channel would keep the worker alive after its server stopped.
        process.off("message", onMessage);
        process.off("disconnect", orphaned);
        if (process.connected) process.disconnect();
        resolve(code);
      });
    });
  }

  private serveUntilSignal(): Promise<number> {
    return new Promise((resolve) => {
      const onSignal = (): void => {
        if (this.stopping) return;
        this.stopping = true;
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
        const children = [...this.workers].map(
          (child) =>
            new Promise<void>((done) => {
              if (child.exitCode !== null || child.signalCode !== null) return done();
              child.once("exit", () => done());
              child.kill("SIGTERM");
            }),
        );
        void Promise.all([this.server.stop(), ...children]).then(() => {
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
