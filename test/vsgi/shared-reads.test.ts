import { describe, it, expect, afterEach } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { createServer, connect, Socket, type Server } from "node:net";
import { once } from "node:events";
import { pathToFileURL } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { readIntoSharedBuffer, keepBytes } from "../../vsgi/index.js";
import { distPath } from "../helpers/process.js";

const opened: Socket[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A connected pair on loopback: the server's end (just accepted, as a backend gets it) and the client's. */
async function pair(): Promise<{ accepted: Socket; client: Socket }> {
  let accepted!: Socket;
  const server = createServer((s) => {
    opened.push(s);
    accepted = s;
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const client = connect((server.address() as { port: number }).port, "127.0.0.1");
  opened.push(client);
  await once(client, "connect");
  while (accepted === undefined) await new Promise((r) => setImmediate(r));
  return { accepted, client };
}

describe("reads into a shared buffer", () => {
  it("is available on this node: accepted sockets read into one buffer, without 'data' events", async () => {
    const a = await pair();
    const b = await pair();
    const reads: { from: string; text: string; buffer: Buffer }[] = [];
    const record = function (this: Socket, bytes: number, buffer: Buffer): void {
      reads.push({ from: this === a.accepted ? "a" : this === b.accepted ? "b" : "?", text: buffer.toString("latin1", 0, bytes), buffer });
    };
    expect(readIntoSharedBuffer(a.accepted, record)).toBe(true);
    expect(readIntoSharedBuffer(b.accepted, record)).toBe(true);
    let dataEvents = 0;
    a.accepted.on("data", () => dataEvents++);
    a.client.write("hello");
    while (reads.length < 1) await sleep(5);
    b.client.write("world");
    while (reads.length < 2) await sleep(5);
    expect(reads.map((r) => `${r.from}:${r.text}`)).toEqual(["a:hello", "b:world"]);
    expect(reads[0]!.buffer).toBe(reads[1]!.buffer); // one buffer for both sockets
    expect(dataEvents).toBe(0);
  });

  it("stops reading while the socket is paused, and still ends and closes", async () => {
    const { accepted, client } = await pair();
    const texts: string[] = [];
    readIntoSharedBuffer(accepted, (bytes, buffer) => texts.push(buffer.toString("latin1", 0, bytes)));
    accepted.pause();
    client.write("while paused");
    await sleep(100);
    expect(texts).toEqual([]);
    accepted.resume();
    while (texts.length < 1) await sleep(5);
    expect(texts).toEqual(["while paused"]);
    const ended = once(accepted, "end");
    const closed = once(accepted, "close");
    client.end();
    await ended;
    accepted.end();
    await closed;
  });

  it("refuses a socket that has no handle (never connected), and one already set up", async () => {
    expect(readIntoSharedBuffer(new Socket(), () => {})).toBe(false);
    const { accepted } = await pair();
    expect(readIntoSharedBuffer(accepted, () => {})).toBe(true);
    expect(readIntoSharedBuffer(accepted, () => {})).toBe(false);
  });

  it("keepBytes copies a view of the shared buffer and passes other buffers through", async () => {
    const { accepted, client } = await pair();
    const seen: { view: Buffer; kept: Buffer }[] = [];
    readIntoSharedBuffer(accepted, (bytes, buffer) => {
      const view = buffer.subarray(0, bytes);
      seen.push({ view, kept: keepBytes(view) });
    });
    client.write("abc");
    while (seen.length === 0) await sleep(5);
    const { view, kept } = seen[0]!;
    expect(kept.buffer).not.toBe(view.buffer);
    expect(kept.toString()).toBe("abc");
    const own = Buffer.from("xyz");
    expect(keepBytes(own)).toBe(own);
  });

  it("is off with VSGI_SHARED_READS=0: the caller listens to 'data' instead", () => {
    const url = pathToFileURL(distPath("vsgi/index.js")).href;
    const script = `
      import { createServer, connect } from "node:net";
      const { readIntoSharedBuffer } = await import(${JSON.stringify(url)});
      const server = createServer((s) => { console.log(readIntoSharedBuffer(s, () => {})); s.destroy(); server.close(); });
      server.listen(0, "127.0.0.1", () => connect(server.address().port, "127.0.0.1").on("error", () => {}));`;
    const run = (value: string | undefined): string =>
      spawnSync(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, VSGI_SHARED_READS: value }, encoding: "utf8" }).stdout.trim();
    expect(run("0")).toBe("false");
    expect(run("1")).toBe("true");
  });
});
