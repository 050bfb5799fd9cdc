// The example configurations of examples/deploy/ are what the templates (which the interop suite
// runs) write: regenerate them with `node dist/examples/deploy/generate.js` after a change.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, expect } from "@jest/globals";
import { EXAMPLES, SOURCE_DIR } from "../../examples/deploy/generate.js";

describe("examples/deploy", () => {
  it.each(EXAMPLES.map((e) => [e.file, e] as const))("%s is up to date with the templates", (_file, e) => {
    expect(readFileSync(join(SOURCE_DIR, e.file), "utf8")).toBe(e.render(e.config));
  });
});
