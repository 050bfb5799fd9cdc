// The handler of the load test (load.test.ts), run by the launcher (launch.ts, option
// `"app": "load"`) on every backend: it hashes the request body (SHA-256) and answers the hash
// with the request's id (`X-Load-Id`), and appends the id to the file `invocations` of the test's
// folder (`X-Load-Dir`, a folder the test made under the temporary folder), one line per
// invocation, so that a request handled twice is seen even across processes (CGI) and workers.
import { createHash } from "node:crypto";
import { appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Request, Response } from "../../vsgi/index.js";

/** The start of every folder the load test makes for its invocation log. */
export const LOAD_DIR_PREFIX = join(tmpdir(), "valum-load-");

/**
 * Hashes the body, answers `{ id, length, sha256 }` and logs the invocation.
 *
 * @example await Server.new("scgi", { handler: loadHandler }).run(process.argv);
 */
export async function loadHandler(req: Request, res: Response): Promise<boolean> {
  const id = req.header("x-load-id");
  const dir = req.header("x-load-dir");
  if (id === null || !/^[0-9]{1,9}$/.test(id) || dir === null || !dir.startsWith(LOAD_DIR_PREFIX) || dir.includes("/..")) {
    res.status = 400;
    return res.expandUtf8("X-Load-Id (digits) and X-Load-Dir (the test's folder) are needed");
  }
  appendFileSync(join(dir, "invocations"), `${id}\n`);
  const hash = createHash("sha256");
  let length = 0;
  for await (const chunk of req.body) {
    hash.update(chunk as Buffer);
    length += (chunk as Buffer).length;
  }
  return res.expandJson({ id: Number(id), length, sha256: hash.digest("hex") });
}
