// The leak app (leak-app.ts) in a child process started with --expose-gc: its port, and its
// counts and memory over IPC. Used by the leak test (leak-suite.ts) and bench/aborts.ts.
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import type { LeakStats } from "./leak-app.js";
import { distPath } from "./process.js";

/** The compiled leak app. */
export const LEAK_APP = distPath("test/helpers/leak-app.js");

/**
 * A leak app in its child process.
 *
 * @example const app = LeakApp.start("scgi"); const port = await app.port; const { rss } = await app.stats();
 */
export class LeakApp {
  readonly port: Promise<number>;
  stderr = "";
  private waiting: ((stats: LeakStats) => void)[] = [];

  constructor(
    readonly backend: string,
    readonly child: ChildProcess,
  ) {
    child.stderr!.setEncoding("utf8").on("data", (text: string) => (this.stderr += text));
    this.port = new Promise((ok, fail) => {
      child.once("exit", (code) => fail(new Error(`the ${backend} leak app exited (${code}): ${this.stderr}`)));
      child.on("message", (message: { port?: number; stats?: LeakStats }) => {
        if (message.port !== undefined) ok(message.port);
        if (message.stats !== undefined) this.waiting.shift()?.(message.stats);
      });
    });
  }

  /** Starts the leak app on `backend` (a vsgi backend, or `node:http`), with node's `flags`. */
  static start(backend: string, flags: string[] = []): LeakApp {
    return new LeakApp(backend, fork(LEAK_APP, [backend], { execArgv: ["--expose-gc", ...flags], stdio: ["ignore", "ignore", "pipe", "ipc"] }));
  }

  stats(): Promise<LeakStats> {
    return new Promise((ok) => {
      this.waiting.push(ok);
      this.child.send("stats");
    });
  }

  /** The stats once every handler started has finished (the last aborts take a moment to land). */
  async idle(expected: number): Promise<LeakStats> {
    for (let i = 0; ; i++) {
      const s = await this.stats();
      if ((s.finished >= expected && s.started === s.finished) || i === 100) return s;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    await once(this.child, "exit");
  }
}
