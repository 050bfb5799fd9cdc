// The main process of `run(argv)` once it supervises: worker processes serve, it only holds the
// listening sockets (without accepting on them, so that they outlive any worker), starts
// workers, replaces them one at a time on a reload, restarts a dead one with a back-off, and
// gives up when none can stay up.
//
// How it comes to hold the sockets: it listens as any server does (every kind of address, its
// errors, port 0's real port, socket activation), serves, and hands the sockets to its first
// worker; that worker listens on them and sends copies back (raw handles: descriptors nobody
// polls), then says it accepts; only then does the main process stop serving, gracefully. Node
// has no public dup(), and its cluster's way (net._createServerHandle, bound but not listening)
// reports a port already taken only when a worker listens, which would leave `run` unable to
// fail at once with exit 1. The main process serves only for the time its first worker starts.
import type { ChildProcess } from "node:child_process";
import type { Server } from "./server.js";
import { removeSocket } from "./socket-paths.js";
import { offerHandles, rawHandle, spawnWorker, type RawHandle } from "./workers.js";

/** The supervisor's timings and limits. */
export const SUPERVISION = {
  /** First delay before a dead worker is started again, doubled at each death in a row (ms). @default 100 */
  firstDelay: 100,
  /** The longest delay between restarts (ms). @default 5000 */
  maxDelay: 5000,
  /** A worker that served this long resets the back-off (ms). @default 10000 */
  stableAfter: 10000,
  /**
   * The supervisor gives up after this many workers in a row exit before they accept (the code
   * cannot start), or this many times the number of workers die in a row within `stableAfter`
   * of accepting (they crash-loop). @default 5
   */
  giveUpAfter: 5,
  /**
   * How long a new worker has to accept before it is killed and counts as failed (ms);
   * `--start-timeout` on the command line. @default 30000
   */
  startTimeout: 30000,
  /** How long past its stop timeout a stopping worker has before SIGKILL (ms). @default 10000 */
  killGrace: 10000,
} as const;

/** One worker process, as the supervisor sees it. */
class Worker {
  readonly child: ChildProcess;
  readonly id: number;
  /** Started by a reload (rather than to fill a place): failing to start is the reload's to report. */
  readonly forReload: boolean;
  /** When it said it accepts (Date.now()): how long it served is counted from then, not from its start. */
  acceptedAt = 0;
  /** The copies of the sockets it sent back (asked of the first worker only). */
  readonly handles: RawHandle[] = [];
  accepting = false;
  /** Why the supervisor killed it before it accepted (its start timeout), for the line that tells of its death. */
  killedBecause: string | null = null;
  /** Sent SIGTERM by the supervisor: its exit is expected. */
  stopping = false;
  /** Settles once it accepts (or rejects with why it did not). */
  readonly accepted: Promise<void>;
  settle!: (why: string | null) => void;

  constructor(id: number, child: ChildProcess, forReload: boolean) {
    this.id = id;
    this.forReload = forReload;
    this.child = child;
    this.accepted = new Promise((resolve, reject) => {
      this.settle = (why) => (why === null ? resolve() : reject(new Error(why)));
    });
    this.accepted.catch(() => undefined);
  }

  get name(): string {
    return `worker ${this.id} (pid ${this.child.pid})`;
  }
}

/** What became of a process: "exited with code 1", "was killed by SIGSEGV". */
function fate(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
}

function say(line: string): void {
  process.stderr.write(`vsgi: ${line}\n`);
}

/**
 * Supervises the workers that serve `server`'s listening sockets; `server` is the main process's
 * own, which serves until a first worker accepts.
 *
 * @example
 * const supervisor = new Supervisor(server, 30000, 120000);
 * supervisor.supervise(4); process.on("SIGHUP", () => supervisor.reload());
 * process.exitCode = await supervisor.finished;
 */
export class Supervisor {
  private readonly server: Server;
  private readonly stopTimeout: number;
  private readonly startTimeout: number;
  private readonly workers = new Set<Worker>();
  /** The sockets, not accepted on, once a worker took over from the main process. */
  private held: RawHandle[] | null = null;
  private paths: string[] = [];
  private wanted = 0;
  private nextId = 1;
  /** Deaths in a row of workers that did not serve `stableAfter`: the back-off's exponent. */
  private failures = 0;
  /** Workers in a row that exited before accepting. */
  private startFailures = 0;
  /** One timer per dead worker, each starting its replacement after that death's delay. */
  private readonly restarts = new Set<NodeJS.Timeout>();
  private queue: Promise<void> = Promise.resolve();
  private reloadQueued = false;
  private stopping = false;
  private handedOver!: () => void;
  private readonly handover = new Promise<void>((resolve) => (this.handedOver = resolve));
  private finish!: (code: number) => void;
  /** Resolves with the exit status: 0 once stopped, 1 after giving up. */
  readonly finished = new Promise<number>((resolve) => (this.finish = resolve));

  /**
   * `stopTimeout`: the workers' graceful stop (ms), after which (and a grace) they are killed.
   * `startTimeout`: how long a new worker has to accept (ms) before it is killed; 0: no limit.
   */
  constructor(server: Server, stopTimeout: number, startTimeout: number = SUPERVISION.startTimeout) {
    this.server = server;
    this.stopTimeout = stopTimeout;
    this.startTimeout = startTimeout;
  }

  /** Hands the sockets to `count` workers: the first takes over from the main process, then the rest start. */
  supervise(count: number): void {
    this.wanted = count;
    this.fill();
  }

  /**
   * Replaces every worker, one at a time (a worker that serves the main process's sockets first,
   * when it serves them itself). A reload asked for while one waits to run is the same reload.
   */
  reload(): void {
    if (this.stopping || this.reloadQueued) return;
    this.reloadQueued = true;
    this.queue = this.queue.then(async () => {
      this.reloadQueued = false;
      if (this.stopping) return;
      // Workers still on their way to take over from the main process: let them first.
      if (this.wanted > 0) await Promise.race([this.handover, this.finished]);
      await this.replaceAll();
    }).catch((err: Error) => say(`reload failed: ${err.message}`));
  }

  /** Sends `signal` to every worker (SIGUSR1: reopen the log files). */
  forward(signal: NodeJS.Signals): void {
    for (const worker of this.workers) if (worker.child.exitCode === null) worker.child.kill(signal);
  }

  /** Stops every worker gracefully, and the main process's serving; resolves `finished` with `code`. */
  async stop(code = 0): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const timer of this.restarts) clearTimeout(timer);
    this.restarts.clear();
    const stops: Promise<void>[] = [...this.workers].map((worker) => this.stopWorker(worker));
    // The main process's own serving: stopping since a worker took over, or stopped now.
    stops.push(this.server.stop(this.stopTimeout));
    await Promise.all(stops);
    for (const handle of this.held ?? []) handle.close();
    for (const path of this.paths) removeSocket(path);
    this.handedOver();
    this.finish(code);
  }

  private async replaceAll(): Promise<void> {
    const old = [...this.workers].filter((w) => !w.stopping);
    if (old.length === 0) {
      // The main process serves itself (or every worker died and waits for its replacement):
      // a worker with the new code takes over.
      const worker = this.spawn(true);
      if (!(await this.started(worker, "reload"))) return;
      this.wanted = Math.max(this.wanted, 1);
      say(`reloaded: ${worker.name} serves`);
      return;
    }
    for (const previous of old) {
      if (this.stopping) return;
      if (!this.workers.has(previous)) continue; // died meanwhile: replaced already
      const worker = this.spawn(true);
      if (!(await this.started(worker, "reload"))) return;
      await this.stopWorker(previous);
    }
    if (!this.stopping) say(`reloaded: ${old.length} worker${old.length === 1 ? "" : "s"} replaced`);
  }

  /** Waits for `worker` to accept; false (logged, the others serving on) if it did not. */
  private async started(worker: Worker, what: string): Promise<boolean> {
    try {
      await worker.accepted;
      return true;
    } catch (err) {
      const serving = this.held === null ? `this process (pid ${process.pid}) keeps serving` : "the running workers keep serving";
      if (!this.stopping) say(`${what} failed: ${worker.name} ${(err as Error).message}; ${serving}`);
      return false;
    }
  }

  /**
   * Starts workers until there are as many as wanted (one only, until one took over); a place
   * whose dead worker waits out its delay counts as filled.
   */
  private fill(): void {
    if (this.stopping) return;
    let live = this.restarts.size;
    for (const worker of this.workers) if (!worker.stopping) live++;
    const wanted = this.held === null ? Math.min(this.wanted, 1) : this.wanted;
    for (; live < wanted; live++) this.spawn().accepted.catch(() => undefined);
  }

  private spawn(forReload = false): Worker {
    const giveBack = this.held === null;
    const id = this.nextId++;
    const worker = new Worker(id, spawnWorker(id), forReload);
    this.workers.add(worker);
    offerHandles(worker.child, () => this.held ?? this.server.listeners().map(rawHandle), giveBack);
    // A worker stuck before it accepts (an import that never settles) would hold its place forever.
    const timer =
      this.startTimeout > 0
        ? setTimeout(() => {
            worker.killedBecause = `did not accept within ${this.startTimeout / 1000} s and was killed`;
            worker.settle(worker.killedBecause);
            worker.child.kill("SIGKILL");
          }, this.startTimeout)
        : undefined;
    worker.child.on("message", (message: { vsgi?: string }, handle?: RawHandle) => {
      if (message?.vsgi === "handle" && handle !== undefined) worker.handles.push(handle);
      // Too late: it is being killed for its start timeout, which its exit reports.
      else if (message?.vsgi === "accepting" && worker.killedBecause === null) {
        clearTimeout(timer);
        worker.accepting = true;
        worker.acceptedAt = Date.now();
        this.startFailures = 0;
        say(`${worker.name} accepts`);
        if (this.held === null && !this.stopping) this.takeOver(worker);
        else for (const copy of worker.handles.splice(0)) copy.close();
        worker.settle(null);
      }
    });
    worker.child.on("error", (err) => say(`${worker.name}: ${err.message}`));
    worker.child.once("exit", (code, signal) => {
      clearTimeout(timer);
      this.workers.delete(worker);
      for (const copy of worker.handles.splice(0)) copy.close();
      const accepting = worker.accepting;
      worker.settle(`${fate(code, signal)} before accepting`);
      if (this.stopping || worker.stopping) return;
      // A reload's new worker failing is the reload's to report; the old workers serve on.
      if (!accepting && worker.forReload) return;
      this.died(worker, code, signal);
    });
    return worker;
  }

  /** The first worker accepts: the main process keeps copies of the sockets and stops serving. */
  private takeOver(worker: Worker): void {
    this.held = worker.handles.splice(0);
    this.paths = this.server.handOver();
    void this.server.stop(this.stopTimeout);
    this.handedOver();
    say(`the workers hold the listening sockets now; this process (pid ${process.pid}) supervises`);
    queueMicrotask(() => this.fill());
  }

  /** A worker died on its own: another one after a delay that doubles while they keep dying. */
  private died(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    // Served, not lived: with a long --start-timeout, code that loads for a minute and then
    // crashes at its first request would otherwise reset the back-off at every death.
    if (worker.accepting && Date.now() - worker.acceptedAt >= SUPERVISION.stableAfter) this.failures = 0;
    this.failures++;
    if (!worker.accepting) this.startFailures++;
    const what = `${worker.name} ${worker.killedBecause ?? `${fate(code, signal)}${worker.accepting ? "" : " before accepting"}`}`;
    const why =
      this.startFailures >= SUPERVISION.giveUpAfter
        ? `${this.startFailures} workers in a row exited before accepting`
        : this.failures >= SUPERVISION.giveUpAfter * Math.max(1, this.wanted)
          ? `${this.failures} workers in a row exited within ${SUPERVISION.stableAfter / 1000} s of accepting`
          : null;
    if (why !== null) {
      say(`${what}; giving up: ${why}; stopping`);
      void this.stop(1);
      return;
    }
    const delay = Math.min(SUPERVISION.firstDelay * 2 ** (this.failures - 1), SUPERVISION.maxDelay);
    say(`${what}; starting another in ${delay} ms`);
    // Its own timer, not one shared with earlier deaths: the replacement starts when the line says.
    const timer = setTimeout(() => {
      this.restarts.delete(timer);
      this.fill();
    }, delay);
    this.restarts.add(timer);
  }

  /** SIGTERM (a graceful stop), SIGKILL if it outlasts its stop timeout; resolves once it exited. */
  private stopWorker(worker: Worker): Promise<void> {
    worker.stopping = true;
    const child = worker.child;
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const kill = setTimeout(() => child.kill("SIGKILL"), this.stopTimeout + SUPERVISION.killGrace);
      child.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill("SIGTERM");
    });
  }
}
