// The header block limits of the gateway protocols at their edge, on real sockets: an SCGI
// netstring of exactly maxHeaderSize bytes, a FastCGI PARAMS stream of exactly maxParamsSize
// bytes and an AJP packet of exactly packetSize bytes are served; one byte more is refused as
// the protocol can (431, or a closed connection for AJP, whose framing has no room for an answer).
import { describe, it, expect, afterEach } from "@jest/globals";
import { loggedLines } from "../helpers/log.js";
import { limitsApp } from "../helpers/limits-app.js";
import { exchange as scgiExchange } from "../helpers/scgi-client.js";
import { FastcgiClient, parseCgiResponse } from "../helpers/fastcgi-client.js";
import { AjpSocket, exchange as ajpExchange, forwardRequest } from "../helpers/ajp-client.js";
import { encodeHead } from "../../servers/scgi/index.js";
import { encodePairs } from "../../servers/fastcgi/records.js";
import { Server } from "../../vsgi/index.js";

const BASE: [string, string][] = [
  ["REQUEST_METHOD", "GET"],
  ["REQUEST_URI", "/"],
  ["SCRIPT_NAME", ""],
  ["QUERY_STRING", ""],
  ["HTTP_HOST", "x"],
];

/** Variables whose `encode`d size is exactly `size`, padded with HTTP_X_PAD. */
function padded(size: number, encode: (variables: [string, string][]) => number): [string, string][] {
  const bare = encode([...BASE, ["HTTP_X_PAD", ""]]);
  // one-byte lengths grow to four past 127: aim below that and take the rest byte by byte
  for (let n = Math.max(0, size - bare - 8); n <= size - bare; n++) {
    const variables: [string, string][] = [...BASE, ["HTTP_X_PAD", "p".repeat(n)]];
    if (encode(variables) === size) return variables;
  }
  throw new Error(`no padding gives ${size} bytes`);
}

describe("header blocks at their edge", () => {
  let server: Server | null = null;
  const logged = loggedLines();
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  async function start(name: string, options: Record<string, unknown>): Promise<number> {
    server = await Server.load(name, { handler: limitsApp(() => undefined), ...options });
    await server.listen({ port: 0, host: "127.0.0.1" });
    return Number(server.uris[0]!.port);
  }

  it("scgi: a netstring of maxHeaderSize bytes is served, one byte more is a 431", async () => {
    const port = await start("scgi", { maxHeaderSize: 1000 });
    // The netstring's length counts the header bytes (CONTENT_LENGTH included), not `len:` and `,`.
    const blockSize = (variables: [string, string][]): number => {
      const head = encodeHead(variables, 0);
      return Number(head.subarray(0, head.indexOf(":")).toString());
    };
    const at = await scgiExchange({ port }, encodeHead(padded(1000, blockSize), 0));
    expect(at.toString("latin1")).toMatch(/(?:^|\r\n)Status: 200 OK\r\n\r\nfields 3 target 1$/);
    const over = await scgiExchange({ port }, encodeHead(padded(1001, blockSize), 0));
    expect(over.toString("latin1")).toMatch(/(?:^|\r\n)Status: 431 /);
    expect(logged.join("\n")).toMatch(/larger than maxHeaderSize \(1000 bytes\)/);
  }, 20000);

  it("fastcgi: PARAMS of maxParamsSize bytes are served, one byte more is a 431 and the connection goes on", async () => {
    const port = await start("fastcgi", { maxParamsSize: 1024 });
    const client = await FastcgiClient.connect({ port });
    const size = (variables: [string, string][]): number => encodePairs(variables).length;
    const at = await client.request({ params: padded(1024, size), keepConn: true, paramsRecordSize: 300 });
    expect(parseCgiResponse(at.stdout).body.toString()).toBe("fields 2 target 1");
    const over = await client.request({ params: padded(1025, size), keepConn: true, paramsRecordSize: 300 });
    expect(parseCgiResponse(over.stdout).status).toBe(431);
    expect(over.protocolStatus).toBe(0);
    const again = await client.request({ params: BASE, keepConn: true });
    expect(parseCgiResponse(again.stdout).status).toBe(200);
    await client.close();
  }, 20000);

  it("ajp: a FORWARD_REQUEST of packetSize bytes is served, one byte more closes the connection", async () => {
    const port = await start("ajp", {});
    const spec = (pad: number) => ({ method: "GET", uri: "/", headers: [["Host", "x"], ["X-Pad", "p".repeat(pad)]] as [string, string][] });
    const bare = forwardRequest(spec(0)).length;
    const atSize = spec(8192 - bare);
    expect(forwardRequest(atSize).length).toBe(8192);
    const socket = await AjpSocket.connect(port);
    const at = await ajpExchange(socket, atSize);
    expect(at.body.toString()).toBe("fields 2 target 1");
    expect(at.reuse).toBe(true);
    const overSize = spec(8193 - bare);
    socket.write(forwardRequest(overSize));
    expect(await socket.next()).toBeNull();
    expect(logged.join("\n")).toMatch(/packet of 8193 bytes is larger than the packet size 8192/);
  }, 20000);
});
