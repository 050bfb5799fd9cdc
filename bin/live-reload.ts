// `vsgi --live-reload`: a supervisor that runs the application as a child `vsgi` (which loads the
// module and runs the backend, workers included) and starts a fresh one when a file under the
// module's folder changes. A fresh process, because an ES module once imported cannot be
// imported again in the same process. The child inherits the standard streams, fd 0 included,
// so the listening socket lighttpd's bin-path or spawn-fcgi hands over stays the same.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { watch } from "node:fs";
import { sep } from "node:path";

/** How long the folder must be quiet before a restart: an editor's save is several events. */
export const RELOAD_DEBOUNCE_MS = 100;

/**
 * Runs `node script args` under supervision, restarting it on changes under `folder`
 * (`node_modules` ignored); resolves with the exit status once stopped by SIGTERM or SIGINT.
 *
 * @example process.exitCode = await superviseReloading("/srv/app", "/usr/lib/vsgi.js", ["app.js"]);
 */
export async function superviseReloading(folder: string, script: string, args: readonly string[]): Promise<number> {
  const start = (): ChildProcess => spawn(process.execPath, [script, ...args], { stdio: "inherit" });
  let child = start();
  let exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  const changed = new Set<string>();
  let replaced: ChildProcess | undefined; // the child a restart stops: its exit is expected

  const restart = async (): Promise<void> => {
    if (stopping) return;
    process.stderr.write(`vsgi: ${[...changed].join(", ")} changed, restarting\n`);
    changed.clear();
    replaced = child;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM"); // a graceful stop: the listeners close before the new child binds
      await exited;
    }
    if (stopping) return;
    child = start();
    exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
    void watchExit(child, exited, true);
  };
  // A restart chain: a change while the previous restart still waits for its child is queued.
  let restarting = Promise.resolve();
  const watcher = watch(folder, { recursive: true }, (_event, name) => {
    if (name === null) return;
    const file = name.toString();
    if (file.split(sep).includes("node_modules")) return;
    changed.add(file);
    clearTimeout(timer);
    timer = setTimeout(() => {
      restarting = restarting.then(restart);
    }, RELOAD_DEBOUNCE_MS);
  });

  // The first child ending on its own is the command ending (a module's mistake: its one line
  // is on stderr already); a restarted one failing, as while a mistake is being fixed, waits for
  // the next change.
  const watchExit = async (which: ChildProcess, done: typeof exited, restarted: boolean): Promise<void> => {
    const [code, signal] = await done;
    if (stopping || which !== child || which === replaced) return;
    if (!restarted) {
      stopping = true;
      settle(code ?? 1);
      return;
    }
    process.stderr.write(`vsgi: the application exited (${signal ?? code}); waiting for a change\n`);
  };
  let settle: (code: number) => void = () => undefined;
  const result = new Promise<number>((ok) => (settle = ok));
  void watchExit(child, exited, false);

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    clearTimeout(timer);
    if (child.exitCode !== null || child.signalCode !== null) {
      settle(0);
      return;
    }
    child.kill(signal);
    void exited.then(([code]) => settle(code ?? 0));
  };
  // SIGHUP (a reload) and SIGUSR1 (reopen the logs) are the application's: node's default would
  // end this process on the first and start an inspector on the second.
  const forward = (signal: NodeJS.Signals): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  process.on("SIGTERM", stop).on("SIGINT", stop).on("SIGHUP", forward).on("SIGUSR1", forward);
  try {
    return await result;
  } finally {
    watcher.close();
    process.off("SIGTERM", stop).off("SIGINT", stop).off("SIGHUP", forward).off("SIGUSR1", forward);
  }
}
