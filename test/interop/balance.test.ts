// Many machines: a front server balancing several hosts, each running the app with forked
// workers on its own address and allowing only the balancer. The hosts are loopback addresses
// (127.0.0.2, .3, .4); the configurations are the examples of examples/deploy/ (*-balance.*)
// rendered by the same templates, with the test's addresses and ports. Checked: every host gets
// requests, the responses are right, and with one host stopped every request still succeeds.
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { connect } from "node:net";
import { join } from "node:path";
import { EXAMPLES } from "../../examples/deploy/generate.js";
import type { Mount } from "../../examples/deploy/templates.js";
import { send } from "../helpers/http.js";
import { explained } from "../helpers/log.js";
import { DIST, Managed, frontServerAvailable, waitForPort, freePort, removeFolder, startFront, tempFolder, type Front, type FrontName } from "./harness.js";

const HOST_APP = join(DIST, "test/fixtures/host-app.js");
const ADDRESSES = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
const LONG = 120_000;

interface Host {
  name: string;
  address: string;
  port: number;
  proc: Managed;
}

/** Starts one host per address: `-a ADDRESS -p PORT --forks 1`, allowing only the balancer's address. */
async function startHosts(backend: Mount["backend"]): Promise<Host[]> {
  const hosts: Host[] = [];
  for (const [i, address] of ADDRESSES.entries()) {
    const port = await freePort();
    const name = `h${i + 1}`;
    const args = [HOST_APP, backend, JSON.stringify({ allow: ["127.0.0.1"] }), "-a", address, "-p", String(port), "--forks", "1"];
    const proc = new Managed(`${backend} host ${name}`, process.execPath, args, { cwd: DIST, env: { ...process.env, HOST_NAME: name } });
    hosts.push({ name, address, port, proc });
  }
  await Promise.all(hosts.map((h) => waitForPort(h.port, h.proc, h.name, h.address)));
  return hosts;
}

/** The mount of an example file, its hosts replaced by the test's (and its backend, for a variant). */
function exampleMount(file: string, hosts: Host[], backend?: Mount["backend"]): Mount {
  const example = EXAMPLES.find((e) => e.file === file);
  if (example === undefined) throw new Error(`no example ${file}`);
  const mount = { ...example.config.mounts[0]!, hosts: hosts.map((h) => ({ host: h.address, port: h.port })) };
  if (backend !== undefined) {
    mount.backend = backend;
    if (backend !== "http") delete mount.healthCheck;
  }
  return mount;
}

/** `count` requests for /host, one connection each; the names of the hosts that answered. */
async function hostsServing(front: Front, count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await send(front.port, "GET", "/host");
    expect({ status: res.status, body: res.body.toString() }).toEqual({ status: 200, body: expect.stringMatching(/^h\d \d+$/) });
    names.push(res.body.toString().split(" ")[0]!);
  }
  return names;
}

function balanced(front: FrontName, file: string, backend: Mount["backend"], variant?: Mount["backend"]): void {
  describe(`${front} balancing ${backend} over three hosts (${file}${variant !== undefined ? `, ${variant}` : ""})`, () => {
    let dir: string;
    let hosts: Host[] = [];
    let fe: Front;
    beforeAll(async () => {
      dir = tempFolder(`balance-${front}-${backend}`);
      hosts = await startHosts(backend);
      fe = await startFront(front, dir, [exampleMount(file, hosts, variant)]);
    }, LONG);
    afterAll(async () => {
      await fe?.stop();
      await Promise.all(hosts.map((h) => h.proc.stop()));
      removeFolder(dir);
    }, LONG);

    /** A failure carries the front server's log and each host's output. */
    const trace = (): string =>
      [`--- ${front} ---\n${fe.log().trim().slice(-3000)}`, ...hosts.map((h) => `--- ${h.name} ---\n${h.proc.log.trim().slice(-1500)}`)].join("\n");

    it("spreads requests over every host", () => explained(trace, async () => {
      const names = await hostsServing(fe, 24);
      expect(new Set(names)).toEqual(new Set(["h1", "h2", "h3"]));
    }), LONG);

    it("answers right through any host: a page and an upload", () => explained(trace, async () => {
      for (let i = 0; i < 6; i++) {
        const hello = await send(fe.port, "GET", "/hello");
        expect({ status: hello.status, body: hello.body.toString() }).toEqual({ status: 200, body: "hello" });
        const body = Buffer.alloc(64 * 1024, 0x61);
        const upload = await send(fe.port, "POST", "/upload", { "Content-Type": "application/octet-stream", "Content-Length": String(body.length) }, body);
        expect(upload.status).toBe(200);
        expect(JSON.parse(upload.body.toString()).length).toBe(body.length);
      }
    }), LONG);

    // Over HTTP only: there the same bytes from the balancer's address get an answer, which shows
    // that the allow-list, not the protocol, closed the connection.
    if (backend === "http") it("closes a connection to a host from an address other than the balancer's (allow)", () => explained(trace, async () => {
      const host = hosts[0]!;
      // From 127.0.0.9: the host accepts the connection and closes it at once, before any answer.
      const outcome = await new Promise<string>((resolve) => {
        const s = connect({ host: host.address, port: host.port, localAddress: "127.0.0.9" });
        let received = 0;
        s.on("connect", () => s.write("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", () => undefined));
        s.on("data", (chunk: Buffer) => (received += chunk.length));
        s.on("error", () => undefined);
        s.on("close", () => resolve(`closed after ${received} bytes`));
      });
      expect(outcome).toBe("closed after 0 bytes");
      // From the balancer's address (127.0.0.1), the host answers.
      const allowed = await new Promise<string>((resolve) => {
        const s = connect({ host: host.address, port: host.port, localAddress: "127.0.0.1" });
        let text = "";
        s.on("connect", () => s.write("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        s.on("data", (chunk: Buffer) => (text += chunk.toString()));
        s.on("error", () => undefined);
        s.on("close", () => resolve(text.split("\r\n")[0]!));
      });
      expect(allowed).toBe("HTTP/1.1 200 OK");
    }), LONG);

    it("keeps answering every request with one host stopped", () => explained(trace, async () => {
      await hosts[1]!.proc.stop();
      const names = await hostsServing(fe, 24);
      expect(names).not.toContain("h2");
      expect(new Set(names)).toEqual(new Set(["h1", "h3"]));
    }), LONG);
  });
}

if (frontServerAvailable("haproxy")) {
  balanced("haproxy", "haproxy-balance.cfg", "http");
  // The same template over FastCGI, which HAProxy speaks since 2.1.
  balanced("haproxy", "haproxy-balance.cfg", "fastcgi", "fastcgi");
} else {
  describe("haproxy balancing", () => it.skip("HAProxy is not installed", () => undefined));
}
if (frontServerAvailable("nginx")) {
  balanced("nginx", "nginx-balance.conf", "fastcgi");
  // The same upstream block over SCGI.
  balanced("nginx", "nginx-balance.conf", "scgi", "scgi");
} else {
  describe("nginx balancing", () => it.skip("nginx is not installed", () => undefined));
}
