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
