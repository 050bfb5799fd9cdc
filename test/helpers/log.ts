import { beforeAll, afterAll, beforeEach } from "@jest/globals";
import { setErrorLogger, logError } from "../../vsgi/index.js";

/**
 * Runs `fn` with the gateway layer's error logger replaced by one that keeps each line (message
 * and error message) for the test to assert, so expected errors print no stack into the run.
 *
 * @example const lines = await capturingErrors(() => send(port, "GET", "/")); expect(lines).toEqual([...]);
 */
export async function capturingErrors(fn: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const previous = logError;
  setErrorLogger((message, error) => lines.push(error === undefined ? message : `${message} ${error instanceof Error ? error.message : String(error)}`));
  try {
    await fn();
  } finally {
    setErrorLogger(previous);
  }
  return lines;
}

/**
 * For the tests of a `describe` block (or of a file): the lines the gateway layer logs, kept
 * instead of printed and emptied before each test, the logger put back after the last.
 *
 * @example const logged = loggedLines(); ... expect(logged.join("\n")).toMatch(/headTimeout/);
 */
export function loggedLines(): string[] {
  const lines: string[] = [];
  let previous = logError;
  beforeAll(() => {
    previous = logError;
    setErrorLogger((message) => lines.push(message));
  });
  afterAll(() => setErrorLogger(previous));
  beforeEach(() => {
    lines.length = 0;
  });
  return lines;
}

/**
 * Runs `check`; when it fails, what `trace()` returns (the output of the processes involved: a
 * flaky failure's only trace) is appended to the error's message.
 *
 * @example it("answers", () => explained(() => front.log(), async () => { ... }));
 */
export async function explained(trace: () => string, check: () => Promise<void>): Promise<void> {
  try {
    await check();
  } catch (err) {
    const text = trace();
    if (text !== "") (err as Error).message += `\n${text}`;
    throw err;
  }
}
