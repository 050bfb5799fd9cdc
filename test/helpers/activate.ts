// systemd-socket-activate (Debian's systemd package) as a test runs it: it binds the sockets and
// starts the program at the first connection with LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES, as a
// systemd .socket unit does.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";

export const ACTIVATE = "systemd-socket-activate";

/**
 * Whether systemd-socket-activate is installed; in CI (`CI=true`) a missing one throws (the
 * systemd package is in .ci/run's apt line): its tests are never skipped silently there.
 */
export function activationAvailable(): boolean {
  const found = spawnSync(ACTIVATE, ["--version"]).status === 0;
  if (!found && process.env.CI === "true") throw new Error(`${ACTIVATE} is not installed: the systemd package is in .ci/run's apt line`);
  return found;
}

/** systemd-socket-activate running a program, with what it printed. */
export interface Activated {
  child: ChildProcess;
  stderr(): string;
  /** Resolves when standard error holds `text`; rejects if the program ends first. */
  waitFor(text: string): Promise<void>;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  /** SIGTERM (if still running), then waits for the end. */
  stop(): Promise<void>;
}

/**
 * Starts `systemd-socket-activate -l ADDRESS... [--fdname=NAMES] [-E NAME=VALUE...] COMMAND...`
 * and waits until it listens (it starts the program at the first connection). The program gets
 * only the variables of `env` (and LISTEN_*), as under systemd.
 *
 * @example const run = await activate(["127.0.0.1:9001"], [process.execPath, "app.js"]);
 */
export async function activate(listen: string[], command: string[], env: Record<string, string> = {}, fdnames?: string): Promise<Activated> {
  const args = [
    ...listen.flatMap((l) => ["-l", l]),
    ...(fdnames !== undefined ? [`--fdname=${fdnames}`] : []),
    ...Object.entries(env).map(([name, value]) => `-E${name}=${value}`),
    ...command,
  ];
  const child = spawn(ACTIVATE, args, { stdio: ["ignore", "ignore", "pipe"] });
  let text = "";
  const waiters: { text: string; ok: () => void }[] = [];
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    text += chunk;
    for (const w of waiters.slice()) {
      if (text.includes(w.text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.ok();
      }
    }
  });
  const exited = once(child, "exit").then(([code, signal]) => (code ?? signal) as number | string);
  const waitFor = (wanted: string): Promise<void> =>
    text.includes(wanted)
      ? Promise.resolve()
      : new Promise((ok, fail) => {
          waiters.push({ text: wanted, ok });
          void exited.then((code) => fail(new Error(`${ACTIVATE} exited (${code}) before printing ${wanted}:\n${text}`)));
        });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  try {
    for (const l of listen) await waitFor(`Listening on ${l} as`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { child, stderr: () => text, waitFor, exited, stop };
}
