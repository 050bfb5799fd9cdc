import { describe, it, expect, beforeAll, afterAll, afterEach } from "@jest/globals";
import { mkdtemp, mkdir, writeFile, rm } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { start, distPath, type Program } from "../helpers/process.js";
import { send } from "../helpers/http.js";
import { scgiRequest } from "../helpers/scgi-client.js";
import { freePort } from "../helpers/ports.js";
import { FastcgiClient, nginxParams, parseCgiResponse } from "../helpers/fastcgi-client.js";

const BIN = distPath("bin/vsgi.js");
const ROUTER_APP = distPath("test/fixtures/router-app.js");
let running: Program[] = [];
afterEach(() => {
  for (const p of running) p.kill("SIGKILL");
  running = [];
});
function vsgi(args: string[]): Program {
  const p = start(BIN, args);
  running.push(p);
  return p;
}

// Modules as a deployment writes them, in a folder of their own.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vsgi-bin-"));
  await writeFile(join(dir, "named.mjs"), "export const site = (req, res) => res.expandUtf8(`site ${req.path}`);\nexport const answer = 42;\n");
  await writeFile(join(dir, "object.mjs"), "export default { handle: (req, res) => res.expandUtf8('object') };\n");
  await writeFile(join(dir, "nothing.mjs"), "export const unrelated = 1;\n");
  await writeFile(join(dir, "broken.mjs"), "export default (;\n");
});
afterAll(async () => {
  await rm(dir, { recursive: true });
});

/** Resolves once the collected text of `stream` contains `text` (the line may trail the answer). */
function printed(stream: NodeJS.ReadableStream, seen: () => string, text: string): Promise<void> {
  return new Promise((ok) => {
    const check = (): void => {
      if (!seen().includes(text)) return;
      stream.off("data", check);
      ok();
    };
    stream.on("data", check);
    check();
  });
}

/** Serves with `args`, asks for `path`, stops the command and checks it left cleanly. */
async function serve(args: string[], path: string): Promise<string> {
  const p = vsgi(args);
  const [, port] = await p.waitFor(/Listening on 'http:\/\/127\.0\.0\.1:(\d+)\/'/);
  const body = (await send(Number(port), "GET", path)).body.toString();
  p.kill("SIGTERM");
  expect(await p.exited).toBe(0);
  return body;
}

/** Runs a command that must fail; returns its standard error after checking the exit code. */
async function fails(args: string[], code: number): Promise<string> {
  const p = vsgi(args);
  expect(await p.exited).toBe(code);
  expect(p.stdout()).toBe("");
  // one line naming what is wrong, no stack, no usage text
  expect(p.stderr()).toMatch(/^vsgi: [^\n]+\n$/);
  return p.stderr();
}

describe("the vsgi command", () => {
  it("serves a module's default export on http, passing the arguments after -- to the backend", async () => {
    expect(await serve([ROUTER_APP, "--", "-p", "0"], "/users/41")).toBe("user 42");
  });

  it("serves the named EXPORT of a module resolved against --directory", async () => {
    expect(await serve(["--server", "http", "--directory", dir, "named.mjs:site", "--", "-p", "0"], "/x")).toBe("site /x");
    expect(await serve(["--server=http", `--directory=${dir}`, "object.mjs", "--", "--port=0"], "/")).toBe("object");
  });

  it("keeps the shorthand SERVER MODULE [OPTION...]", async () => {
    expect(await serve(["http", ROUTER_APP, "-p", "0"], "/users/41")).toBe("user 42");
  });

  it("prints its usage with --help and the package's version with --version, without a MODULE", async () => {
    const help = vsgi(["--help"]);
    expect(await help.exited).toBe(0);
    expect(help.stdout()).toMatch(/Usage: vsgi \[--server NAME\] \[--directory DIR\] \[--live-reload\] MODULE\[:EXPORT\]/);
    expect(help.stdout()).toMatch(/--forks N/);
    const version = vsgi(["--version"]);
    expect(await version.exited).toBe(0);
    const pkg = JSON.parse(readFileSync(distPath("../package.json"), "utf8")) as { version: string };
    expect(version.stdout()).toBe(`${pkg.version}\n`);
  });

  it("refuses a bad command line with one line and exit 2", async () => {
    expect(await fails([], 2)).toMatch(/missing MODULE/);
    expect(await fails(["--bogus", ROUTER_APP], 2)).toMatch(/unknown option --bogus/);
    expect(await fails(["--server"], 2)).toMatch(/--server needs a value/);
    expect(await fails([ROUTER_APP, "-p", "0"], 2)).toMatch(/unexpected -p after MODULE: the backend's arguments go after --/);
    expect(await fails(["--live-reload=yes", ROUTER_APP], 2)).toMatch(/--live-reload takes no value/);
    expect(await fails(["http"], 2)).toMatch(/missing MODULE after http/);
  });

  it("with --live-reload, reloads the module when a file of its folder changes, node_modules ignored", async () => {
    const folder = join(dir, "live");
    await mkdir(join(folder, "node_modules"), { recursive: true });
    const version = (v: string) => `export default (req, res) => res.expandUtf8("${v}");\n`;
    await writeFile(join(folder, "app.mjs"), version("v1"));
    const p = vsgi(["--live-reload", "--directory", folder, "app.mjs", "--", "-p", "0"]);
    const [, port] = await p.waitFor(/Listening on 'http:\/\/127\.0\.0\.1:(\d+)\/'/);
    expect((await send(Number(port), "GET", "/")).body.toString()).toBe("v1");
    await writeFile(join(folder, "node_modules", "dep.js"), "export {};\n");
    await writeFile(join(folder, "app.mjs"), version("v2"));
    // the reload names what changed: never the file under node_modules
    const [reload] = await p.waitFor(/vsgi: [^\n]* changed, reloading\n/);
    expect(reload).toBe("vsgi: app.mjs changed, reloading\n");
    // the application's own reload: a worker with the new code takes over the same port
    await p.waitFor(/vsgi: reloaded: /);
    expect((await send(Number(port), "GET", "/")).body.toString()).toBe("v2");
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    expect(p.stderr().match(/changed, reloading/g)).toHaveLength(1);
    expect(p.stderr()).not.toMatch(/restarting/);
  });

  it("with --live-reload, a module that cannot serve at the start is the command failing", async () => {
    expect(await fails(["--live-reload", "--directory", dir, "absent.mjs"], 1)).toMatch(/no such module absent\.mjs/);
    expect(await fails(["--live-reload", "--directory", dir, "nothing.mjs"], 1)).toMatch(/nothing\.mjs has no default export/);
  });

  it("is the program spawn-fcgi starts: fastcgi on the socket it hands over as fd 0", async () => {
    const socket = join(dir, "fcgi.sock");
    const child = spawn("spawn-fcgi", ["-n", "-s", socket, "--", process.execPath, BIN, "--server", "fastcgi", "--directory", dir, "named.mjs:site"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const closed = once(child, "close");
    try {
      // spawn-fcgi binds the socket, then execs the program on it: polled, as nothing announces it
      for (let i = 0; i < 500 && !existsSync(socket) && child.exitCode === null; i++) await sleep(10);
      let client: FastcgiClient | null = null;
      for (let i = 0; i < 200 && client === null && child.exitCode === null; i++) {
        client = await FastcgiClient.connect({ path: socket }).catch(() => null);
        if (client === null) await sleep(20);
      }
      expect(client).not.toBeNull();
      try {
        const result = await client!.request({ params: nginxParams("GET", "/spawned"), keepConn: false });
        expect(parseCgiResponse(result.stdout).body.toString()).toBe("site /spawned");
      } finally {
        await client!.close();
      }
      // vsgi took the socket spawn-fcgi handed over as fd 0 (else the test times out here)
      await printed(child.stderr, () => stderr, "Listening on 'fastcgi+fd://0/'");
    } finally {
      child.kill("SIGTERM");
      await closed;
    }
  });

  it("runs under systemd socket activation: scgi on the LISTEN_FDS socket", async () => {
    const port = await freePort();
    const child = spawn("systemd-socket-activate", ["-l", `127.0.0.1:${port}`, process.execPath, BIN, "--server", "scgi", "--directory", dir, "named.mjs:site"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    const closed = once(child, "close");
    try {
      // systemd-socket-activate says when it listens, and starts vsgi at the first connection
      await new Promise<void>((ok, fail) => {
        child.stderr.setEncoding("utf8").on("data", (c: string) => {
          stderr += c;
          if (/Listening on/.test(stderr)) ok();
        });
        child.once("exit", (code) => fail(new Error(`systemd-socket-activate exited (${code}): ${stderr}`)));
      });
      const res = await scgiRequest({ port }, { method: "GET", target: "/activated" });
      expect(res.body.toString()).toBe("site /activated");
      // vsgi took systemd's socket, fd 3 (else the test times out here)
      await printed(child.stderr, () => stderr, "Listening on 'scgi+fd://3/'");
    } finally {
      child.kill("SIGTERM");
      await closed;
    }
  });

  it("names a module that cannot serve with one line and exit 1", async () => {
    expect(await fails(["/nonexistent/app.js"], 1)).toMatch(/no such module \/nonexistent\/app\.js/);
    expect(await fails(["--directory", dir, "absent.mjs"], 1)).toMatch(`no such module absent.mjs (looked for ${join(dir, "absent.mjs")})`);
    expect(await fails(["--directory", dir, "named.mjs:nope"], 1)).toMatch(/named\.mjs has no export "nope" \(it exports answer, site\)/);
    expect(await fails(["--directory", dir, "nothing.mjs"], 1)).toMatch(/nothing\.mjs has no default export/);
    expect(await fails(["--directory", dir, "named.mjs:answer"], 1)).toMatch(/export "answer" of named\.mjs is not a handler \(a number\)/);
    expect(await fails(["--directory", dir, "broken.mjs"], 1)).toMatch(/cannot load broken\.mjs: /);
    expect(await fails(["--server", "nosuch", ROUTER_APP], 1)).toMatch(/unknown server "nosuch": looked in/);
  });
});
