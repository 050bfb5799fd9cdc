import { describe, it, expect, beforeAll, afterAll, afterEach } from "@jest/globals";
import { mkdtemp, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { connect } from "node:net";
import { Server, checkOptionNames, closestName, ERR_INVALID_OPTION, ERR_UNKNOWN_SERVER, type AnyServerOptions } from "../../vsgi/index.js";
import { distPath } from "../helpers/process.js";
import { send } from "../helpers/http.js";

const handler = (): boolean => false;

describe("unknown options", () => {
  it("names the option and the closest known one", () => {
    expect(() => checkOptionNames({ handler, scriptname: "/app" }, ["handler", "scriptName"])).toThrow(
      "unknown option scriptname (did you mean scriptName?)",
    );
    expect(closestName("maxHeadreSize", ["maxHeaderSize", "readTimeout"])).toBe("maxHeaderSize");
    expect(closestName("colour", ["handler", "stopTimeout"])).toBeNull();
    expect(() => checkOptionNames({ handler, colour: 1 }, ["handler", "stopTimeout"])).toThrow("unknown option colour; known options: handler, stopTimeout");
  });

  it.each([
    ["http", "keepAliveTimout", "keepAliveTimeout"],
    ["cgi", "maxdiscard", "maxDiscard"],
    ["scgi", "scriptname", "scriptName"],
    ["fastcgi", "multiplexed", "multiplex"],
    ["ajp", "packetsize", "packetSize"],
  ])("%s refuses the misspelled option %s at construction, suggesting %s", async (name, wrong, right) => {
    const options = { handler, [wrong]: 1 } as AnyServerOptions;
    const error = await Server.load<string>(name, options).catch((e: unknown) => e);
    expect(error).toEqual(expect.objectContaining({ code: ERR_INVALID_OPTION, message: `unknown option ${wrong} (did you mean ${right}?)` }));
    // Server.new reports it where it reports an unknown name: from listen(), never unhandled.
    await expect(Server.new<string>(name, options).listen({ port: 0 })).rejects.toThrow(`unknown option ${wrong}`);
  });

  it("refuses options that are no object with the framework's own error", async () => {
    await expect(Server.load("http", null as never)).rejects.toEqual(
      expect.objectContaining({ code: ERR_INVALID_OPTION, message: "server options must be an object with a handler" }),
    );
  });

  it("still serves with every option spelled right (the http backend, over a socket)", async () => {
    const server = await Server.load("http", {
      handler: (req, res) => res.expandUtf8("ok"),
      stopTimeout: 1000,
      allow: [],
      keepAliveTimeout: 1000,
      requestTimeout: 10000,
      headersTimeout: 5000,
      maxHeaderSize: 8192,
      maxHeaderFields: 50,
    });
    await server.listen({ port: 0, host: "127.0.0.1" });
    try {
      expect((await send(Number(server.uris[0]!.port), "GET", "/")).body.toString()).toBe("ok");
    } finally {
      await server.stop();
    }
  });
});

// Backends from VSGI_SERVER_PATH: one declaring its option names is checked like a built-in,
// one that does not is left to check its own options.
const backend = (declares: boolean): string => `
import { createServer } from "node:net";
import { SocketServer, SOCKET_SERVER_OPTIONS, optionNames } from ${JSON.stringify(pathToFileURL(distPath("vsgi/index.js")).href)};
export default class Echo extends SocketServer {
  ${declares ? "static optionNames = optionNames({ ...SOCKET_SERVER_OPTIONS, greeting: true });" : ""}
  get scheme() { return "echo"; }
  defaultAddresses() { return [{ port: 0 }]; }
  createListener() {
    return createServer((socket) => socket.end(String(this.options.greeting)));
  }
}
`;

describe("custom backends", () => {
  let dir: string;
  const saved = process.env.VSGI_SERVER_PATH;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "vsgi-options-"));
    await writeFile(join(dir, "declared.mjs"), backend(true));
    await writeFile(join(dir, "loose.mjs"), backend(false));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true });
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.VSGI_SERVER_PATH;
    else process.env.VSGI_SERVER_PATH = saved;
  });

  async function greeting(server: Server): Promise<string> {
    await server.listen({ port: 0 });
    try {
      return await new Promise<string>((resolve, reject) => {
        let text = "";
        connect(Number(server.uris[0]!.port), "127.0.0.1")
          .on("data", (c) => (text += c))
          .on("end", () => resolve(text))
          .on("error", reject);
      });
    } finally {
      await server.stop();
    }
  }

  it("checks the names a custom backend declares, and serves with them", async () => {
    process.env.VSGI_SERVER_PATH = dir;
    expect(await greeting(Server.new("declared", { handler, greeting: "hi" }))).toBe("hi");
    await expect(Server.load("declared", { handler, greting: "hi" })).rejects.toThrow("unknown option greting (did you mean greeting?)");
  });

  it("leaves a custom backend that declares no names to check its own options", async () => {
    process.env.VSGI_SERVER_PATH = dir;
    expect(await greeting(Server.new("loose", { handler, greeting: "hello" }))).toBe("hello");
  });
});

describe("backend names", () => {
  it("refuses a missing name with the framework's own error, at once", () => {
    const name = process.env.VSGI_TEST_NO_SUCH_VARIABLE;
    let error: unknown;
    try {
      Server.new(name as string, { handler });
    } catch (e) {
      error = e;
    }
    expect(error).toEqual(expect.objectContaining({ code: ERR_UNKNOWN_SERVER }));
    expect((error as Error).message).toBe("a backend name is needed (http, cgi, scgi, fastcgi, ajp, or a module in VSGI_SERVER_PATH), got undefined");
  });

  it("lists the built-ins with the folders it looked in for an unknown name", async () => {
    const error = await Server.load<string>("htpp", { handler }).catch((e: unknown) => e);
    expect(error).toEqual(expect.objectContaining({ code: ERR_UNKNOWN_SERVER }));
    expect((error as Error).message).toMatch(/looked in .*servers\/htpp\/index\.js; the built-ins are ajp, cgi, fastcgi, http, scgi;/);
  });
});
