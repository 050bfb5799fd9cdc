// `vsgi --live-reload`: a supervisor that runs the application as a child `vsgi` (which loads the
// module and runs the backend, workers included) and sends it SIGHUP when a file under the
// module's folder changes. The child's `run` then does its zero-downtime reload: a worker process
// loads the new code and takes the listening sockets over before the old code stops, so no
// request sees a closed port, and new code that cannot start leaves the old one serving (the
// child logs why). A reload rather than a restart of the child, because a stopped child closes
// its port (or stops accepting on fd 0) until the next one listens; a process for the new code,
// because an ES module once imported cannot be imported again in the same process. The child
// inherits the standard streams, fd 0 included, so the listening socket lighttpd's bin-path or
// spawn-fcgi hands over stays the same, and the sockets of systemd's socket activation (see
// `activatedSockets`); a child that has exited is started afresh on a change.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { watch } from "node:fs";
import { sep } from "node:path";

/** How long the folder must be quiet before a reload: an editor's save is several events. */
export const RELOAD_DEBOUNCE_MS = 100;

type Exit = [number | null, NodeJS.Signals | null];

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * How many sockets systemd passed this process (socket activation: LISTEN_FDS from fd 3, when
 * LISTEN_PID is this process), for the child to serve: it gets them at the same descriptors,
 * and LISTEN_PID names it, set by `sh -c 'LISTEN_PID=$$ exec ...'` since a pid is known only once
 * the process exists (what systemd-socket-activate does itself). This process never closes them:
 * a child started again after an exit serves the same sockets.
 */
function activatedSockets(): number {
  const count = Number(process.env.LISTEN_FDS);
  return Number(process.env.LISTEN_PID) === process.pid && Number.isSafeInteger(count) && count > 0 ? count : 0;
}

function say(line: string): void {
  process.stderr.write(`vsgi: ${line}\n`);
}

/**
 * Runs `node script args` under supervision, reloading it (SIGHUP) on changes under `folder`
 * (`node_modules` ignored), or starting it again if it has exited; resolves with the exit status
 * once stopped by SIGTERM or SIGINT, or once the first child exits on its own before any change.
 *
 * @example process.exitCode = await superviseReloading("/srv/app", "/usr/lib/vsgi.js", ["app.js"]);
 */
export async function superviseReloading(folder: string, script: string, args: readonly string[]): Promise<number> {
  let child!: ChildProcess;
  let exited!: Promise<Exit>;
  // Whether this child was sent SIGHUP: dying of it means it had not yet taken the signal over
  // from node's default (it was still loading), not that it failed.
  let hupped = false;
  // Until the first change, the child ending on its own is the command ending (a module's
  // mistake: its one line is on stderr already); after it, a mistake is being fixed, and the
  // next change starts the application again.
  let changedYet = false;
  let stopping = false;
  let settle: (code: number) => void = () => undefined;
  const result = new Promise<number>((ok) => (settle = ok));

  const activated = activatedSockets();
  const launch = (): void => {
    const started =
      activated === 0
        ? spawn(process.execPath, [script, ...args], { stdio: "inherit" })
        : spawn("/bin/sh", ["-c", 'LISTEN_PID=$$ exec "$0" "$@"', process.execPath, script, ...args], {
            stdio: ["inherit", "inherit", "inherit", ...Array.from({ length: activated }, (_, i) => 3 + i)],
          });
    child = started;
    hupped = false;
    exited = once(started, "exit") as Promise<Exit>;
    void exited.then(([code, signal]) => {
      if (stopping || started !== child) return;
      if (signal === "SIGHUP" && hupped) {
        say("the application was still starting; starting it again");
        launch();
      } else if (!changedYet) {
        stopping = true;
        settle(code ?? 1);
      } else {
        say(`the application exited (${signal ?? code}); waiting for a change`);
      }
    });
  };

  // What a change (or a SIGHUP to this process) does: the running child reloads, an exited one
  // is started again.
  const reload = (what: string): void => {
    if (stopping) return;
    changedYet = true;
    if (alive(child)) {
      say(`${what}, reloading`);
      hupped = true;
      child.kill("SIGHUP");
    } else {
      say(`${what}, restarting`);
      launch();
    }
  };

  launch();
  let timer: NodeJS.Timeout | undefined;
  const changed = new Set<string>();
  const watcher = watch(folder, { recursive: true }, (_event, name) => {
    if (name === null) return;
    const file = name.toString();
    if (file.split(sep).includes("node_modules")) return;
    changed.add(file);
    clearTimeout(timer);
    timer = setTimeout(() => {
      const names = [...changed].join(", ");
      changed.clear();
      reload(`${names} changed`);
    }, RELOAD_DEBOUNCE_MS);
  });

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    clearTimeout(timer);
    if (!alive(child)) {
      settle(0);
      return;
    }
    child.kill(signal);
    void exited.then(([code]) => settle(code ?? 0));
  };
  const onHangUp = (): void => reload("SIGHUP");
  // SIGUSR1 (reopen the logs) is the application's: with a listener node starts no inspector.
  const forward = (signal: NodeJS.Signals): void => {
    if (alive(child)) child.kill(signal);
  };
  process.on("SIGTERM", stop).on("SIGINT", stop).on("SIGHUP", onHangUp).on("SIGUSR1", forward);
  try {
    return await result;
  } finally {
    watcher.close();
    process.off("SIGTERM", stop).off("SIGINT", stop).off("SIGHUP", onHangUp).off("SIGUSR1", forward);
  }
}
