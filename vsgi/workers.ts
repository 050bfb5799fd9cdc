// Worker processes that accept on listening sockets another process holds: Valum's fork after
// listen, done the way Node can (it cannot fork a running process). A worker is the same
// program started again with VSGI_WORKER set to its number; it asks its parent for the
// listening sockets over IPC once it is ready, listens on them, and says so ("accepting").
// Used by `run()`'s supervisor (supervisor.ts) and by `Server.fork()` (`Workers` below).
//
// The sockets travel as raw handles (a TCP or Pipe wrap: node's "net.Native" over IPC), not as
// `net.Server`s: node starts accepting on a received `net.Server` as it arrives, while a raw
// handle is only a descriptor until its receiver listens on it. So the parent can hold one
// without accepting, and a worker accepts only once it can serve.
import { fork, type ChildProcess } from "node:child_process";
import type { Server as NetServer } from "node:net";
import { logError } from "./handler.js";
import { VsgiError, ERR_INVALID_OPTION } from "./errors.js";

/** The environment variable that marks a worker process; its value is the worker's number. */
export const WORKER = "VSGI_WORKER";

/** True in a worker started by `--forks`, a reload or `Server.fork()`. */
export function isWorker(): boolean {
  const id = process.env[WORKER];
  return id !== undefined && id !== "" && process.send !== undefined;
}

/**
 * A listening socket as the kernel knows it, outside any `net.Server`: node's TCP or Pipe
 * handle (what `net.Server` keeps in `_handle`). It accepts nothing until something listens on it.
 */
export interface RawHandle {
  readonly fd: number;
  close(callback?: () => void): void;
}

/** Parent to worker: the `index`-th listening socket of `count`, with the handle. */
export interface ListenMessage {
  vsgi: "listen";
  index: number;
  count: number;
  /** Whether the parent wants the handle back once the worker listens (its own copy, not accepting). */
  giveBack: boolean;
}

/**
 * The raw handle of a listening `net.Server`. It is node's `_handle`, an internal that node's own
 * `cluster` relies on: a node without it is refused with an error that says so.
 *
 * @example child.send({ vsgi: "listen", index: 0, count: 1, giveBack: false }, rawHandle(server));
 */
export function rawHandle(server: NetServer): RawHandle {
  const handle = (server as unknown as { _handle?: RawHandle | null })._handle;
  if (handle === undefined || handle === null || typeof handle.fd !== "number") {
    throw new VsgiError(ERR_INVALID_OPTION, `cannot share a listening socket with a worker: this Node.js (${process.version}) keeps no handle in net.Server._handle`);
  }
  return handle;
}

/**
 * Starts `this program` again as worker number `id`, with the process's own arguments (not those
 * a program gave `run()`, which it may have rewritten). Its standard streams are this process's.
 */
export function spawnWorker(id: number): ChildProcess {
  const script = process.argv[1];
  if (script === undefined) {
    throw new VsgiError(ERR_INVALID_OPTION, "a worker is this program started again: run it from a file (node app.js), not with node -e or a REPL");
  }
  return fork(script, process.argv.slice(2), { env: { ...process.env, [WORKER]: String(id) }, stdio: "inherit" });
}

/**
 * Hands `handles` to `child` when it asks for them (a handle sent before the worker listens for
 * it would sit unused). `giveBack`: ask for copies of them back once it accepts.
 */
export function offerHandles(child: ChildProcess, handles: () => RawHandle[], giveBack = false): void {
  const onMessage = (message: { vsgi?: string }): void => {
    if (message?.vsgi !== "ready") return;
    child.off("message", onMessage);
    let all: RawHandle[];
    try {
      all = handles();
    } catch (err) {
      // Without sockets the worker cannot serve: it goes, and whoever watches it hears why.
      logError(`cannot hand the listening sockets to worker ${child.pid}`, err);
      child.kill("SIGKILL");
      return;
    }
    all.forEach((handle, index) => {
      const listen: ListenMessage = { vsgi: "listen", index, count: all.length, giveBack };
      // A worker that died meanwhile: its exit is handled by whoever watches it.
      if (child.connected) child.send(listen, handle as never, undefined, () => undefined);
    });
  };
  child.on("message", onMessage);
}

/**
 * `Server.fork()`'s workers: started, handed the server's listening sockets, started again
 * (after a second) when one dies, until `stop`. The parent serves too.
 *
 * @example
 * const workers = new Workers(() => server.listeners());
 * workers.spawn(); // ... await workers.stop();
 */
export class Workers {
  private readonly listeners: () => NetServer[];
  private readonly children = new Set<ChildProcess>();
  private stopping = false;
  private next = 1;

  /** `listeners`: the sockets to share, read when a worker asks for them. */
  constructor(listeners: () => NetServer[]) {
    this.listeners = listeners;
  }

  /** Starts one worker. */
  spawn(): ChildProcess {
    const child = spawnWorker(this.next++);
    this.children.add(child);
    offerHandles(child, () => this.listeners().map(rawHandle));
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
    return Promise.all([...this.children].map((child) => stopChild(child))).then(() => undefined);
  }
}

/** Sends SIGTERM to `child` (a graceful stop) and resolves once it exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise<void>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once("exit", () => done());
    child.kill("SIGTERM");
  });
}

/** A listening socket the parent handed over: the `index`-th of `count`. */
export interface InheritedListener {
  handle: RawHandle;
  index: number;
  count: number;
}

let inherited: Inherited | null = null;

/** The worker's side: asks once, hands out the sockets in the parent's order, reports accepting. */
class Inherited {
  private readonly received: InheritedListener[] = [];
  private readonly waiting: ((listener: InheritedListener) => void)[] = [];
  private readonly listening: NetServer[] = [];
  private taken = 0;
  private count = -1;
  private giveBack = false;

  constructor() {
    process.on("message", this.onMessage);
    // The parent going away (crash, kill -9) must not leave orphans serving.
    process.once("disconnect", orphaned);
    process.send!({ vsgi: "ready" });
  }

  private readonly onMessage = (message: ListenMessage, handle: RawHandle | undefined): void => {
    if (message?.vsgi !== "listen" || handle === undefined) return;
    this.count = message.count;
    this.giveBack ||= message.giveBack;
    const listener = { handle, index: message.index, count: message.count };
    const waiter = this.waiting.shift();
    if (waiter !== undefined) waiter(listener);
    else this.received.push(listener);
  };

  next(): Promise<InheritedListener> {
    const ready = this.received.shift();
    this.taken++;
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Whether sockets the parent sent are still to be taken (or still on their way). */
  get pending(): boolean {
    return this.count === -1 || this.taken < this.count;
  }

  /**
   * One inherited socket is accepted on (by `server`): once all are, copies go back if the
   * parent asked for them, then "accepting" (IPC keeps the order: the copies arrive first).
   */
  listened(index: number, server: NetServer): void {
    this.listening[index] = server;
    if (this.count === -1 || this.listening.filter(Boolean).length < this.count || !process.connected) return;
    if (this.giveBack) {
      this.listening.forEach((s, i) => process.send!({ vsgi: "handle", index: i }, rawHandle(s) as never));
    }
    process.send!({ vsgi: "accepting" });
    // All came: the IPC channel no longer needs to listen for them.
    process.off("message", this.onMessage);
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
 * In a worker: the next listening socket of the parent, in the order it listened (the first
 * call asks the parent for them).
 *
 * @example const { handle, index } = await inheritedListener(); await server.listen({ handle }); listenedOn(index, netServer);
 */
export function inheritedListener(): Promise<InheritedListener> {
  return (inherited ??= new Inherited()).next();
}

/** In a worker: `server` accepts on the parent's `index`-th socket (the parent learns it once all do). */
export function listenedOn(index: number, server: NetServer): void {
  inherited?.listened(index, server);
}

/** In a worker: whether the parent has listening sockets this worker has not taken yet. */
export function moreInheritedListeners(): boolean {
  return inherited === null || inherited.pending;
}

/** In a worker whose server stopped: lets go of the parent (the IPC channel would keep the process alive). */
export function leavePrimary(): void {
  inherited?.close();
  inherited = null;
}
