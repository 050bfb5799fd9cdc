// Concurrent connections (maxConnections) on every socket backend and requests per connection
// (maxRequestsPerConnection) where the protocol keeps connections (http, ajp), each at its
// edge, on real sockets.
import { describe, it, expect, afterEach } from "@jest/globals";
import { connect, type Socket } from "node:net";
import { loggedLines } from "../helpers/log.js";
import { limitsApp } from "../helpers/limits-app.js";
import { ask, requestBytes, until, untilClosed, SOCKET_BACKENDS, type SocketBackend } from "../helpers/limits-clients.js";
import { AjpSocket, exchange } from "../helpers/ajp-client.js";
import { Server, SOCKET_LIMITS } from "../../vsgi/index.js";
import { HTTP_LIMITS } from "../../servers/http/index.js";
import { AJP_LIMITS } from "../../servers/ajp/index.js";

describe.each(SOCKET_BACKENDS)("%s backend: maxConnections", (backend: SocketBackend) => {
  let server: Server | null = null;
  const logged = loggedLines();
  const seen: string[] = [];
  const held: Socket[] = [];
  afterEach(async () => {
    for (const socket of held) socket.resetAndDestroy();
    held.length = 0;
    await server?.stop();
    server = null;
    seen.length = 0;
  });

  async function start(options: Record<string, unknown>): Promise<number> {
    server = await Server.load(backend, { handler: limitsApp((line) => seen.push(line)), stopTimeout: 1000, ...options });
    await server.listen({ port: 0, host: "127.0.0.1" });
    return Number(server.uris[0]!.port);
  }

  /** A connection whose request the application holds; resolves once the application has it. */
  async function hold(port: number): Promise<Socket> {
    const holding = seen.filter((line) => line === "holding").length;
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => undefined);
    socket.write(requestBytes(backend, "/hold"));
    held.push(socket);
    await until(() => seen.filter((line) => line === "holding").length > holding, "the application holding the request");
    return socket;
  }

  it("serves maxConnections connections at once, closes one more unanswered, and serves again once one left", async () => {
    const port = await start({ maxConnections: 2 });
    const first = await hold(port);
    await hold(port);
    // Over the limit: closed at accept, before a byte is read, the application not called.
    expect(await untilClosed(port, requestBytes(backend, "/"))).toBe("");
    expect(await untilClosed(port, requestBytes(backend, "/"))).toBe("");
    expect(seen.filter((line) => line === "holding")).toHaveLength(2);
    // One burst, one line.
    expect(logged.filter((line) => /maxConnections/.test(line))).toEqual([
      `${backend}: refusing connections over maxConnections (2 per listener); quiet until none is refused for 10 s`,
    ]);
    // A reset: scgi and fastcgi take a plain FIN for a front server done sending, still reading.
    first.resetAndDestroy();
    await until(() => seen.includes("aborted ERR_VSGI_ABORTED"), "the abort of the request whose client left");
    // The server counts a connection until its socket closed on its side too: ask until served.
    let body = "";
    await until(async () => {
      body = (await ask(backend, port, "/", [["Host", "x"]]).catch(() => null))?.body ?? "";
      return body !== "";
    }, "a request served once a connection left");
    expect(body).toMatch(/^fields /);
  }, 20000);

  it(`takes ${SOCKET_LIMITS.maxConnections} by default, and refuses bad values naming the option`, async () => {
    const handler = limitsApp(() => undefined);
    server = await Server.load(backend, { handler });
    await server.listen({ port: 0, host: "127.0.0.1" });
    expect((server as unknown as { maxConnections: number }).maxConnections).toBe(SOCKET_LIMITS.maxConnections);
    await expect(Server.load(backend, { handler, maxConnections: 0 })).rejects.toThrow(/option maxConnections must be a positive integer, got 0/);
  });
});

describe("http backend: maxRequestsPerConnection", () => {
  let server: Server | null = null;
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  async function start(options: Record<string, unknown>): Promise<number> {
    server = await Server.load("http", { handler: limitsApp(() => undefined), ...options });
    await server.listen({ port: 0, host: "127.0.0.1" });
    return Number(server.uris[0]!.port);
  }

  /** Sends `count` requests one after the other on one connection; the responses' heads, until the server closed it. */
  function sequence(port: number, count: number): Promise<{ heads: string[]; closed: boolean }> {
    return new Promise((resolve) => {
      const socket = connect(port, "127.0.0.1");
      const heads: string[] = [];
      let text = "";
      let sent = 0;
      const next = (): void => {
        if (sent < count) {
          sent++;
          socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        } else socket.end();
      };
      socket.on("data", (c: Buffer) => {
        text += c.toString("latin1");
        // each response is small and whole: a head, then "fields 1 target 1"
        for (let end = text.indexOf("target 1"); end !== -1; end = text.indexOf("target 1")) {
          heads.push(text.slice(0, text.indexOf("\r\n\r\n")));
          text = text.slice(end + "target 1".length);
          next();
        }
      });
      socket.on("error", () => undefined);
      socket.on("end", () => resolve({ heads, closed: sent <= count }));
      socket.on("close", () => resolve({ heads, closed: true }));
      next();
    });
  }

  it("serves maxRequestsPerConnection requests on a connection, the last with Connection: close, then closes it", async () => {
    const port = await start({ maxRequestsPerConnection: 3 });
    const { heads, closed } = await sequence(port, 5);
    expect(heads).toHaveLength(3);
    expect(heads[0]).toMatch(/\r\nConnection: keep-alive/);
    expect(heads[1]).toMatch(/\r\nConnection: keep-alive/);
    expect(heads[2]).toMatch(/\r\nConnection: close/);
    expect(closed).toBe(true);
  }, 20000);

  it(`takes ${HTTP_LIMITS.maxRequestsPerConnection} by default; 0 is no limit; bad values are refused naming the option`, async () => {
    expect(HTTP_LIMITS.maxRequestsPerConnection).toBe(1000);
    const port = await start({ maxRequestsPerConnection: 0 });
    const { heads } = await sequence(port, 5);
    expect(heads).toHaveLength(5);
    expect(heads.every((head) => /Connection: keep-alive/.test(head))).toBe(true);
    await expect(Server.load("http", { handler: limitsApp(() => undefined), maxRequestsPerConnection: -1 })).rejects.toThrow(
      /option maxRequestsPerConnection must be a non-negative integer, got -1/,
    );
  }, 20000);
});

describe("ajp backend: maxRequestsPerConnection", () => {
  let server: Server | null = null;
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  it("reuses a connection for maxRequestsPerConnection requests, the last one ending with reuse = 0 and a close", async () => {
    server = await Server.load("ajp", { handler: limitsApp(() => undefined), maxRequestsPerConnection: 2 });
    await server.listen({ port: 0, host: "127.0.0.1" });
    const socket = await AjpSocket.connect(Number(server.uris[0]!.port));
    const get = { method: "GET", uri: "/", headers: [["Host", "x"]] as [string, string][] };
    expect((await exchange(socket, get)).reuse).toBe(true);
    const last = await exchange(socket, get);
    expect(last.status).toBe(200);
    expect(last.reuse).toBe(false);
    await socket.closed;
  }, 20000);

  it("has no limit by default, and refuses bad values naming the option", async () => {
    expect(AJP_LIMITS.maxRequestsPerConnection).toBe(0);
    server = await Server.load("ajp", { handler: limitsApp(() => undefined) });
    await server.listen({ port: 0, host: "127.0.0.1" });
    const socket = await AjpSocket.connect(Number(server.uris[0]!.port));
    for (let i = 0; i < 5; i++) expect((await exchange(socket, { method: "GET", uri: "/", headers: [["Host", "x"]] })).reuse).toBe(true);
    socket.destroy();
    await expect(Server.load("ajp", { handler: limitsApp(() => undefined), maxRequestsPerConnection: 1.5 })).rejects.toThrow(/option maxRequestsPerConnection/);
  }, 20000);
});
