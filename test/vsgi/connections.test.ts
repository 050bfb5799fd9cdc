import { describe, it, expect, afterEach } from "@jest/globals";
import { createServer, connect, type Socket, type Server } from "node:net";
import { once } from "node:events";
import { ConnectionList, TrackedConnection } from "../../vsgi/index.js";

// Real sockets on loopback: a tracked connection is the server's end of one.
const opened: Socket[] = [];
const servers: Server[] = [];
const lists: ConnectionList[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) s.destroy();
  for (const l of lists.splice(0)) l.close();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function serverSockets(n: number): Promise<Socket[]> {
  const accepted: Socket[] = [];
  const server = createServer((s) => {
    opened.push(s);
    accepted.push(s);
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  for (let i = 0; i < n; i++) {
    const client = connect(port, "127.0.0.1");
    opened.push(client);
    await once(client, "connect");
  }
  while (accepted.length < n) await new Promise((r) => setImmediate(r));
  return accepted;
}

class Probe extends TrackedConnection {
  expiredAt: number | null = null;
  override expired(): void {
    this.expiredAt = Date.now();
  }
}

function list(shortestTimeout: number): ConnectionList {
  const l = new ConnectionList(shortestTimeout);
  lists.push(l);
  return l;
}

describe("TrackedConnection.listen", () => {
  it("routes the socket's events to the connection's on* methods, end and finish only when asked", async () => {
    const [a, b] = await serverSockets(2);
    const events: string[] = [];
    class Recorder extends TrackedConnection {
      constructor(socket: Socket, tag: string, also: { end?: boolean; finish?: boolean }) {
        super(socket);
        this.tag = tag;
        this.listen(also);
      }
      readonly tag: string;
      override onData(chunk: Buffer): void {
        events.push(`${this.tag} data ${chunk.toString()}`);
        this.socket.end("bye");
      }
      override onEnd(): void {
        events.push(`${this.tag} end`);
      }
      override onFinish(): void {
        events.push(`${this.tag} finish`);
      }
      override onClose(): void {
        events.push(`${this.tag} close`);
      }
    }
    new Recorder(a!, "A", { end: true, finish: true });
    new Recorder(b!, "B", {});
    // the client ends of the two sockets: the ones opened by serverSockets, in order
    const clients = opened.filter((s) => s !== a && s !== b);
    for (const client of clients) {
      client.on("data", () => undefined);
      client.end("hi");
    }
    await Promise.all([once(a!, "close"), once(b!, "close")]);
    expect(events.filter((e) => e.startsWith("A")).sort()).toEqual(["A close", "A data hi", "A end", "A finish"]);
    expect(events.filter((e) => e.startsWith("B")).sort()).toEqual(["B close", "B data hi"]);
  });
});

describe("ConnectionList", () => {
  it("adds and removes connections in any order, removing twice doing nothing", async () => {
    const [a, b, c] = (await serverSockets(3)).map((s) => new Probe(s));
    const l = list(1000);
    l.add(a!);
    l.add(b!);
    l.add(c!);
    expect(l.size).toBe(3);
    expect(l.toArray()).toEqual([c, b, a]);
    l.remove(b!); // the middle
    expect(l.toArray()).toEqual([c, a]);
    l.remove(c!); // the head
    l.remove(c!);
    expect(l.toArray()).toEqual([a]);
    expect(l.size).toBe(1);
    l.remove(a!);
    expect(l.toArray()).toEqual([]);
    expect(l.size).toBe(0);
    expect(a!.list).toBeNull();
  });

  it("runs expired() once a connection's timeout passes, and not before", async () => {
    const [s] = await serverSockets(1);
    const l = list(40); // checked every 10 ms
    const probe = new Probe(s!);
    l.add(probe);
    const armed = Date.now();
    probe.expireIn(60);
    while (probe.expiredAt === null && Date.now() - armed < 2000) await new Promise((r) => setTimeout(r, 5));
    expect(probe.expiredAt).not.toBeNull();
    // the coarse clock may lag by one resolution step: never earlier than that
    expect(probe.expiredAt! - armed).toBeGreaterThanOrEqual(60 - 10);
    expect(probe.deadline).toBe(0); // fired once
  });

  it("postpones the timeout when re-armed, and cancels it with expireIn(0)", async () => {
    const [s, t] = await serverSockets(2);
    const l = list(40);
    const rearmed = new Probe(s!);
    const cancelled = new Probe(t!);
    l.add(rearmed);
    l.add(cancelled);
    rearmed.expireIn(60);
    cancelled.expireIn(60);
    cancelled.expireIn(0);
    const start = Date.now();
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 25));
      rearmed.expireIn(60); // activity keeps it alive
    }
    expect(rearmed.expiredAt).toBeNull();
    expect(Date.now() - start).toBeGreaterThanOrEqual(140);
    await new Promise((r) => setTimeout(r, 150));
    expect(rearmed.expiredAt).not.toBeNull();
    expect(cancelled.expiredAt).toBeNull();
  });

  it("counts requests, closes an idle connection once a stop is under way, and forgets a closed one", async () => {
    const [s] = await serverSockets(1);
    const l = list(1000);
    const connection = new TrackedConnection(s!);
    l.add(connection);
    connection.requestStarted();
    connection.requestStarted();
    connection.requestFinished();
    l.stopping = true;
    expect(s!.writableEnded).toBe(false); // one request still under way
    connection.requestFinished();
    expect(connection.busy).toBe(0);
    expect(s!.writableEnded).toBe(true); // closed as idle
    connection.untrack();
    expect(l.size).toBe(0);
    connection.requestFinished(); // after the close: nothing
    expect(connection.busy).toBe(0);
  });

  it("arms nothing for a connection that is not in a list", async () => {
    const [s] = await serverSockets(1);
    const probe = new Probe(s!);
    probe.expireIn(10);
    expect(probe.deadline).toBe(0);
  });

  it("destroys the socket by default when the timeout passes, and ends it when closed idle", async () => {
    const [s, t] = await serverSockets(2);
    const l = list(40);
    const timed = new TrackedConnection(s!);
    l.add(timed);
    timed.expireIn(20);
    await once(s!, "close");
    expect(s!.destroyed).toBe(true);
    const idle = new TrackedConnection(t!);
    idle.closeIdle();
    await once(t!, "finish");
    expect(t!.writableEnded).toBe(true);
  });
});
