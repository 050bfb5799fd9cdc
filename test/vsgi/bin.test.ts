import { describe, it, expect, afterEach } from "@jest/globals";
import { start, distPath, type Program } from "../helpers/process.js";
import { send } from "../helpers/http.js";

const BIN = distPath("bin/vsgi.js");
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

describe("the vsgi command", () => {
  it("runs a module's default export on the named backend", async () => {
    const p = vsgi(["http", distPath("test/fixtures/router-app.js"), "-p", "0"]);
    const [, port] = await p.waitFor(/Listening on 'http:\/\/127\.0\.0\.1:(\d+)\/'/);
    expect((await send(Number(port), "GET", "/users/41")).body.toString()).toBe("user 42");
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  });

  it("prints its usage with --help", async () => {
    const p = vsgi(["--help"]);
    expect(await p.exited).toBe(0);
    expect(p.stdout()).toMatch(/Usage: vsgi SERVER MODULE/);
    expect(p.stdout()).toMatch(/--forks N/);
  });

  it("names what is missing or wrong", async () => {
    const noModule = vsgi(["http"]);
    expect(await noModule.exited).toBe(2);
    expect(noModule.stderr()).toMatch(/missing MODULE after http/);
    const badModule = vsgi(["http", "/nonexistent/app.js"]);
    expect(await badModule.exited).toBe(1);
    expect(badModule.stderr()).toMatch(/cannot load \/nonexistent\/app\.js/);
    const badServer = vsgi(["nosuch", distPath("test/fixtures/router-app.js")]);
    expect(await badServer.exited).toBe(1);
    expect(badServer.stderr()).toMatch(/unknown server "nosuch": looked in/);
  });
});
