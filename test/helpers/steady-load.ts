// A client that keeps asking while a test reloads the program that answers, for the tests of
// zero-downtime reloads (SIGHUP, `vsgi --live-reload`): every answer and every failure kept.
import { Agent, request } from "node:http";
import { ask, KeptAjpConnection, type AskableBackend } from "./ask.js";
import type { Program } from "./process.js";

/**
 * `GET path` through `agent` (which keeps its connection alive between requests): "STATUS BODY".
 *
 * @example const agent = new Agent({ keepAlive: true }); expect(await askKept(agent, port, "/")).toBe("200 v1");
 */
export function askKept(agent: Agent, port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c));
      res.on("end", () => resolve(`${res.statusCode} ${body}`));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** What `steadyLoad` collects. */
export interface SteadyLoad {
  /** Each answer, "STATUS BODY", in order. */
  answers: string[];
  /** Each failed request's error message. */
  failures: string[];
  /** Ends the loop after the request on its way. */
  stop(): Promise<void>;
}

/**
 * A client that sends `GET path` one request after another until stopped, each on a new
 * connection (or, `kept`, on one kept-alive connection for as long as the server keeps it: an
 * http agent, or an AJP connection pooled as Apache pools them).
 *
 * @example const load = steadyLoad("scgi", port, "/version"); await more(load.answers, 5); await load.stop();
 */
export function steadyLoad(backend: AskableBackend, port: number, path: string, kept = false): SteadyLoad {
  const agent = kept && backend !== "ajp" ? new Agent({ keepAlive: true, maxSockets: 1 }) : null;
  const ajp = kept && backend === "ajp" ? new KeptAjpConnection(port) : null;
  const once = (): Promise<string> => {
    if (agent !== null) return askKept(agent, port, path);
    if (ajp !== null) return ajp.ask(path);
    return ask(backend, port, path);
  };
  const answers: string[] = [];
  const failures: string[] = [];
  let going = true;
  const loop = (async () => {
    while (going) {
      try {
        answers.push(await once());
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  })();
  return {
    answers,
    failures,
    stop: async () => {
      going = false;
      await loop;
      agent?.destroy();
      ajp?.close();
    },
  };
}

/**
 * Resolves once `answers` grew by `count`.
 *
 * @example await more(load.answers, 6);
 */
export async function more(answers: string[], count: number): Promise<void> {
  const target = answers.length + count;
  while (answers.length < target) await new Promise((r) => setTimeout(r, 10));
}

/**
 * How many times `pattern` occurs in the program's standard error.
 *
 * @example expect(count(p, /reloaded: /)).toBe(2);
 */
export function count(p: Program, pattern: RegExp): number {
  return p.stderr().match(new RegExp(pattern.source, "g"))?.length ?? 0;
}

/**
 * Resolves once `pattern` occurred `times` times on standard error; rejects if the program exits first.
 *
 * @example await logged(p, /reloaded: /, 1);
 */
export async function logged(p: Program, pattern: RegExp, times: number): Promise<void> {
  while (count(p, pattern) < times) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`exited before ${pattern} ×${times}:\n${p.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Waits for the `reloads`-th `reloaded:` line, then returns the answers that came after it
 * (past the one request that may have been on its way then, served by the old code): what
 * only the new code answered.
 *
 * @example expect(await answersAfterReload(p, load, 1)).toEqual(Array(6).fill("200 v1"));
 */
export async function answersAfterReload(p: Program, load: SteadyLoad, reloads: number): Promise<string[]> {
  await logged(p, /reloaded: /, reloads);
  const mark = load.answers.length + 1;
  await more(load.answers, 6);
  return load.answers.slice(mark);
}
