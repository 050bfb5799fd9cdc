import { describe, it, expect, beforeAll, afterAll, afterEach } from "@jest/globals";
import { mkdtemp, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { connect } from "node:net";
import { Server, loadServer, ERR_UNKNOWN_SERVER, ERR_INVALID_SERVER_MODULE } from "../../vsgi/index.js";
import { distPath } from "../helpers/process.js";

// A backend written outside the package, as a deployment would: a line protocol where the
// client sends a path and a newline and gets the response body back.
const LINE_SERVER = `
import { createServer } from "node:net";
import { PassThrough, Writable } from "node:stream";
import { Request, Response, SocketServer, dispatch } from ${JSON.stringify(pathToFileURL(distPath("vsgi/index.js")).href)};

class LineResponse extends Response {
  constructor(request, socket) { super(request); this.socket = socket; }
  sendHead() {}
  get sink() { return this.socket; }
  destroy() { this.socket.destroy(); }
}

export default class LineServer extends SocketServer {
  get scheme() { return "line"; }
  defaultAddresses() { return [{ port: 0 }]; }
  createListener() {
    return createServer((socket) => {
      socket.once("data", (line) => {
        const req = new Request({ method: "GET", target: line.toString().trim(), body: new PassThrough().end() });
        void dispatch(this.handler, req, new LineResponse(req, socket));
      });
    });
  }
}
`;

describe("loading backends by name", () => {
  let dir: string;
  const saved = process.env.VSGI_SERVER_PATH;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "vsgi-path-"));
    await writeFile(join(dir, "line.mjs"), LINE_SERVER);
    await writeFile(join(dir, "broken.js"), "export default 42;\n");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true });
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.VSGI_SERVER_PATH;
    else process.env.VSGI_SERVER_PATH = saved;
  });

  it("loads the built-ins from servers/", async () => {
    const Http = await loadServer("http");
    expect(new Http({ handler: () => false }).scheme).toBe("http");
  });

  it("loads a backend module from a folder of VSGI_SERVER_PATH and serves with it", async () => {
    process.env.VSGI_SERVER_PATH = `/nonexistent:${dir}`;
    const server = Server.new("line", { handler: (req, res) => res.expandUtf8(`you asked for ${req.path}`) });
    await server.listen({ port: 0 });
    try {
      expect(server.scheme).toBe("line");
      const port = Number(server.uris[0]!.port);
      const answer = await new Promise<string>((resolve) => {
        const socket = connect(port, "127.0.0.1");
        let text = "";
        socket.on("data", (c) => (text += c)).on("end", () => resolve(text));
        socket.write("/hello\n");
      });
      expect(answer).toBe("you asked for /hello");
    } finally {
      await server.stop();
    }
  });

  it("refuses an unknown name with the list of places it looked", async () => {
    process.env.VSGI_SERVER_PATH = dir;
    const error = await loadServer("nope").catch((e: unknown) => e);
    expect(error).toEqual(expect.objectContaining({ code: ERR_UNKNOWN_SERVER }));
    const message = (error as Error).message;
    expect(message).toContain(join(dir, "nope.js"));
    expect(message).toContain(join(dir, "nope.mjs"));
    expect(message).toMatch(/servers\/nope\/index\.js/);
    expect(message).toContain("VSGI_SERVER_PATH");
  });

  it("reports an unknown name from listen() and run() of Server.new, never as an unhandled rejection", async () => {
    const server = Server.new("nope", { handler: () => false });
    await expect(server.listen()).rejects.toThrow(/unknown server "nope"/);
  });

  it("refuses names that are paths", async () => {
    await expect(loadServer("../vsgi/index")).rejects.toThrow(/unknown server/);
  });

  it("refuses a module that exports no class", async () => {
    process.env.VSGI_SERVER_PATH = dir;
    await expect(loadServer("broken")).rejects.toEqual(expect.objectContaining({ code: ERR_INVALID_SERVER_MODULE }));
  });

  it("refuses a handler of the wrong kind, naming the option", async () => {
    await expect(Server.load("http", { handler: 42 as never })).rejects.toThrow(/options\.handler must be/);
  });
});
