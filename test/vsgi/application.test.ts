import { describe, it, expect, afterEach } from "@jest/globals";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";
import { start, distPath, alive, type Program } from "../helpers/process.js";
import { send } from "../helpers/http.js";
import { parseCommandLine } from "../../vsgi/index.js";

const APP = distPath("test/fixtures/app.js");
let running: Program[] = [];
afterEach(async () => {
  for (const p of running) p.kill("SIGKILL");
  running = [];
});
function run(args: string[], env: NodeJS.ProcessEnv = {}): Program {
  const p = start(APP, args, env);
  running.push(p);
  return p;
}

describe("parseCommandLine", () => {
  it("turns flags into addresses", () => {
    expect(parseCommandLine(["-p", "8080", "--port=8081"]).addresses).toEqual([
      { port: 8080, host: "127.0.0.1" },
      { port: 8081, host: "127.0.0.1" },
    ]);
    expect(parseCommandLine(["-p", "1", "-A"]).addresses).toEqual([{ port: 1, host: "::", ipv6Only: false }]);
    expect(parseCommandLine(["-p", "1", "-A", "-4"]).addresses).toEqual([{ port: 1, host: "0.0.0.0" }]);
    expect(parseCommandLine(["-p", "1", "-6"]).addresses).toEqual([{ port: 1, host: "::1" }]);
    expect(parseCommandLine(["-a", "10.0.0.1", "-p", "2"]).addresses).toEqual([{ port: 2, host: "10.0.0.1" }]);
    expect(parseCommandLine(["-s", "/tmp/s", "-f", "3"]).addresses).toEqual([{ path: "/tmp/s" }, { fd: 3 }]);
    expect(parseCommandLine(["--forks", "3"]).forks).toBe(3);
  });

  it.each([
    [["--nope"], /unknown option "--nope"/],
    [["-p", "70000"], /option -p takes an integer from 0 to 65535/],
    [["-p"], /option -p takes an integer/],
    [["--forks", "x"], /option --forks takes an integer/],
    [["-4", "-6"], /exclude each other/],
    [["-s"], /option -s takes a socket path/],
  ])("names the bad flag in %j", (args, message) => {
    expect(() => parseCommandLine(args)).toThrow(message);
  });
});

describe("run(argv)", () => {
  it("prints the usage with --help and exits 0", async () => {
    const p = run(["--help"]);
    expect(await p.exited).toBe(0);
    // The program's own name, from argv[1]: the fixture is app.js.
    expect(p.stdout()).toMatch(/^Usage: node app\.js \[OPTION\.\.\.\]\n/);
    expect(p.stdout()).toMatch(/--forks N/);
    expect(p.stdout()).toMatch(/-s, --socket PATH/);
  });

  it("prints the version with --version", async () => {
    const p = run(["--version"]);
    expect(await p.exited).toBe(0);
    expect(p.stdout()).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("exits 2 naming a bad flag", async () => {
    const p = run(["--bogus"]);
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toMatch(/unknown option "--bogus"/);
    expect(p.stderr()).toMatch(/Usage: node app\.js \[OPTION\.\.\.\]/);
  });

  it("logs one line per listener on standard error, serves, and stops on SIGTERM with exit 0", async () => {
    const p = run(["-p", "0", "--port", "0"]);
    const [, port] = await p.waitFor(/Listening on 'http:\/\/127\.0\.0\.1:(\d+)\/'\n.*Listening on 'http:\/\/127\.0\.0\.1:\d+\/'/s);
    // Standard output is left to the application (and is the response under CGI).
    expect(p.stdout()).toBe("");
    expect((await send(Number(port), "GET", "/pid")).body.toString()).toBe(String(p.child.pid));
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  });

  it("lets the request in flight finish on SIGTERM", async () => {
    const p = run(["-p", "0"]);
    const [, port] = await p.waitFor(/Listening on 'http:\/\/127\.0\.0\.1:(\d+)\/'/);
    const socket = connect(Number(port), "127.0.0.1");
    let answer = "";
    socket.setEncoding("latin1").on("data", (c: string) => (answer += c));
    socket.write("POST /hold HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab");
    // the request is in the handler, waiting for the rest of its body
    await new Promise((r) => setTimeout(r, 100));
    p.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 100));
    expect(p.child.exitCode).toBeNull();
    socket.write("cd");
    expect(await p.exited).toBe(0);
    expect(answer).toMatch(/HTTP\/1\.1 200 OK[\s\S]*held 4$/);
  });

  it("listens on a UNIX socket with -s", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vsgi-app-"));
    try {
      const path = join(dir, "app.sock");
      const p = run(["-s", path]);
      await p.waitFor(/Listening on 'http\+unix:\/\/.*app\.sock\/'/);
      const text = await new Promise<string>((resolve) => {
        const socket = connect(path);
        let t = "";
        socket.on("data", (c) => (t += c)).on("end", () => resolve(t));
        socket.write("GET /pid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      });
      expect(text.endsWith(String(p.child.pid))).toBe(true);
      p.kill();
      expect(await p.exited).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("forks workers that share the listening socket, and stops them all", async () => {
    const p = run(["-p", "0", "--forks", "2"]);
    const [, port] = await p.waitFor(/Listening on 'http:\/\/127\.0\.0\.1:(\d+)\/'/);
    // Each /block request blocks the process serving it: while one is blocked, the others accept.
    const pids = new Set<string>();
    for (let round = 0; round < 5 && pids.size < 3; round++) {
      const answers = await Promise.all(Array.from({ length: 6 }, () => send(Number(port), "GET", "/block")));
      for (const a of answers) pids.add(a.body.toString());
    }
    expect(pids.size).toBeGreaterThanOrEqual(2);
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    for (const pid of pids) expect(alive(Number(pid))).toBe(false);
  });

  it("Server.fork(): workers started after listen share its socket; stop() stops them too", async () => {
    const p = start(distPath("test/fixtures/fork-app.js"), []);
    running.push(p);
    const [, port, a, b] = await p.waitFor(/Listening on 'http:\/\/127\.0\.0\.1:(\d+)\/', workers (\d+) (\d+)/, "stdout");
    // Each /block request blocks the process serving it: while one is blocked, the others accept.
    const pids = new Set<string>();
    for (let round = 0; round < 8 && pids.size < 3; round++) {
      const answers = await Promise.all(Array.from({ length: 6 }, () => send(Number(port), "GET", "/block")));
      for (const answer of answers) pids.add(answer.body.toString());
    }
    expect(pids.size).toBeGreaterThanOrEqual(2);
    for (const pid of pids) expect([String(p.child.pid), a, b]).toContain(pid);
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    for (const pid of [a, b]) expect(alive(Number(pid))).toBe(false);
  });

  it("Server.fork() before listen() is refused, naming the fix", async () => {
    const p = start(distPath("test/fixtures/fork-app.js"), [], { FORK_BEFORE_LISTEN: "1" });
    running.push(p);
    expect(await p.exited).toBe(0);
    expect(p.stdout()).toMatch(/refused: fork\(\) shares the server's listening sockets with the worker: call listen\(\) first/);
  });

  it("fails clearly when the port is taken", async () => {
    const first = run(["-p", "0"]);
    const [, port] = await first.waitFor(/:(\d+)\/'/);
    const second = run(["-p", port!]);
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toMatch(/cannot listen: .*EADDRINUSE/);
  });
});
