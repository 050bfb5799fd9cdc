// The example configurations of examples/deploy/ are what the templates (which the interop suite
// runs) write: regenerate them with `node dist/examples/deploy/generate.js` after a change. And
// each front server accepts its example files as they are (its own config test), with only the
// run-time folder moved into a temporary one.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { EXAMPLES, SOURCE_DIR } from "../../examples/deploy/generate.js";
import { FRONT_SERVERS, frontServerAvailable, removeFolder, tempFolder, type FrontName } from "./harness.js";

describe("examples/deploy", () => {
  it.each(EXAMPLES.map((e) => [e.file, e] as const))("%s is up to date with the templates", (_file, e) => {
    expect(readFileSync(join(SOURCE_DIR, e.file), "utf8")).toBe(e.render(e.config));
  });
});

const CONFIG_TEST: Record<FrontName, (conf: string, dir: string) => string[]> = {
  lighttpd: (conf) => ["-tt", "-f", conf],
  nginx: (conf, dir) => ["-t", "-p", dir, "-c", conf],
  apache: (conf) => ["-t", "-f", conf],
  haproxy: (conf) => ["-c", "-f", conf],
};

describe("examples/deploy accepted by the front servers", () => {
  // made when the tests run, not when they are collected: a run that filters them all out
  // (jest -t) runs no afterAll, and would leave the folder behind
  let dir = "";
  beforeAll(() => {
    dir = tempFolder("examples");
  });
  afterAll(() => {
    if (dir !== "") removeFolder(dir);
  });
  for (const e of EXAMPLES) {
    const front = (e.file.startsWith("lighttpd") ? "lighttpd" : e.file.startsWith("nginx") ? "nginx" : e.file.startsWith("apache") ? "apache" : "haproxy") as FrontName;
    if (!frontServerAvailable(front)) {
      it.skip(`${e.file}: ${front} is not installed`, () => undefined);
      continue;
    }
    it(`${front} accepts ${e.file}`, () => {
      const runDir = join(dir, e.file.replace(/\W/g, "_"));
      mkdirSync(runDir, { recursive: true });
      const conf = join(runDir, e.file);
      writeFileSync(conf, readFileSync(join(SOURCE_DIR, e.file), "utf8").split(e.config.runDir).join(runDir));
      const r = spawnSync(FRONT_SERVERS[front], CONFIG_TEST[front](conf, runDir), { encoding: "utf8" });
      expect({ status: r.status, output: r.status === 0 ? "" : r.stdout + r.stderr }).toEqual({ status: 0, output: "" });
    });
  }
});
