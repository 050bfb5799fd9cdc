import { describe, it, expect, beforeEach, afterEach } from "@jest/globals";
import { connect } from "node:net";
import { WebSocket, type RawData } from "ws";
import { Router, websocket, ClientError, WEBSOCKET_DEFAULTS, type WebSocketOptions } from "../../../valum/index.js";
import { Server, setErrorLogger, VsgiError } from "../../../vsgi/index.js";
import { scgiRequest } from "../../helpers/scgi-client.js";
import { withServer } from "../util.js";

const logged: { message: string; error: unknown }[] = [];
beforeEach(() => {
  logged.length = 0;
  setErrorLogger((message, error) => logged.push({ message, error }));
});
afterEach(() => setErrorLogger((message, error) => console.error(message, error)));

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** A handshake's head, sent raw: for what the ws client will not send. */
function handshake(path: string, extra: Record<string, string> = {}): string {
  const headers: Record<string, string> = {
    Host: "x",
    Connection: "Upgrade",
    Upgrade: "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": KEY,
    ...extra,
  };
  let head = `GET ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) if (value !== "") head += `${name}: ${value}\r\n`;
  return head + "\r\n";
}

/**
 * Sends raw bytes and collects the answer until the server closes the connection, or until the
 * head of a 101 arrived (the connection then stays open: `socket` is returned to close it).
 */
function exchange(port: number, bytes: string): Promise<{ text: string; closed: boolean; close: () => void }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      text += chunk;
      if (text.startsWith("HTTP/1.1 101 ") && text.includes("\r\n\r\n")) resolve({ text, closed: false, close: () => socket.destroy() });
    });
    socket.on("close", () => resolve({ text, closed: true, close: () => undefined }));
    socket.on("error", reject);
  });
}

function headerOf(text: string, name: string): string | null {
  const match = new RegExp(`^${name}: (.*)$`, "im").exec(text.slice(0, text.indexOf("\r\n\r\n")));
  return match === null ? null : match[1]!;
}

/** A ws client whose messages are queued from the start (the first may come with the 101). */
type Client = WebSocket & { inbox: string[]; waiting: ((text: string) => void) | null };

/** Opens a ws client and waits for it to connect or be refused. */
function open(url: string, protocols: string[] = [], options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<Client> {
  const client = Object.assign(new WebSocket(url, protocols, options), { inbox: [] as string[], waiting: null as ((text: string) => void) | null });
  client.on("message", (data: RawData) => {
    const waiting = client.waiting;
    client.waiting = null;
    if (waiting !== null) waiting(data.toString());
    else client.inbox.push(data.toString());
  });
  return new Promise((resolve, reject) => {
    client.once("open", () => resolve(client));
    client.once("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode, headers: res.headers, body })));
    });
    client.once("error", reject);
  });
}

function nextMessage(ws: Client): Promise<string> {
  const queued = ws.inbox.shift();
  if (queued !== undefined) return Promise.resolve(queued);
  return new Promise((resolve) => (ws.waiting = resolve));
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once("close", (code: number) => resolve(code)));
}

function echoApp(protocols: string[] = [], options: WebSocketOptions = {}): Router {
  const app = new Router();
  app.get(
    "/echo",
    websocket(
      protocols,
      (req, res, next, ctx, ws) => {
        ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
        ws.send(`hello ${ws.protocol} ${ctx.websocket === ws}`);
        return true;
      },
      options,
    ),
  );
  return app;
}

describe("websocket", () => {
  it("echoes messages, and the WebSocket is both the value and ctx.websocket", async () => {
    await withServer(echoApp(), async (c) => {
      const ws = await open(`ws://127.0.0.1:${c.port}/echo`);
      expect(await nextMessage(ws)).toBe("hello  true");
      ws.send("ping");
      expect(await nextMessage(ws)).toBe("ping");
      const done = closed(ws);
      ws.close(1000);
      expect(await done).toBe(1000);
    });
  });

  it("chooses the first of the server's subprotocols that the client offers", async () => {
    await withServer(echoApp(["chat.v2", "chat"]), async (c) => {
      const ws = await open(`ws://127.0.0.1:${c.port}/echo`, ["chat", "chat.v2"]);
      expect(ws.protocol).toBe("chat.v2");
      expect(await nextMessage(ws)).toBe("hello chat.v2 true");
      ws.close();
      const other = await open(`ws://127.0.0.1:${c.port}/echo`, ["chat"]);
      expect(other.protocol).toBe("chat");
      other.close();
    });
  });

  it("sends no Sec-WebSocket-Protocol when there is none in common, or refuses with requireProtocol", async () => {
    await withServer(echoApp(["chat"]), async (c) => {
      const answer = await exchange(c.port, handshake("/echo", { "Sec-WebSocket-Protocol": "mqtt, wamp" }));
      expect(answer.text).toMatch(/^HTTP\/1\.1 101 /);
      expect(headerOf(answer.text, "Sec-WebSocket-Protocol")).toBeNull();
      answer.close();
    });
    await withServer(echoApp(["chat"], { requireProtocol: true }), async (c) => {
      const answer = await exchange(c.port, handshake("/echo", { "Sec-WebSocket-Protocol": "mqtt" }));
      expect(answer.text).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer.text).toContain("no subprotocol in common; this endpoint speaks chat");
      expect(answer.closed).toBe(true);
    });
  });

  it("refuses an origin that is not allowed with 403, before the upgrade", async () => {
    let forwarded = 0;
    const app = new Router();
    app.get("/echo", websocket([], () => (forwarded++, true), { origin: ["https://app.example", "HTTPS://Other.Example:443"] }));
    await withServer(app, async (c) => {
      const refused = await open(`ws://127.0.0.1:${c.port}/echo`, [], { origin: "https://evil.example" }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ status: 403, body: "websocket: this origin may not connect" });
      const allowed = await open(`ws://127.0.0.1:${c.port}/echo`, [], { origin: "https://other.example" });
      allowed.close();
      expect(forwarded).toBe(1);
    });
  });

  it("lets a function decide on the origin, given null when the client sent none", async () => {
    const seen: (string | null)[] = [];
    const app = new Router();
    app.get("/echo", websocket([], () => true, { origin: (origin) => (seen.push(origin), origin === null) }));
    await withServer(app, async (c) => {
      (await open(`ws://127.0.0.1:${c.port}/echo`)).close();
      const refused = await open(`ws://127.0.0.1:${c.port}/echo`, [], { origin: "https://app.example" }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ status: 403 });
      expect(seen).toEqual([null, "https://app.example"]);
    });
  });

  it("answers a GET that is not an upgrade with 426 and Upgrade: websocket", async () => {
    await withServer(echoApp(), async (c) => {
      const res = await c.send("GET", "/echo");
      expect(res.status).toBe(426);
      expect(res.headers["upgrade"]).toBe("websocket");
    });
  });

  it("passes a request that is not an upgrade to the next route with nonUpgrade: next", async () => {
    const app = echoApp([], { nonUpgrade: "next" });
    app.get("/echo", (req, res) => res.expandUtf8("the page with the script"));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/echo")).text).toBe("the page with the script");
      const ws = await open(`ws://127.0.0.1:${c.port}/echo`);
      expect(await nextMessage(ws)).toBe("hello  true");
      ws.close();
    });
  });

  it("lets a middleware before it refuse the handshake (401), without upgrading", async () => {
    let forwarded = 0;
    const app = new Router();
    app.use((req, res, next) => {
      if (req.header("authorization") !== "Bearer good") throw ClientError.unauthorized('Bearer realm="chat"');
      return next();
    });
    app.get("/chat", websocket([], (req, res, next, ctx, ws) => (forwarded++, ws.close(), true)));
    await withServer(app, async (c) => {
      const refused = await open(`ws://127.0.0.1:${c.port}/chat`).catch((e: unknown) => e);
      expect(refused).toMatchObject({ status: 401, headers: { "www-authenticate": 'Bearer realm="chat"' } });
      expect(forwarded).toBe(0);
      const ws = await open(`ws://127.0.0.1:${c.port}/chat`, [], { headers: { Authorization: "Bearer good" } });
      await closed(ws);
      expect(forwarded).toBe(1);
    });
  });

  it("answers an upgrade that a plain route takes, and closes the connection", async () => {
    const app = new Router();
    app.get("/plain", (req, res) => res.expandUtf8("plain"));
    await withServer(app, async (c) => {
      const taken = await exchange(c.port, handshake("/plain"));
      expect(taken.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(taken.text).toMatch(/\r\n\r\nplain$/);
      expect(taken.closed).toBe(true);
      const unrouted = await exchange(c.port, handshake("/nowhere"));
      expect(unrouted.text).toMatch(/^HTTP\/1\.1 404 /);
      expect(unrouted.closed).toBe(true);
    });
  });

  it("does not negotiate permessage-deflate unless asked to", async () => {
    await withServer(echoApp(), async (c) => {
      // The ws client offers permessage-deflate by default.
      const ws = await open(`ws://127.0.0.1:${c.port}/echo`);
      expect(ws.extensions).toBe("");
      ws.close();
    });
    await withServer(echoApp([], { perMessageDeflate: true }), async (c) => {
      const ws = await open(`ws://127.0.0.1:${c.port}/echo`);
      expect(ws.extensions).toMatch(/^permessage-deflate/);
      expect(await nextMessage(ws)).toBe("hello  true");
      ws.close();
    });
  });

  it("closes with 1009 a message over maxPayload", async () => {
    await withServer(echoApp([], { maxPayload: 8 }), async (c) => {
      const ws = await open(`ws://127.0.0.1:${c.port}/echo`);
      await nextMessage(ws);
      const done = closed(ws);
      ws.send("123456789");
      expect(await done).toBe(1009);
    });
  });

  it("survives a client that leaves before the upgrade, and one that leaves after", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let arrived: () => void = () => undefined;
    const waiting = new Promise<void>((r) => (arrived = r));
    const closes: Promise<number>[] = [];
    const app = new Router();
    app.get("/slow", async (req, res, next) => {
      arrived();
      await gate;
      return next();
    });
    const record = websocket([], (req, res, next, ctx, ws) => {
      closes.push(new Promise((resolve) => ws.once("close", (code: number) => resolve(code))));
      ws.send("ready");
      return true;
    });
    app.get("/slow", record);
    app.get("/echo", record);
    await withServer(app, async (c) => {
      // Gone while a middleware waits: node does not read an upgrade's socket, so the loss shows
      // once ws does: the websocket closes at once, abnormally (1006).
      const socket = connect(c.port, "127.0.0.1", () => socket.write(handshake("/slow")));
      const gone = new Promise((resolve) => socket.once("close", resolve));
      await waiting;
      socket.destroy();
      await gone;
      release();
      // Gone after the upgrade: the same close on the server's side; and the server still serves.
      const ws = await open(`ws://127.0.0.1:${c.port}/echo`);
      expect(await nextMessage(ws)).toBe("ready");
      ws.terminate();
      expect(closes).toHaveLength(2);
      expect(await Promise.all(closes)).toEqual([1006, 1006]);
      expect(logged).toEqual([]);
    });
  });

  it("answers malformed handshakes with the status the RFC names", async () => {
    await withServer(echoApp(), async (c) => {
      const badKey = await exchange(c.port, handshake("/echo", { "Sec-WebSocket-Key": "short" }));
      expect(badKey.text).toMatch(/^HTTP\/1\.1 400 /);
      expect(badKey.text).toContain("Sec-WebSocket-Key");
      const oldVersion = await exchange(c.port, handshake("/echo", { "Sec-WebSocket-Version": "7" }));
      expect(oldVersion.text).toMatch(/^HTTP\/1\.1 426 /);
      expect(headerOf(oldVersion.text, "Sec-WebSocket-Version")).toBe("13, 8");
      const badProtocol = await exchange(c.port, handshake("/echo", { "Sec-WebSocket-Protocol": "chat, , chat" }));
      expect(badProtocol.text).toMatch(/^HTTP\/1\.1 400 /);
      expect(badProtocol.text).toContain("malformed Sec-WebSocket-Protocol");
      for (const answer of [badKey, oldVersion, badProtocol]) expect(answer.closed).toBe(true);
    });
  });

  it("on a backend that cannot hand its connection over, answers 501 saying why (or goes on)", async () => {
    const app = new Router();
    app.get("/ws", websocket([], () => true));
    app.get("/maybe", websocket([], () => true, { nonUpgrade: "next" }));
    app.get("/maybe", (req, res) => res.expandUtf8("fallback"));
    const server = await Server.load("scgi", { handler: app });
    await server.listen({ port: 0, host: "127.0.0.1" });
    try {
      const port = Number(server.uris[0]!.port);
      const headers: [string, string][] = [
        ["Connection", "Upgrade"],
        ["Upgrade", "websocket"],
        ["Sec-WebSocket-Version", "13"],
        ["Sec-WebSocket-Key", KEY],
      ];
      const refused = await scgiRequest({ port }, { method: "GET", target: "/ws", headers });
      expect(refused.status).toBe(501);
      expect(refused.body.toString()).toContain("websocket needs the http backend");
      const fallback = await scgiRequest({ port }, { method: "GET", target: "/maybe", headers });
      expect(fallback.body.toString()).toBe("fallback");
    } finally {
      await server.stop();
    }
  });

  it("checks its arguments at registration", () => {
    const forward = (): boolean => true;
    const cases: [unknown, unknown, RegExp][] = [
      ["chat", {}, /option protocols must be an array/],
      [["chat", "chat"], {}, /option protocols/],
      [["a b"], {}, /option protocols/],
      [[], { origin: "https://example.com/path" }, /option origin must be an origin/],
      [[], { origin: [] }, /option origin/],
      [[], { nonUpgrade: "404" }, /option nonUpgrade must be "426" or "next"/],
      [[], { requireProtocol: true }, /option requireProtocol must be false when protocols is empty/],
      [[], { perMessageDeflate: "yes" }, /option perMessageDeflate/],
      [[], { maxPayload: Infinity }, /option maxPayload must be a positive integer/],
      [[], { maxPayload: 0 }, /option maxPayload/],
      [[], { maxPaylod: 10 }, /option maxPaylod must be one of the known options/],
    ];
    for (const [protocols, options, message] of cases) {
      const call = (): unknown => websocket(protocols as string[], forward, options as WebSocketOptions);
      expect(call).toThrow(VsgiError);
      expect(call).toThrow(message);
    }
    expect(() => websocket([], "forward" as never)).toThrow(/option forward must be a function/);
    expect(WEBSOCKET_DEFAULTS.perMessageDeflate).toBe(false);
    expect(Number.isFinite(WEBSOCKET_DEFAULTS.maxPayload)).toBe(true);
    expect(websocket([], forward).name).toBe("websocket");
  });
});
