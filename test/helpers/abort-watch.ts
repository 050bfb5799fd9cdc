// What an application sees of a client that goes away in the middle of its upload: the error
// its body read fails with, and the request's abort signal. One handler for the abort tests of
// every backend (test/servers/aborts.test.ts), the CGI program (cgi-app.ts) included.
import type { Request, Response } from "../../vsgi/index.js";

/** What the handler saw: codes of the body error and of the signal's reason. */
export interface AbortSeen {
  /** The code of the error the body read failed with (its message when it has none); null when the body was read whole. */
  bodyError: string | null;
  /** `req.aborted` once the body failed. */
  aborted: boolean;
  /** Whether an abort listener registered before the upload was cut had run when the body failed. */
  signalFired: boolean;
  /** The code of `req.signal.reason`. */
  reason: string | null;
  /** The code of the error a write of the response fails with after the abort; null when it succeeds. */
  write: string | null;
}

function codeOf(error: unknown): string | null {
  if (error === undefined || error === null) return null;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : String((error as Error).message ?? error);
}

/**
 * A handler that reads the whole body, then writes, and tells `report` what it saw of the abort.
 *
 * @example const app = abortWatcher((seen) => resolve(seen));
 */
export function abortWatcher(report?: (seen: AbortSeen) => void, onStart?: () => void): (req: Request, res: Response) => Promise<boolean> {
  return async (req: Request, res: Response): Promise<boolean> => {
    let signalFired = false;
    req.signal.addEventListener("abort", () => (signalFired = true));
    onStart?.();
    let bodyError: string | null = null;
    try {
      await req.flatten();
    } catch (error) {
      bodyError = codeOf(error);
    }
    const reason = codeOf(req.signal.reason);
    const aborted = req.aborted;
    let write: string | null = null;
    try {
      await res.append("x");
    } catch (error) {
      write = codeOf(error);
    }
    report?.({ bodyError, aborted, signalFired, reason, write });
    return true;
  };
}
