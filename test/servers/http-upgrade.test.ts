import { describe, it, expect, afterEach } from "@jest/globals";
import { connect } from "node:net";
import { serve, raw, type Served } from "../helpers/http.js";
import type { TakenConnection } from "../../vsgi/index.js";

/** Writes `bytes`, resolves with all the server sent once it closed the connection. */
function untilClosed(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (text += chunk));
    socket.on("close", () => resolve(text));
    socket.on("error", reject);
  });
}

describe("http backend: upgrade requests", () => {
  let served: Served | null = null;
  afterEach(async () => {
    await served?.close();
    served = null;
  });

  it("routes an upgrade no one takes like any request, with its Content-Length body, then closes", async () => {
    served = await serve(async (req, res) => res.expandUtf8(`${req.header("upgrade")} ${await req.flattenUtf8()}`));
    // What curl --http2 sends on a POST to an http:// URL; the bytes after the body are dropped.
    const text = await untilClosed(
      served.port,
      "POST / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Length: 5\r\n\r\nhelloPRI * HTTP/2.0",
    );
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).toMatch(/Connection: close\r\n/);
    expect(text.endsWith("\r\n\r\nh2c hello")).toBe(true);
  });

  it("reads an upgrade's body that arrives after the head", async () => {
    served = await serve(async (req, res) => res.expandUtf8(await req.flattenUtf8()));
    const port = served.port;
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.write("POST / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 10\r\n\r\nhello");
        setImmediate(() => socket.write(" you!"));
      });
      let answer = "";
      socket.setEncoding("latin1");
      socket.on("data", (chunk: string) => (answer += chunk));
      socket.on("close", () => resolve(answer));
      socket.on("error", reject);
    });
    expect(text.endsWith("\r\n\r\nhello you!")).toBe(true);
  });

  it("answers 411 to an upgrade with a chunked body", async () => {
    served = await serve((req, res) => res.expandUtf8("not reached"));
    const text = await untilClosed(
      served.port,
      "POST / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    expect(text).toMatch(/^HTTP\/1\.1 411 /);
  });

  it("hands the connection of an upgrade over with takeConnection, and of nothing else", async () => {
    const taken: (TakenConnection | null)[] = [];
    served = await serve((req, res) => {
      const connection = res.takeConnection();
      taken.push(connection);
      if (connection === null) return res.expandUtf8("no connection to take");
      expect(res.headWritten).toBe(true);
      connection.socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n${connection.head.toString("latin1")}`);
      connection.socket.pipe(connection.socket);
      return true;
    });
    expect(await raw(served.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).toMatch(/no connection to take$/);
    const port = served.port;
    const echoed = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => socket.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nfirst"));
      let text = "";
      socket.setEncoding("latin1");
      socket.on("data", (chunk: string) => {
        text += chunk;
        if (text.endsWith("first")) socket.write(" second");
        if (text.endsWith("second")) socket.end();
      });
      socket.on("close", () => resolve(text));
      socket.on("error", reject);
    });
    expect(echoed).toBe("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nfirst second");
    expect(taken[0]).toBeNull();
    expect(taken[1]?.nativeRequest).toBeDefined();
  });

  it("closes the connections it handed over when a stop times out", async () => {
    served = await serve(
      (req, res) => {
        const connection = res.takeConnection()!;
        connection.socket.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: forever\r\n\r\n");
        return true;
      },
      { stopTimeout: 50 },
    );
    const port = served.port;
    const socket = connect(port, "127.0.0.1", () => socket.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: forever\r\n\r\n"));
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => undefined);
    await new Promise<void>((resolve) => socket.once("data", () => resolve()));
    await served.close();
    served = null;
    await closed;
    expect(socket.destroyed).toBe(true);
  });
});
