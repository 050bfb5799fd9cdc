// Limits on request heads (and the ajp backend's reads), on real sockets: a head trickling in (slowloris) is cut however its
// bytes keep coming, and a head with too many fields or too many bytes never reaches the
// application.
import { loggedLines } from "../helpers/log.js";
import { describe, it, expect, afterEach } from "@jest/globals";
import { connect, type Socket } from "node:net";
import { serve, raw, send, type Served } from "../helpers/http.js";
import { scgiRequest, type ScgiTarget } from "../helpers/scgi-client.js";
import { Server, VsgiError, type HandlerLike } from "../../vsgi/index.js";
import { encodeHead } from "../../servers/scgi/index.js";
import { beginRequestRecord, encodePairs, encodeRecord, KEEP_CONN, PARAMS, RESPONDER, STDIN } from "../../servers/fastcgi/records.js";
import HttpServer, { HTTP_LIMITS } from "../../servers/http/index.js";
import { AjpSocket, CPING, bodyPacket, exchange, forwardRequest } from "../helpers/ajp-client.js";

/** What a trickling client saw: the bytes it got back, how many it wrote, and whether it was still writing. */
interface Trickled {
  reply: string;
  written: number;
  total: number;
}

/**
 * Opens a connection, writes `prefix` at once, then `head` one byte every `everyMs` (and starts
 * over, if the head is all written, so that bytes never stop coming), until the server closes
 * the connection. `started` runs once the connection is open.
 */
function trickle(port: number, text: string | Buffer, everyMs = 20, prefix: string | Buffer = "", started?: (socket: Socket) => void): Promise<Trickled> {
  const head = typeof text === "string" ? Buffer.from(text, "latin1") : text;
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let written = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => undefined);
    socket.on("connect", () => {
      if (prefix.length > 0) socket.write(prefix);
      timer = setInterval(() => {
        if (socket.destroyed || !socket.writable) return;
        const at = written % head.length;
        socket.write(head.subarray(at, at + 1));
        written++;
      }, everyMs);
      started?.(socket);
    });
    socket.on("close", () => {
      clearInterval(timer);
      resolve({ reply: Buffer.concat(chunks).toString("latin1"), written, total: head.length });
    });
  });
}

/** `n` header fields: `Host` and `n - 1` others. */
function fields(n: number): string {
  let text = "Host: x\r\n";
  for (let i = 1; i < n; i++) text += `X-Field-${i}: ${i}\r\n`;
  return text;
}

describe("http backend: head limits", () => {
  let served: Served | null = null;
  afterEach(async () => {
    await served?.close();
    served = null;
  });

  it("answers 408 and closes a connection whose head trickles in past headersTimeout, and serves others meanwhile", async () => {
    let calls = 0;
    served = await serve(
      (req, res) => {
        calls++;
        return res.expandUtf8("served");
      },
      { headersTimeout: 300 },
    );
    // A head long enough that it cannot be all written before the cut (one byte each 20 ms).
    const head = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + "s".repeat(4000) + "\r\n\r\n";
    let normal: Promise<{ status: number; body: Buffer }> | null = null;
    const slow = await trickle(served.port, head, 20, "", () => {
      normal = send(served!.port, "GET", "/");
    });
    expect(slow.reply).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(slow.written).toBeGreaterThan(0);
    expect(slow.written).toBeLessThan(slow.total);
    const answered = await normal!;
    expect(answered.status).toBe(200);
    expect(answered.body.toString()).toBe("served");
    expect(calls).toBe(1);
  }, 20000);

  it("cuts a connection that opens and sends nothing past headersTimeout", async () => {
    served = await serve((req, res) => res.expandUtf8("served"), { headersTimeout: 300 });
    const silent = await trickle(served.port, "\r", 1000000);
    expect(silent.reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(silent.written).toBe(0);
  }, 20000);

  it("cuts the second request of a kept-alive connection when its head trickles in", async () => {
    served = await serve((req, res) => res.expandUtf8("first"), { headersTimeout: 300 });
    const slow = await trickle(served.port, "GET /2 HTTP/1.1\r\nHost: x\r\nX-Slow: " + "s".repeat(4000) + "\r\n\r\n", 20, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(slow.reply).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nfirstHTTP\/1\.1 408 Request Timeout\r\n/);
  }, 20000);

  it("serves a head of maxHeaderFields fields, and answers one more with 431 without calling the application", async () => {
    const seen: number[] = [];
    served = await serve((req, res) => {
      seen.push([...req.headers].length);
      return res.expandUtf8("ok");
    });
    const full = await raw(served.port, `GET / HTTP/1.1\r\n${fields(99)}Connection: close\r\n\r\n`);
    expect(full).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(seen).toEqual([100]);
    const over = await raw(served.port, `GET / HTTP/1.1\r\n${fields(101)}\r\n`);
    expect(over).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(over).toMatch(/\r\nConnection: close\r\n/);
    expect(over).toMatch(/\r\n\r\ntoo many header fields: more than 100\n$/);
    const many = await raw(served.port, `GET / HTTP/1.1\r\n${fields(2000)}\r\n`);
    expect(many).toMatch(/^HTTP\/1\.1 431 /);
    expect(seen).toEqual([100]);
  });

  it("takes a maxHeaderFields option", async () => {
    let calls = 0;
    served = await serve(
      (req, res) => {
        calls++;
        return res.expandUtf8("ok");
      },
      { maxHeaderFields: 5 },
    );
    expect(await raw(served.port, `GET / HTTP/1.1\r\n${fields(4)}Connection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 200 /);
    expect(await raw(served.port, `GET / HTTP/1.1\r\n${fields(6)}\r\n`)).toMatch(/^HTTP\/1\.1 431 [\s\S]*more than 5\n$/);
    expect(calls).toBe(1);
  });

  it("answers a head larger than maxHeaderSize with 431 without calling the application", async () => {
    let calls = 0;
    served = await serve(
      (req, res) => {
        calls++;
        return res.expandUtf8("ok");
      },
      { maxHeaderSize: 2048 },
    );
    expect(await raw(served.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(1500)}\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 200 /);
    expect(await raw(served.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(3000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    expect(calls).toBe(1);
  });

  it("answers a head over the default 16 KiB with 431", async () => {
    let calls = 0;
    served = await serve((req, res) => {
      calls++;
      return res.expandUtf8("ok");
    });
    expect(await raw(served.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(17 * 1024)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    expect(calls).toBe(0);
  });

  it("has its limits on by default, and refuses bad ones at construction", () => {
    const handler: HandlerLike = (req, res) => res.end();
    const server = new HttpServer({ handler });
    expect(server.maxHeaderFields).toBe(HTTP_LIMITS.maxHeaderFields);
    expect(HTTP_LIMITS.maxHeaderFields).toBe(100);
    expect(() => new HttpServer({ handler, maxHeaderFields: 0 })).toThrow(/option maxHeaderFields must be a positive integer, got 0/);
    expect(() => new HttpServer({ handler, headersTimeout: -1 })).toThrow(VsgiError);
    expect(() => new HttpServer({ handler, requestTimeout: 1000, headersTimeout: 2000 })).toThrow(
      /option headersTimeout \(2000\) must be at most requestTimeout \(1000\)/,
    );
    // A short requestTimeout alone lowers the default headersTimeout instead of failing.
    expect(() => new HttpServer({ handler, requestTimeout: 1000 })).not.toThrow();
    expect(() => new HttpServer({ handler, requestTimeout: 0, headersTimeout: 0 })).not.toThrow();
  });
});

describe("scgi backend: head deadline", () => {
  let server: Server | null = null;
  const logged = loggedLines();
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  async function start(options: Record<string, unknown>): Promise<ScgiTarget & { port: number }> {
    server = await Server.load("scgi", { handler: (req, res) => res.expandUtf8("served"), ...options });
    await server.listen({ port: 0 });
    return { port: Number(server.uris[0]!.port) };
  }

  it("closes a connection whose head trickles in past headTimeout, though no read waits readTimeout, and serves others meanwhile", async () => {
    const target = await start({ headTimeout: 300, readTimeout: 60000 });
    const head = encodeHead([["REQUEST_METHOD", "GET"], ["REQUEST_URI", "/"], ["X_SLOW", "s".repeat(4000)]], 0).toString("latin1");
    let normal: ReturnType<typeof scgiRequest> | null = null;
    const slow = await trickle(target.port, head, 20, "", () => {
      normal = scgiRequest(target, { method: "GET", target: "/" });
    });
    expect(slow.reply).toBe("");
    expect(slow.written).toBeGreaterThan(0);
    expect(slow.written).toBeLessThan(slow.total);
    const answered = await normal!;
    expect(answered.status).toBe(200);
    expect(answered.body.toString()).toBe("served");
    expect(logged.join("\n")).toMatch(/sent no complete request head within headTimeout \(300 ms\)/);
  }, 20000);

  it("still names readTimeout when the head stops coming before headTimeout", async () => {
    const target = await start({ headTimeout: 60000, readTimeout: 100 });
    const silent = await trickle(target.port, "7", 1000000, "70:CONTENT");
    expect(silent.reply).toBe("");
    expect(logged.join("\n")).toMatch(/sent no complete request head within readTimeout \(100 ms\)/);
  }, 20000);

  it("refuses a headTimeout that is no non-negative integer", async () => {
    await expect(Server.load("scgi", { handler: (req, res) => res.end(), headTimeout: -5 })).rejects.toThrow(/option headTimeout must be a non-negative integer/);
  });
});

describe("fastcgi backend: PARAMS deadline", () => {
  let server: Server | null = null;
  const logged = loggedLines();
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  async function start(options: Record<string, unknown>): Promise<number> {
    server = await Server.load("fastcgi", { handler: (req, res) => res.expandUtf8(`served ${req.path}`), ...options });
    await server.listen({ port: 0 });
    return Number(server.uris[0]!.port);
  }

  const params = (path: string, extra = ""): Buffer =>
    encodePairs([
      ["REQUEST_METHOD", "GET"],
      ["REQUEST_URI", path],
      ["SCRIPT_NAME", path],
      ["QUERY_STRING", ""],
      ["CONTENT_LENGTH", "0"],
      ["HTTP_X_SLOW", extra],
    ]);

  /** A whole request: PARAMS and their end, the end of STDIN. */
  const whole = (id: number, path: string, flags = 0): Buffer =>
    Buffer.concat([beginRequestRecord(id, RESPONDER, flags), encodeRecord(PARAMS, id, params(path)), encodeRecord(PARAMS, id), encodeRecord(STDIN, id)]);

  /** Sends `bytes`, resolves with what comes back until the close. */
  function once(port: number, bytes: Buffer): Promise<string> {
    return new Promise((resolve) => {
      const socket = connect(port, "127.0.0.1");
      const chunks: Buffer[] = [];
      socket.on("data", (c: Buffer) => chunks.push(c));
      socket.on("error", () => undefined);
      socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
      socket.write(bytes);
    });
  }

  it("closes a connection whose PARAMS trickle in past headTimeout, though no read waits idleTimeout, and serves others meanwhile", async () => {
    const port = await start({ headTimeout: 300, idleTimeout: 60000 });
    const slowParams = encodeRecord(PARAMS, 1, params("/slow", "s".repeat(4000)));
    let normal: Promise<string> | null = null;
    const slow = await trickle(port, slowParams, 20, beginRequestRecord(1, RESPONDER, KEEP_CONN), () => {
      normal = once(port, whole(1, "/normal"));
    });
    expect(slow.reply).toBe("");
    expect(slow.written).toBeGreaterThan(0);
    expect(slow.written).toBeLessThan(slow.total);
    expect(await normal!).toContain("served /normal");
    expect(logged.join("\n")).toMatch(/request id 1 sent no complete PARAMS within headTimeout \(300 ms\)/);
  }, 20000);

  it("on a multiplexed connection, cuts a request late with its PARAMS after serving the one whose PARAMS came whole", async () => {
    const port = await start({ headTimeout: 300, idleTimeout: 60000 });
    // Request 2 begins first and trickles; request 1 comes whole meanwhile and is answered.
    const slowParams = encodeRecord(PARAMS, 2, params("/slow", "s".repeat(4000)));
    const prefix = Buffer.concat([beginRequestRecord(2, RESPONDER, KEEP_CONN), whole(1, "/quick", KEEP_CONN)]);
    const slow = await trickle(port, slowParams, 20, prefix);
    expect(slow.reply).toContain("served /quick");
    expect(slow.written).toBeLessThan(slow.total);
    expect(logged.join("\n")).toMatch(/request id 2 sent no complete PARAMS within headTimeout/);
  }, 20000);

  it("keeps a kept-alive connection open past headTimeout once PARAMS came whole", async () => {
    const port = await start({ headTimeout: 100, idleTimeout: 60000 });
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.write(whole(1, "/first", KEEP_CONN));
    await new Promise((r) => setTimeout(r, 400)); // past several headTimeouts, idle meanwhile
    const answered = new Promise<void>((resolve) => {
      const check = (): void => {
        if (socket.destroyed || Buffer.concat(chunks).includes("served /second")) resolve();
      };
      socket.on("data", check);
      socket.on("close", check);
    });
    socket.write(whole(1, "/second", KEEP_CONN));
    await answered;
    const text = Buffer.concat(chunks).toString("latin1");
    socket.destroy();
    expect(text).toContain("served /first");
    expect(text).toContain("served /second");
    expect(logged).toEqual([]);
  }, 20000);
});

describe("ajp backend: head, read and idle timeouts", () => {
  let server: Server | null = null;
  const logged = loggedLines();
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  async function start(options: Record<string, unknown>, handler: HandlerLike = (req, res) => res.expandUtf8(`served ${req.path}`)): Promise<number> {
    server = await Server.load("ajp", { handler, ...options });
    await server.listen({ port: 0, host: "127.0.0.1" });
    return Number(server.uris[0]!.port);
  }

  const get = (uri: string) => ({ method: "GET", uri, headers: [["Host", "x"]] as [string, string][] });
  const CPONG = 9;

  it("closes a connection whose FORWARD_REQUEST trickles in past headTimeout, though no read waits readTimeout, and serves others meanwhile", async () => {
    const port = await start({ headTimeout: 300, readTimeout: 60000, idleTimeout: 60000 });
    const slowRequest = forwardRequest({ method: "GET", uri: "/slow", headers: [["Host", "x"], ["X-Slow", "s".repeat(4000)]] });
    let normal: Promise<string> | null = null;
    const slow = await trickle(port, slowRequest, 20, "", () => {
      normal = (async () => {
        const socket = await AjpSocket.connect(port);
        const answered = await exchange(socket, get("/normal"));
        socket.destroy();
        return answered.body.toString();
      })();
    });
    expect(slow.reply).toBe("");
    expect(slow.written).toBeGreaterThan(0);
    expect(slow.written).toBeLessThan(slow.total);
    expect(await normal!).toBe("served /normal");
    expect(logged.join("\n")).toMatch(/sent no complete packet within headTimeout \(300 ms\)/);
  }, 20000);

  it("names readTimeout when a packet stops coming before headTimeout", async () => {
    const port = await start({ headTimeout: 60000, readTimeout: 100, idleTimeout: 60000 });
    const silent = await trickle(port, Buffer.from([0x12]), 1000000, forwardRequest(get("/cut")).subarray(0, 10));
    expect(silent.reply).toBe("");
    expect(logged.join("\n")).toMatch(/sent no complete packet within readTimeout \(100 ms\)/);
  }, 20000);

  it("aborts a request whose body stops coming for readTimeout, and closes the connection", async () => {
    let seen: unknown = null;
    const port = await start({ headTimeout: 60000, readTimeout: 200, idleTimeout: 60000 }, async (req, res) => {
      try {
        await req.flattenUtf8();
      } catch (error) {
        seen = error;
      }
      return res.end();
    });
    const socket = await AjpSocket.connect(port);
    // As Apache: the first 10 bytes unasked, then never an answer to GET_BODY_CHUNK.
    socket.write(forwardRequest({ method: "POST", uri: "/upload", headers: [["Host", "x"], ["Content-Length", "100"]] }));
    socket.write(bodyPacket(Buffer.alloc(10, 0x61)));
    const asked = await socket.next();
    expect(asked?.[0]).toBe(6); // GET_BODY_CHUNK
    await socket.closed;
    expect((seen as VsgiError | null)?.code).toBe("ERR_VSGI_ABORTED");
    expect((seen as Error).message).toMatch(/no request body for readTimeout \(200 ms\)/);
    expect(logged.join("\n")).toMatch(/no request body for readTimeout \(200 ms\); closing the connection/);
  }, 20000);

  it("never cuts a request while its handler runs, and keeps a pooled connection past headTimeout and readTimeout", async () => {
    const port = await start({ headTimeout: 50, readTimeout: 50, idleTimeout: 60000 }, async (req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 300)); // several timeouts long
      return res.expandUtf8(`served ${req.path}`);
    });
    const socket = await AjpSocket.connect(port);
    const first = await exchange(socket, get("/first"));
    await new Promise((resolve) => setTimeout(resolve, 300)); // idle, pooled, past headTimeout
    const second = await exchange(socket, get("/second"));
    expect(first.body.toString()).toBe("served /first");
    expect(second.body.toString()).toBe("served /second");
    expect(second.reuse).toBe(true);
    expect(socket.isClosed).toBe(false);
    socket.destroy();
    expect(logged).toEqual([]);
  }, 20000);

  it("closes a connection idle for idleTimeout after its last response, silently; a new one is served", async () => {
    const port = await start({ headTimeout: 60000, readTimeout: 60000, idleTimeout: 200 });
    const socket = await AjpSocket.connect(port);
    expect((await exchange(socket, get("/pooled"))).reuse).toBe(true);
    await socket.closed;
    const again = await AjpSocket.connect(port);
    expect((await exchange(again, get("/again"))).body.toString()).toBe("served /again");
    again.destroy();
    expect(logged).toEqual([]);
  }, 20000);

  it("answers every CPING, which does not keep an idle connection open past idleTimeout", async () => {
    const port = await start({ headTimeout: 60000, readTimeout: 60000, idleTimeout: 300 });
    const socket = await AjpSocket.connect(port);
    let pongs = 0;
    for (;;) {
      socket.write(CPING);
      const packet = await socket.next();
      if (packet === null) break;
      expect(packet[0]).toBe(CPONG);
      pongs++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(pongs).toBeGreaterThan(0);
    expect(socket.isClosed).toBe(true);
  }, 20000);

  it("answers CPING then serves the request on a connection that waited past headTimeout", async () => {
    const port = await start({ headTimeout: 50, readTimeout: 50, idleTimeout: 60000 });
    const socket = await AjpSocket.connect(port);
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.write(CPING);
    expect((await socket.next())?.[0]).toBe(CPONG);
    expect((await exchange(socket, get("/after-ping"))).body.toString()).toBe("served /after-ping");
    socket.destroy();
    expect(logged).toEqual([]);
  }, 20000);

  it("takes its timeouts as options, and refuses bad ones at construction", async () => {
    await expect(Server.load("ajp", { handler: (req, res) => res.end(), readTimeout: -1 })).rejects.toThrow(/option readTimeout must be a non-negative integer/);
    await expect(Server.load("ajp", { handler: (req, res) => res.end(), idleTimeout: 1.5 })).rejects.toThrow(/option idleTimeout/);
    await expect(Server.load("ajp", { handler: (req, res) => res.end(), headTimeout: "20" as unknown as number })).rejects.toThrow(/option headTimeout/);
    await expect(Server.load("ajp", { handler: (req, res) => res.end(), headTimeout: 0, readTimeout: 0, idleTimeout: 0 })).resolves.toBeDefined();
  });
});
