// Worker processes that accept on the primary's listening sockets: Valum's fork after listen,
// done the way Node can (it cannot fork a running process). A worker is the same program
// started again with VSGI_WORKER set; it asks the primary for the listening sockets over IPC
// once it is ready, and accepts on them too (the kernel spreads the connections). Used by
// `--forks N` (Application) and by `Server.fork()`.
import { fork, type ChildProcess } from "node:child_process";
import type { Server as NetServer } from "node:net";
import { logError } from "./handler.js";
import { VsgiError, ERR_INVALID_OPTION } from "./errors.js";

/** The environment variable that marks a worker process. */
const WORKER = "VSGI_WORKER";

/** True in a worker started by `--forks` or `Server.fork()`. */
export function isWorker(): boolean {
  return process.env[WORKER] !== undefined && process.send !== undefined;
}

interface ListenMessage {
  vsgi: "listen";
  index: number;
  count: number;
}

/**
 * The primary's side: workers started, handed the listening sockets when they ask, started
 * again when one dies (until `stop`), and stopped together.
 *
 * @example
 * const workers = new Workers(() => server.listeners());
 * workers.spawn(); // ... await workers.stop();
 */
export class Workers {
  private readonly listeners: () => NetServer[];
  private readonly children = new Set<ChildProcess>();
  private stopping = false;

  /** `listeners`: the sockets to share, read when a worker asks for them. */
  constructor(listeners: () => NetServer[]) {
    this.listeners = listeners;
  }

  /**
   * Starts one worker: this very program again, with the process's own arguments (not those a
   * program gave `run()`, which it may have rewritten).
   */
  spawn(): ChildProcess {
    const script = process.argv[1];
    if (script === undefined) {
      throw new VsgiError(ERR_INVALID_OPTION, "a worker is this program started again: run it from a file (node app.js), not with node -e or a REPL");
    }
    const child = fork(script, process.argv.slice(2), { env: { ...process.env, [WORKER]: "1" }, stdio: "inherit" });
    this.children.add(child);
    // Handles go out only when the worker asks: one that arrived before the worker listens for
    // it would accept connections that nobody serves.
    child.on("message", (message: { vsgi?: string }) => {
      if (message?.vsgi !== "ready") return;
      const listeners = this.listeners();
      listeners.forEach((listener, index) => {
        const listen: ListenMessage = { vsgi: "listen", index, count: listeners.length };
        child.send(listen, listener);
      });
    });
    child.once("exit", (code, signal) => {
      this.children.delete(child);
      if (this.stopping) return;
      logError(`worker ${child.pid} exited (${signal ?? code}); starting another`);
      setTimeout(() => {
        if (!this.stopping) this.spawn();
      }, 1000).unref();
    });
    return child;
  }

  /** Sends SIGTERM to every worker and resolves once they all exited; none is started again. */
  stop(): Promise<void> {
    this.stopping = true;
    const exits = [...this.children].map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once("exit", () => done());
          child.kill("SIGTERM");
        }),
    );
    return Promise.all(exits).then(() => undefined);
  }
}

/** A listening socket the primary handed over: the `index`-th of `count`. */
export interface InheritedListener {
  handle: NetServer;
  index: number;
  count: number;
}

let inherited: Inherited | null = null;

/** The worker's side: asks once, then hands out the sockets in the primary's order. */
class Inherited {
  private readonly received: InheritedListener[] = [];
  private readonly waiting: ((listener: InheritedListener) => void)[] = [];
  private taken = 0;
  private count = -1;

  constructor() {
    process.on("message", this.onMessage);
    // The primary going away (crash, kill -9) must not leave orphans serving.
    process.once("disconnect", orphaned);
    process.send!({ vsgi: "ready" });
  }

  private readonly onMessage = (message: ListenMessage, handle: NetServer | undefined): void => {
    if (message?.vsgi !== "listen" || handle === undefined) return;
    this.count = message.count;
    const listener = { handle, index: message.index, count: message.count };
    const waiter = this.waiting.shift();
    if (waiter !== undefined) waiter(listener);
    else this.received.push(listener);
    // All came: the IPC channel no longer needs to keep the process alive for them.
    if (message.index === message.count - 1) process.off("message", this.onMessage);
  };

  next(): Promise<InheritedListener> {
    const ready = this.received.shift();
    this.taken++;
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Whether sockets the primary sent are still to be taken (or still on their way). */
  get pending(): boolean {
    return this.count === -1 || this.taken < this.count;
  }

  close(): void {
    process.off("message", this.onMessage);
    process.off("disconnect", orphaned);
    if (process.connected) process.disconnect();
  }
}

function orphaned(): void {
  process.kill(process.pid, "SIGTERM");
}

/**
 * In a worker: the next listening socket of the primary, in the order it listened (the first
 * call asks the primary for them).
 *
 * @example const { handle } = await inheritedListener(); await server.listen({ handle });
 */
export function inheritedListener(): Promise<InheritedListener> {
  return (inherited ??= new Inherited()).next();
}

/** In a worker: whether the primary has listening sockets this worker has not taken yet. */
export function moreInheritedListeners(): boolean {
  return inherited === null || inherited.pending;
}

/** In a worker whose server stopped: lets go of the primary (the IPC channel would keep the process alive). */
export function leavePrimary(): void {
  inherited?.close();
  inherited = null;
}
