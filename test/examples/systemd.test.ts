// The systemd units of examples/deploy/systemd/: docs/deployment.md shows each one whole,
// systemd-analyze accepts them, and each service's ExecStart, with the paths of this checkout put
// in, serves its socket unit's socket under systemd-socket-activate and stops on KillSignal.
import { describe, it, expect, afterAll } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { distPath } from "../helpers/process.js";
import { freePort } from "../helpers/ports.js";
import { send } from "../helpers/http.js";
import { scgiRequest } from "../helpers/scgi-client.js";
import { activate, activationAvailable } from "../helpers/activate.js";

const UNITS = distPath("../examples/deploy/systemd");
const DOC = distPath("../docs/deployment.md");
const units = readdirSync(UNITS).filter((f) => /\.(socket|service)$/.test(f)).sort();
const services = units.filter((f) => f.endsWith(".service"));

/** The settings of a unit file: name to values, in order (a setting may repeat). */
function settings(file: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of readFileSync(join(UNITS, file), "utf8").split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m === null) continue;
    found.set(m[1]!, [...(found.get(m[1]!) ?? []), m[2]!]);
  }
  return found;
}

function one(unit: Map<string, string[]>, name: string): string {
  const values = unit.get(name);
  if (values === undefined || values.length !== 1) throw new Error(`expected one ${name}=, got ${JSON.stringify(values)}`);
  return values[0]!;
}

// Where the units say the app is installed, and what stands for it in this checkout.
const INSTALLED: [string, string][] = [
  ["/usr/bin/node", process.execPath],
  ["/srv/app/node_modules/.bin/vsgi", distPath("bin/vsgi.js")],
  ["/srv/app/dist/app.js", distPath("test/fixtures/router-app.js")],
];

describe("examples/deploy/systemd", () => {
  it("has a .socket and a .service for scgi and for http", () => {
    expect(units).toEqual(["valum-http.service", "valum-http.socket", "valum-scgi.service", "valum-scgi.socket"]);
  });

  it.each(units)("docs/deployment.md shows %s as it is", (file) => {
    const text = readFileSync(join(UNITS, file), "utf8");
    expect(readFileSync(DOC, "utf8")).toContain("```ini\n" + text + "```\n");
  });

  it.each(services)("%s: TimeoutStopSec outlasts --stop-timeout, KillMode=mixed, reload by SIGHUP", (file) => {
    const unit = settings(file);
    const stopTimeout = /--stop-timeout (\d+)/.exec(one(unit, "ExecStart"));
    expect(stopTimeout).not.toBeNull();
    expect(Number.parseInt(one(unit, "TimeoutStopSec"), 10)).toBeGreaterThan(Number(stopTimeout![1]));
    expect(one(unit, "KillSignal")).toBe("SIGTERM");
    expect(one(unit, "KillMode")).toBe("mixed");
    expect(one(unit, "ExecReload")).toBe("/bin/kill -HUP $MAINPID");
    // The socket unit it is started by: one service for every connection.
    const socket = settings(file.replace(/\.service$/, ".socket"));
    expect(one(socket, "Accept")).toBe("no");
    expect(one(unit, "Requires")).toBe(file.replace(/\.service$/, ".socket"));
  });

  const analyze = spawnSync("systemd-analyze", ["--version"]).status === 0;
  (analyze ? it : it.skip)("systemd-analyze verify accepts every unit", () => {
    const r = spawnSync("systemd-analyze", ["verify", "--man=no", ...units.map((f) => join(UNITS, f))], { encoding: "utf8", timeout: 60_000 });
    // It warns about what this machine lacks (the user valum, /srv/app): only errors count.
    expect({ status: r.status, errors: r.stderr.split("\n").filter((l) => /error|invalid|unknown/i.test(l)) }).toEqual({ status: 0, errors: [] });
  }, 90_000);
});

const available = activationAvailable();
(available ? describe : describe.skip)("each service's ExecStart under systemd-socket-activate", () => {
  const dir = mkdtempSync(join(tmpdir(), "valum-systemd-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(services)("%s serves its socket, named, and stops on KillSignal with status 0", async (file) => {
    const service = settings(file);
    const socket = settings(file.replace(/\.service$/, ".socket"));
    let command = one(service, "ExecStart");
    for (const [installed, here] of INSTALLED) command = command.split(installed).join(here);
    const argv = command.split(" ");
    const backend = argv[argv.indexOf("--server") + 1]!;
    // The socket unit's address, moved to a temporary folder or a free loopback port.
    const stream = one(socket, "ListenStream");
    const listen = stream.startsWith("/") ? join(dir, `${backend}.sock`) : `127.0.0.1:${await freePort()}`;
    const env = Object.fromEntries((service.get("Environment") ?? []).map((e) => e.split("=", 2) as [string, string]));
    const run = await activate([listen], argv, env, one(socket, "FileDescriptorName"));
    try {
      const res = await (backend === "scgi"
        ? scgiRequest({ path: listen }, { method: "GET", target: "/users/41" })
        : send(Number(listen.split(":")[1]), "GET", "/users/41")
      ).catch((err: Error) => {
        throw new Error(`${err.message}; the service said:\n${run.stderr()}`);
      });
      expect({ status: res.status, body: res.body.toString() }).toEqual({ status: 200, body: "user 42" });
      await run.waitFor(`Listening on '${backend}+fd://3/?name=${one(socket, "FileDescriptorName")}'`);
      run.child.kill(one(service, "KillSignal") as NodeJS.Signals);
      expect(await run.exited).toBe(0);
    } finally {
      await run.stop();
    }
  }, 90_000);
});
