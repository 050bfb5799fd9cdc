// Request smuggling: bytes that one reader would take for a second request never reach the
// application as one. http: node's llhttp with the backend's options (strict, whatever
// NODE_OPTIONS says); scgi, fastcgi, cgi: CONTENT_LENGTH and the protocol's framing only, never
// HTTP_TRANSFER_ENCODING or HTTP_CONTENT_LENGTH; ajp: a body packet is never read as a request.
import { describe, it, expect, beforeAll, afterAll, beforeEach } from "@jest/globals";
import { Server, setErrorLogger } from "../../vsgi/index.js";
import { encodeHead } from "../../servers/scgi/wire.js";
import { beginRequestRecord, encodePairs, encodeRecord, streamRecords, PARAMS, STDIN, RESPONDER } from "../../servers/fastcgi/records.js";
import { AjpSocket, bodyPacket, forwardRequest } from "../helpers/ajp-client.js";
import { FastcgiClient } from "../helpers/fastcgi-client.js";
import { distPath, start, type Program } from "../helpers/process.js";
import { securityApp, counted } from "./app.js";
import { baseVariables, cgiRaw, httpRaw, scgiRaw } from "./gateways.js";

const SMUGGLED = "GET /count/smuggled HTTP/1.1\r\nHost: h\r\n\r\n";

/**
 * HTTP shapes, each sent alone on one connection. `refuse`: the message is malformed or
 * ambiguous (RFC 9112 sections 6.1, 6.3 and 7.1) and must get a 400 (or a closed connection).
 * Wherever a smuggled request sits, the Content-Length reading counts it as body, the chunked
 * reading (or a lenient one) as a second request.
 */
function shapes(): { name: string; bytes: string; refuse: boolean }[] {
  const chunkedEnd = "0\r\n\r\n" + SMUGGLED;
  const cl = `Content-Length: ${chunkedEnd.length}\r\n`;
  const post = "POST /count/first HTTP/1.1\r\nHost: h\r\n";
  const te = (value: string, name = "Transfer-Encoding") => ({
    name: `CL + ${JSON.stringify(name)}: ${JSON.stringify(value)}`,
    bytes: post + cl + `${name}: ${value}\r\n\r\n` + chunkedEnd,
    refuse: true,
  });
  const chunk = (name: string, body: string) => ({
    name: `chunk-size trick: ${name}`,
    bytes: post + "Transfer-Encoding: chunked\r\n\r\n" + body + SMUGGLED,
    refuse: true,
  });
  return [
    te("chunked"),
    { name: "TE then CL", bytes: post + "Transfer-Encoding: chunked\r\n" + cl + "\r\n" + chunkedEnd, refuse: true },
    te("chunked, identity"),
    te("identity, chunked"),
    te(" chunked"),
    te("Chunked"),
    te("CHUNKED"),
    te("\tchunked"),
    te("chunked "),
    te("xchunked"),
    te("chunked\x0b"),
    te("chunk"),
    te("chunked, chunked"),
    te("chunked", "Transfer-Encoding "),
    te("chunked", " Transfer-Encoding"),
    te("chunked", "Transfer-Encoding\t"),
    { name: "TE without CL: xchunked", bytes: post + "Transfer-Encoding: xchunked\r\n\r\n" + chunkedEnd, refuse: true },
    { name: "TE without CL: chunked, identity", bytes: post + "Transfer-Encoding: chunked, identity\r\n\r\n" + chunkedEnd, refuse: true },
    { name: "TE twice: chunked then identity", bytes: post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n" + chunkedEnd, refuse: true },
    { name: "TE by obsolete line folding", bytes: post + cl + "Transfer-Encoding:\r\n chunked\r\n\r\n" + chunkedEnd, refuse: true },
    { name: "X: folded TE", bytes: post + cl + "X: a\r\n Transfer-Encoding: chunked\r\n\r\n" + chunkedEnd, refuse: true },
    {
      name: "two Content-Length, different values",
      bytes: "POST /count/first HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n" + `Content-Length: ${SMUGGLED.length}\r\n\r\n` + SMUGGLED,
      refuse: true,
    },
    { name: "Content-Length: 0, N", bytes: `POST /count/first HTTP/1.1\r\nHost: h\r\nContent-Length: 0, ${SMUGGLED.length}\r\n\r\n` + SMUGGLED, refuse: true },
    { name: "Content-Length: +N", bytes: `POST /count/first HTTP/1.1\r\nHost: h\r\nContent-Length: +${SMUGGLED.length}\r\n\r\n` + SMUGGLED, refuse: true },
    { name: "Content-Length: -1", bytes: `POST /count/first HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n` + SMUGGLED, refuse: true },
    { name: "Content-Length in hex", bytes: `POST /count/first HTTP/1.1\r\nHost: h\r\nContent-Length: 0x${SMUGGLED.length.toString(16)}\r\n\r\n` + SMUGGLED, refuse: true },
    { name: "Content-Length with a space inside", bytes: `POST /count/first HTTP/1.1\r\nHost: h\r\nContent-Length: 0 ${SMUGGLED.length}\r\n\r\n` + SMUGGLED, refuse: true },
    { name: "bare LF before TE", bytes: post + cl + "X: a\nTransfer-Encoding: chunked\r\n\r\n" + chunkedEnd, refuse: true },
    { name: "bare CR before TE", bytes: post + cl + "X: a\rTransfer-Encoding: chunked\r\n\r\n" + chunkedEnd, refuse: true },
    { name: "NUL in a header value", bytes: post + cl + "X: a\0b\r\n\r\n" + chunkedEnd, refuse: true },
    chunk("0x5", "0x5\r\nhello\r\n0\r\n\r\n"),
    chunk("+5", "+5\r\nhello\r\n0\r\n\r\n"),
    chunk("-5", "-5\r\nhello\r\n0\r\n\r\n"),
    chunk("leading space", " 5\r\nhello\r\n0\r\n\r\n"),
    chunk("size overflow", "10000000000000005\r\nhello\r\n0\r\n\r\n"),
    chunk("bare LF after the size", "5\nhello\r\n0\r\n\r\n"),
    chunk("data longer than the size", "3\r\nhello\r\n0\r\n\r\n"),
    chunk("no CRLF after the data", "5\r\nhello0\r\n\r\n"),
    chunk("bare LF after the data", "5\r\nhello\n0\r\n\r\n"),
    chunk("size not hex", "g\r\nhello\r\n0\r\n\r\n"),
  ];
}

/** The count line of each response on the connection, in order. */
function answered(raw: string): string[] {
  return [...raw.matchAll(/count \w+ (\S+)/g)].map((m) => m[1]!);
}

describe("http, in process", () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    setErrorLogger(() => undefined);
    server = await Server.load("http", { handler: securityApp() });
    await server.listen({ port: 0, host: "127.0.0.1" });
    port = Number(server.uris[0]!.port);
  });
  afterAll(async () => {
    await server.stop();
    setErrorLogger((message, error) => console.error(message, error));
  });
  beforeEach(() => {
    counted.requests = 0;
    counted.paths.length = 0;
  });

  it.each(shapes().map((s) => [s.name, s] as const))("%s: a 400, the smuggled request never handled", async (_name, shape) => {
    const answer = await httpRaw(port, shape.bytes, 1000);
    expect(counted.paths).not.toContain("/count/smuggled");
    expect(answered(answer.raw.toString("latin1"))).not.toContain("/count/smuggled");
    if (shape.refuse) {
      expect(counted.requests).toBe(0);
      expect([0, 400]).toContain(answer.status);
      expect(answer.statuses.length).toBeLessThanOrEqual(1);
    }
  });

  it("a plain pipelined pair is two requests (the test can fail)", async () => {
    const answer = await httpRaw(port, "POST /count/first HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" + SMUGGLED, 1000);
    expect(answered(answer.raw.toString("latin1"))).toEqual(["/count/first", "/count/smuggled"]);
    expect(counted.paths).toEqual(["/count/first", "/count/smuggled"]);
  });
});

describe("http, with NODE_OPTIONS=--insecure-http-parser", () => {
  let program: Program;
  let port: number;
  beforeAll(async () => {
    program = start(distPath("test/security/http-app.js"), ["-p", "0"], { NODE_OPTIONS: "--insecure-http-parser" });
    const m = await program.waitFor(/Listening on 'http:\/\/[^:]+:(\d+)\//);
    port = Number(m[1]);
  }, 30000);
  afterAll(async () => {
    program.kill();
    await program.exited;
  });

  it("the backend's parser stays strict: every ambiguous shape is a 400", async () => {
    const verdicts: [string, number, string[]][] = [];
    for (const shape of shapes().filter((s) => s.refuse)) {
      const answer = await httpRaw(port, shape.bytes, 1000);
      verdicts.push([shape.name, answer.status === 0 ? 400 : answer.status, answered(answer.raw.toString("latin1"))]);
    }
    expect(verdicts.filter(([, status, paths]) => status !== 400 || paths.length > 0)).toEqual([]);
  }, 60000);
});

describe("scgi, fastcgi, ajp and cgi", () => {
  const servers: Server[] = [];
  const ports: Record<string, number> = {};
  beforeAll(async () => {
    setErrorLogger(() => undefined);
    for (const name of ["scgi", "fastcgi", "ajp"]) {
      const server = await Server.load(name, { handler: securityApp() });
      await server.listen({ port: 0 });
      servers.push(server);
      ports[name] = Number(server.uris[0]!.port);
    }
  });
  afterAll(async () => {
    for (const server of servers) await server.stop();
    setErrorLogger((message, error) => console.error(message, error));
  });
  beforeEach(() => {
    counted.requests = 0;
    counted.paths.length = 0;
  });

  const post = (extra: [string, string][] = []): [string, string][] => [...baseVariables("POST"), ["REQUEST_URI", "/count/first"], ...extra];
  const chunked = Buffer.from("0\r\n\r\n" + SMUGGLED);

  it("scgi: HTTP_TRANSFER_ENCODING and HTTP_CONTENT_LENGTH are ignored, CONTENT_LENGTH frames the body", async () => {
    // a chunked reading would end the body at once and see a second request in it
    const variables = post([["HTTP_TRANSFER_ENCODING", "chunked"], ["HTTP_CONTENT_LENGTH", "0"]]);
    const answer = await scgiRaw(ports.scgi!, variables, chunked);
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe(`count POST /count/first ${chunked.length} te=null`);
    expect(counted.paths).toEqual(["/count/first"]);
  });

  it("scgi: bytes past CONTENT_LENGTH (a second request on the connection) are refused, never served", async () => {
    const second = encodeHead([...baseVariables(), ["REQUEST_URI", "/count/smuggled"]], 0);
    const answer = await scgiRaw(ports.scgi!, post(), Buffer.concat([chunked, second]), chunked.length);
    expect(answer.status).toBe(400);
    expect(counted.paths).not.toContain("/count/smuggled");
  });

  it("scgi: a body shorter than CONTENT_LENGTH is no request", async () => {
    const answer = await scgiRaw(ports.scgi!, post(), Buffer.from("abc"), 10);
    expect([0, 400]).toContain(answer.status);
    expect(counted.requests).toBe(0);
  });

  it("fastcgi: CONTENT_LENGTH frames the body whatever HTTP_TRANSFER_ENCODING says; records inside STDIN stay body", async () => {
    // the body holds the records of a second request: read as records, they would be one
    const records = Buffer.concat([
      beginRequestRecord(2, RESPONDER, 0),
      ...streamRecords(PARAMS, 2, encodePairs([...baseVariables(), ["REQUEST_URI", "/count/smuggled"]]), true, 65535),
      encodeRecord(STDIN, 2),
    ]);
    const body = Buffer.concat([chunked, records]);
    for (const length of [body.length, chunked.length]) {
      const client = await FastcgiClient.connect({ port: ports.fastcgi! });
      try {
        const params = post([["CONTENT_LENGTH", String(length)], ["HTTP_TRANSFER_ENCODING", "chunked"]]);
        const result = await client.request({ params, body });
        const text = result.stdout.toString("latin1");
        // the body as declared; what STDIN holds past CONTENT_LENGTH is dropped, never parsed
        expect(text).toContain(`count POST /count/first ${length} te=null`);
      } finally {
        client.socket.destroy();
      }
    }
    expect(counted.paths).not.toContain("/count/smuggled");
  });

  it("fastcgi: STDIN that ends before CONTENT_LENGTH is no request", async () => {
    const client = await FastcgiClient.connect({ port: ports.fastcgi! });
    try {
      const result = await client.request({ params: post([["CONTENT_LENGTH", "10"]]), body: Buffer.from("abc") });
      expect(result.stdout.toString("latin1")).not.toContain("count POST");
    } finally {
      client.socket.destroy();
    }
    expect(counted.requests).toBe(0);
  });

  it("ajp: a body the application did not read is never taken for the next request", async () => {
    // A body packet crafted so that, read as a packet, its payload is a FORWARD_REQUEST: the
    // chunk length (0x0202) reads as the type byte 2 and the method GET.
    const smuggled = forwardRequest({ method: "GET", uri: "/count/smuggled", headers: [["Host", "h"], ["X-Pad", ""]] }).subarray(4);
    const padded = forwardRequest({ method: "GET", uri: "/count/smuggled", headers: [["Host", "h"], ["X-Pad", "p".repeat(516 - smuggled.length)]] }).subarray(4);
    expect(padded.length).toBe(516);
    expect(padded.readUInt16BE(0)).toBe(0x0202);
    const data = padded.subarray(2);
    const socket = await AjpSocket.connect(ports.ajp!);
    try {
      const head = forwardRequest({ method: "POST", uri: "/count/noread", headers: [["Host", "h"], ["Content-Length", String(data.length)]] });
      socket.write(Buffer.concat([head, bodyPacket(data)]));
      const types: number[] = [];
      for (let p = await socket.next(); p !== null; p = await socket.next()) {
        types.push(p[0]!);
        if (p[0] === 5) {
          // reuse=1: the connection stays open; anything more would be a second answer
          await new Promise((resolve) => setTimeout(resolve, 300));
          while (socket.pending > 0) types.push((await socket.next())![0]!);
          break;
        }
      }
      expect(types.filter((t) => t === 4)).toHaveLength(1);
    } finally {
      socket.destroy();
    }
    expect(counted.paths).toEqual(["/count/noread"]);
  });

  it("ajp: a body packet longer than the Content-Length is no request", async () => {
    const socket = await AjpSocket.connect(ports.ajp!);
    try {
      const head = forwardRequest({ method: "POST", uri: "/count/first", headers: [["Host", "h"], ["Content-Length", "5"]] });
      socket.write(Buffer.concat([head, bodyPacket(Buffer.from("hello, and more"))]));
      let status = 0;
      for (let p = await socket.next(); p !== null; p = await socket.next()) if (p[0] === 4) status = p.readUInt16BE(1);
      expect([0, 400]).toContain(status);
    } finally {
      socket.destroy();
    }
    expect(counted.requests).toBe(0);
  });

  it("cgi: HTTP_TRANSFER_ENCODING is ignored and stdin past CONTENT_LENGTH is no request", async () => {
    const stdin = Buffer.concat([chunked, Buffer.from(SMUGGLED)]);
    const answer = await cgiRaw(
      distPath("test/security/security-cgi-app.js"),
      post([["CONTENT_LENGTH", String(chunked.length)], ["HTTP_TRANSFER_ENCODING", "chunked"]]),
      {},
      stdin,
    );
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe(`count POST /count/first ${chunked.length} te=null`);
  }, 30000);
});
