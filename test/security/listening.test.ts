// FastCGI, SCGI and AJP carry no authentication: given only a port, every listening backend
// binds the loopback, and the `allow` list of peer addresses closes other peers at once, an
// IPv4-mapped IPv6 peer counted as its IPv4 address. 127.0.0.2 is a second loopback peer on
// Linux (connect with localAddress), a peer outside the list without leaving the machine.
import { describe, it, expect, afterEach } from "@jest/globals";
import { connect } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { Server } from "../../vsgi/index.js";
import { encodeHead } from "../../servers/scgi/wire.js";
import { beginRequestRecord, encodePairs, encodeRecord, streamRecords, PARAMS, STDIN, RESPONDER } from "../../servers/fastcgi/records.js";
import { forwardRequest } from "../helpers/ajp-client.js";
import { freePort } from "../helpers/ports.js";
import { loggedLines } from "../helpers/log.js";
import { baseVariables } from "./gateways.js";

type Backend = "http" | "scgi" | "fastcgi" | "ajp";

/** One whole request in each protocol, to send on a fresh connection. */
function requestBytes(backend: Backend): Buffer {
  const vars: [string, string][] = [...baseVariables(), ["REQUEST_URI", "/"]];
  switch (backend) {
    case "http":
      return Buffer.from("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    case "scgi":
      return encodeHead(vars, 0);
    case "fastcgi":
      return Buffer.concat([beginRequestRecord(1, RESPONDER, 0), ...streamRecords(PARAMS, 1, encodePairs(vars), true, 65535), encodeRecord(STDIN, 1)]);
    case "ajp":
      return forwardRequest({ method: "GET", uri: "/", headers: [["Host", "h"]] });
  }
}

/** What a connection from `from` to `host:port` gets back: bytes, or `refused` when it cannot connect. */
function probe(backend: Backend, host: string, port: number, from?: string): Promise<Buffer | "refused"> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, ...(from !== undefined ? { localAddress: from } : {}) });
    const chunks: Buffer[] = [];
    let connected = false;
    const timer = setTimeout(() => socket.destroy(), 1500);
    socket.on("connect", () => {
      connected = true;
      socket.write(requestBytes(backend));
    });
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(connected ? Buffer.concat(chunks) : "refused");
    });
  });
}

/** An address of this machine that is not the loopback, if it has one. */
function outsideAddress(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === "IPv4") return a.address;
  }
  return null;
}

const hasIpv6 = Object.values(networkInterfaces()).some((list) => (list ?? []).some((a) => a.address === "::1"));
const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
});

async function startOn(backend: Backend, address: { port: number; host?: string }, options: Record<string, unknown> = {}): Promise<number> {
  const server = await Server.load(backend, { handler: (req: unknown, res: { expandUtf8(t: string): Promise<true> }) => res.expandUtf8("served"), ...options });
  await server.listen(address);
  servers.push(server);
  return Number(server.uris[0]!.port);
}

describe.each(["scgi", "fastcgi", "ajp", "http"] as const)("%s", (backend) => {
  const lines = loggedLines();
  it("given only a port, listens on the loopback alone", async () => {
    const port = await startOn(backend, { port: await freePort() });
    expect(servers[0]!.uris.map((u) => u.hostname)).toEqual(["127.0.0.1"]);
    const served = await probe(backend, "127.0.0.1", port);
    expect(served).not.toBe("refused");
    expect((served as Buffer).length).toBeGreaterThan(0);
    const outside = outsideAddress();
    if (outside !== null) expect(await probe(backend, outside, port)).toBe("refused");
  });

  it("closes a peer outside the allow list at once, with nothing sent, and serves the listed one", async () => {
    const port = await startOn(backend, { port: 0 }, { allow: ["127.0.0.2"] });
    expect(await probe(backend, "127.0.0.1", port, "127.0.0.1")).toEqual(Buffer.alloc(0));
    const listed = await probe(backend, "127.0.0.1", port, "127.0.0.2");
    expect((listed as Buffer).toString("latin1")).toContain("served");
    // refused silently: a log line per connection would let any peer flood the log
    expect(lines).toEqual([]);
  });

  (hasIpv6 ? it : it.skip)("an IPv4-mapped IPv6 peer is its IPv4 address, whichever way the list spells it", async () => {
    for (const allow of [["127.0.0.2"], ["::ffff:127.0.0.2"]]) {
      lines.length = 0;
      // a dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d
      const port = await startOn(backend, { port: 0, host: "::" }, { allow });
      expect(((await probe(backend, "127.0.0.1", port, "127.0.0.2")) as Buffer).toString("latin1")).toContain("served");
      expect(await probe(backend, "127.0.0.1", port, "127.0.0.1")).toEqual(Buffer.alloc(0));
      expect(await probe(backend, "::1", port)).toEqual(Buffer.alloc(0));
      expect(lines).toEqual([]);
      for (const server of servers.splice(0)) await server.stop();
    }
  });

  (hasIpv6 ? it : it.skip)("an entry is an address however it is spelled: expanded, upper case, mapped in hex", async () => {
    for (const [allow, from, to] of [
      [["0:0:0:0:0:0:0:1"], undefined, "::1"],
      [["::0001"], undefined, "::1"],
      [["::FFFF:127.0.0.2"], "127.0.0.2", "127.0.0.1"],
      [["::ffff:7f00:2"], "127.0.0.2", "127.0.0.1"],
    ] as [string[], string | undefined, string][]) {
      const port = await startOn(backend, { port: 0, host: "::" }, { allow });
      const answer = await probe(backend, to, port, from);
      expect([allow, (answer as Buffer).toString("latin1").includes("served")]).toEqual([allow, true]);
      for (const server of servers.splice(0)) await server.stop();
    }
  });

  it("a peer on a UNIX socket, which has no IP address, is served whatever the list: its file's permissions guard it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vsgi-allow-"));
    try {
      const path = join(dir, "backend.sock");
      const server = await Server.load(backend, { handler: (req: unknown, res: { expandUtf8(t: string): Promise<true> }) => res.expandUtf8("served"), allow: ["127.0.0.2"] });
      await server.listen({ path });
      servers.push(server);
      const answer = await new Promise<Buffer>((resolve) => {
        const socket = connect({ path });
        const chunks: Buffer[] = [];
        socket.on("connect", () => socket.write(requestBytes(backend)));
        socket.on("data", (c: Buffer) => {
          chunks.push(c);
          if (Buffer.concat(chunks).includes("served")) socket.destroy();
        });
        socket.on("error", () => undefined);
        socket.on("close", () => resolve(Buffer.concat(chunks)));
      });
      expect(answer.toString("latin1")).toContain("served");
    } finally {
      for (const server of servers.splice(0)) await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("an entry that is no IP address is an error naming the option, not a list that refuses everyone", async () => {
    for (const allow of [["localhost"], ["127.0.0.1/8"], ["10.0.0.300"], [""], [42]]) {
      await expect(Server.load(backend, { handler: () => false, allow } as never)).rejects.toThrow(/option allow/);
    }
  });
});

