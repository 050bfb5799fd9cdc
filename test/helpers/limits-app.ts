// The application of the limit and timeout tests, the same on every backend: it reports what
// its handlers saw (the abort signal's reason) through `report`, a list in the test's process,
// or stderr in a CGI program.
import type { Request, Response, HandlerFunction } from "../../vsgi/index.js";

/** Resolves once the request's signal fires, with the code of its reason (`ERR_VSGI_...`). */
function aborted(req: Request): Promise<string> {
  const signal = req.signal;
  const code = (): string => String((signal.reason as { code?: string } | undefined)?.code ?? signal.reason);
  if (signal.aborted) return Promise.resolve(code());
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(code()), { once: true }));
}

/**
 * `/hang`: never answers, reports `aborted <code>` once its signal fires. `/hold`: the same,
 * after reporting `holding` as it starts. `/hang-after-head`:
 * writes its head and `partial`, then the same. `/quick`: answers `quick` after 20 ms. Anything
 * else: `fields <n> target <length>`, what the application saw of the head.
 *
 * @example const seen: string[] = []; serve(limitsApp((line) => seen.push(line)), { handlerTimeout: 200 });
 */
export function limitsApp(report: (line: string) => void): HandlerFunction {
  return async (req: Request, res: Response): Promise<boolean> => {
    if (req.path === "/hang") {
      report(`aborted ${await aborted(req)}`);
      return true;
    }
    if (req.path === "/hold") {
      report("holding");
      report(`aborted ${await aborted(req)}`);
      return true;
    }
    if (req.path === "/hang-after-head") {
      await res.append("partial");
      report(`aborted ${await aborted(req)}`);
      return true;
    }
    if (req.path === "/read") {
      try {
        report(`read ${(await req.flatten()).length}`);
      } catch (error) {
        report(`read failed ${(error as { code?: string }).code}`);
        throw error;
      }
      return res.end();
    }
    if (req.path === "/quick") {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return res.expandUtf8("quick");
    }
    return res.expandUtf8(`fields ${[...req.headers].length} target ${req.target.length}`);
  };
}
