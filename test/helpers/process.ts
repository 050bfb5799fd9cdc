import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

/** The compiled file of a test fixture or example, by its path under dist/. */
export function distPath(relative: string): string {
  return fileURLToPath(new URL(`../../${relative}`, import.meta.url));
}

/**
 * Whether a process of this pid exists (signal 0 checks without sending anything).
 *
 * @example expect(alive(Number(pid))).toBe(false);
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Which output of a program to read. */
export type Stream = "stdout" | "stderr";

/** A program started by a test, with its output collected. */
export interface Program {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /**
   * Resolves with the first match of `pattern` in one output: standard error by default, where
   * the framework logs (`Listening on ...`).
   */
  waitFor(pattern: RegExp, stream?: Stream): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Starts `node script args` and collects what it prints.
 *
 * @example const app = start(distPath("test/fixtures/app.js"), ["-p", "0"]);
 */
export function start(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Program {
  return startCommand(process.execPath, [script, ...args], env);
}

/**
 * Starts any `command args` (a program that starts node in turn: spawn-fcgi, a front server)
 * and collects what it prints.
 *
 * @example const app = startCommand("spawn-fcgi", ["-n", "-p", String(port), "--", process.execPath, BIN, "scgi", APP]);
 */
export function startCommand(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Program {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const text: Record<Stream, string> = { stdout: "", stderr: "" };
  const waiters: { pattern: RegExp; stream: Stream; resolve: (m: RegExpMatchArray) => void }[] = [];
  for (const stream of ["stdout", "stderr"] as const) {
    child[stream]!.setEncoding("utf8").on("data", (chunk: string) => {
      text[stream] += chunk;
      for (const w of waiters.slice()) {
        if (w.stream !== stream) continue;
        const m = w.pattern.exec(text[stream]);
        if (m) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
  }
  const exited = once(child, "exit").then(([code, signal]) => (code ?? signal) as number | string);
  return {
    child,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    waitFor(pattern, stream = "stderr") {
      const m = pattern.exec(text[stream]);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, stream, resolve });
        void exited.then((code) => reject(new Error(`exited (${code}) before printing ${pattern} on ${stream}: ${text.stdout}\n${text.stderr}`)));
      });
    },
    exited,
    kill(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
