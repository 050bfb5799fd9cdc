// The package as a user gets it: `npm pack` on an unbuilt copy of this project (prepack must
// build it), the tarball installed into a new TypeScript project set up as
// docs/getting-started.md says, compiled with TypeScript 7 and run. Slow (npm, two builds, an
// install): one packing serves every test of the file.
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { execFile, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../helpers/ports.js";
import { start, type Program } from "../helpers/process.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const TSC = join(ROOT, "node_modules/.bin/tsc");
const SLOW = 300_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// The environment of a user's shell: without the npm_* variables that `npm test` sets for its
// script, which a nested npm would read as its own configuration.
const USER_ENV = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== "INIT_CWD"),
);

function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((ok) => {
    execFile(command, args, { cwd, env: USER_ENV, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      ok({ code, stdout, stderr });
    });
  });
}

async function mustRun(command: string, args: string[], cwd: string): Promise<Run> {
  const r = await run(command, args, cwd);
  if (r.code !== 0) throw new Error(`${command} ${args.join(" ")} failed (${r.code}) in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** A code block of docs/getting-started.md, by the file name on its first line. */
function documented(file: string): string {
  const page = readFileSync(join(ROOT, "docs/getting-started.md"), "utf8");
  const block = [...page.matchAll(/```\w*\n(\/\/ ([\w.]+)\n[\s\S]*?)```/g)].find((m) => m[2] === file);
  if (!block) throw new Error(`docs/getting-started.md has no code block starting with // ${file}`);
  return block[1]!;
}

// A module for the vsgi command: it exports the application and starts nothing itself.
const HANDLER = `import { Router } from "valum";

const app = new Router();
app.get("/", (req, res) => res.expandUtf8("served by vsgi"));
export default app;
`;

const WRONG = `import { Router } from "valum";

const app = new Router();
app.get("/users/<int:id>", (req, res, next, ctx) => res.expandUtf8(ctx.id.toUpperCase()));
`;

let work: string;
let user: string;
let packed: { filename: string; files: { path: string }[] };
let installLog: string;
let compiled: Run;
const running: Program[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "valum-package-"));
  // An unbuilt clone: the project without dist/ (nor .git), with this project's dependencies.
  const clone = join(work, "valum");
  cpSync(ROOT, clone, {
    recursive: true,
    filter: (src) => !["node_modules", "dist", ".git"].includes(relative(ROOT, src).split(/[\\/]/)[0]!),
  });
  symlinkSync(realpathSync(join(ROOT, "node_modules")), join(clone, "node_modules"), "dir");
  const pack = await mustRun("npm", ["pack", "--json", "--pack-destination", work], clone);
  packed = (JSON.parse(pack.stdout) as (typeof packed)[])[0]!;

  user = join(work, "app");
  mkdirSync(user);
  writeFileSync(join(user, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }, null, 2));
  writeFileSync(join(user, "tsconfig.json"), documented("tsconfig.json"));
  writeFileSync(join(user, "app.ts"), documented("app.ts"));
  writeFileSync(join(user, "handler.ts"), HANDLER);
  // As the page says: the tarball, then @types/node (the version this project builds with, so
  // that the npm cache of this project's own install has it).
  const typesNode = (JSON.parse(readFileSync(join(ROOT, "node_modules/@types/node/package.json"), "utf8")) as { version: string }).version;
  const quiet = ["--prefer-offline", "--no-audit", "--no-fund"];
  await mustRun("npm", ["install", ...quiet, `../${packed.filename}`], user);
  await mustRun("npm", ["install", ...quiet, "--save-dev", `@types/node@${typesNode}`], user);
  await mustRun("npm", ["install-scripts", "deny", "valum"], user);
  // From the lock file now written, as a CI or a colleague installs it.
  rmSync(join(user, "node_modules"), { recursive: true });
  const ci = await mustRun("npm", ["ci", ...quiet], user);
  installLog = ci.stdout + ci.stderr;
  compiled = await run(TSC, ["-p", "tsconfig.json"], user);
}, SLOW);

afterAll(() => {
  for (const p of running) p.kill("SIGKILL");
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("holds the built code, its declarations and sources, and no tests, examples or benchmarks", () => {
    const paths = packed.files.map((f) => f.path);
    for (const p of ["package.json", "README.md", "dist/valum/index.js", "dist/valum/index.d.ts", "dist/vsgi/index.js",
      "dist/servers/http/index.js", "dist/bin/vsgi.js", "valum/index.ts", "vsgi/index.ts"]) {
      expect(paths).toContain(p);
    }
    expect(paths.filter((p) => /(^|\/)(test|tests|examples|bench)\//.test(p))).toEqual([]);
    expect(paths.filter((p) => /\.test\.|\.tsbuildinfo$/.test(p))).toEqual([]);
  });

  it("ships every source that a source map or declaration map points at", () => {
    const installed = join(user, "node_modules/valum");
    const maps = packed.files.map((f) => f.path).filter((p) => p.endsWith(".map"));
    expect(maps.length).toBeGreaterThan(0);
    expect(maps.filter((p) => p.endsWith(".d.ts.map")).length).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources, sourceRoot = "" } = JSON.parse(readFileSync(join(installed, map), "utf8")) as { sources: string[]; sourceRoot?: string };
      for (const source of sources) {
        const target = resolve(dirname(join(installed, map)), sourceRoot, source);
        if (!target.startsWith(installed + "/") || !existsSync(target)) missing.push(`${map} -> ${source}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("installs from the tarball without a warning, once its prepare is denied as the docs say", () => {
    expect(installLog).not.toMatch(/warn|ERR/i);
    expect(readdirSync(join(user, "node_modules/valum/dist"))).toEqual(expect.arrayContaining(["bin", "servers", "valum", "vsgi"]));
  });
});

describe("the application of docs/getting-started.md, set up as the page says", () => {
  it("compiles against the package's declarations with TypeScript 7", () => {
    expect(compiled.stdout + compiled.stderr).toBe("");
    expect(compiled.code).toBe(0);
    expect(existsSync(join(user, "dist/app.js"))).toBe(true);
  }, SLOW);

  it("fails to compile a wrong use of a typed rule parameter", async () => {
    writeFileSync(join(user, "wrong.ts"), WRONG);
    try {
      const r = await run(TSC, ["-p", "tsconfig.json", "--noEmit"], user);
      expect(r.code).not.toBe(0);
      expect(r.stdout).toMatch(/wrong\.ts\(4,\d+\): error TS2339: Property 'toUpperCase' does not exist on type 'number'/);
      // Only the wrong use fails: the rest of the project still type-checks.
      expect(r.stdout.trim().split("\n").filter((l) => /error TS/.test(l))).toHaveLength(1);
    } finally {
      rmSync(join(user, "wrong.ts"));
    }
  }, SLOW);

  it("runs: the compiled application answers on the port given with -p, and stops on SIGTERM", async () => {
    const port = await freePort();
    const app = start(join(user, "dist/app.js"), ["-p", String(port)]);
    running.push(app);
    await app.waitFor(/Listening on/);
    const hello = await fetch(`http://127.0.0.1:${port}/`);
    expect(hello.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await hello.text()).toBe("Hello world!");
    const user7 = await fetch(`http://127.0.0.1:${port}/users/7`);
    expect(user7.status).toBe(200);
    expect(await user7.text()).toBe("user 7");
    expect((await fetch(`http://127.0.0.1:${port}/users/0`)).status).toBe(404);
    const me = await fetch(`http://127.0.0.1:${port}/me`, { redirect: "manual" });
    expect(me.status).toBe(302);
    expect(me.headers.get("location")).toBe("/users/42");
    app.kill("SIGTERM");
    expect(await app.exited).toBe(0);
  }, SLOW);

  it("serves a module with the package's vsgi command", async () => {
    const port = await freePort();
    const bin = join(user, "node_modules/.bin/vsgi");
    // Started as a user's shell does: through the bin link, its shebang and its mode.
    const child = spawn(bin, ["http", "dist/handler.js", "-p", String(port)], { cwd: user, env: USER_ENV, stdio: ["ignore", "pipe", "pipe"] });
    try {
      let out = "";
      await new Promise<void>((ok, fail) => {
        // The framework's own lines (listening, workers, errors) go to standard error.
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
          out += chunk;
          if (/Listening on/.test(out)) ok();
        });
        child.on("exit", (code) => fail(new Error(`vsgi exited (${code}): ${out}`)));
        child.on("error", fail);
      });
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(await res.text()).toBe("served by vsgi");
    } finally {
      const exited = new Promise((ok) => child.once("exit", (code, signal) => ok(code ?? signal)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  }, SLOW);
});
