import { describe, it, expect, afterEach, beforeAll, afterAll } from "@jest/globals";
import { createHash } from "node:crypto";
import { conformance } from "./conformance.js";
import {
  AjpSocket,
  CPING,
  ajpTransport,
  bodyPacket,
  exchange,
  forwardRequest,
  parseBodyChunk,
  parseSendHeaders,
  startAjp,
} from "../helpers/ajp-client.js";
import { bytes, random } from "../helpers/random.js";
import {
  AjpWireError,
  MAGIC_IN,
  PacketParser,
  bodyData,
  encodeBodyChunks,
  bodyChunkPieces,
  encodeQueryString,
  encodeRequestPath,
  encodeSendHeaders,
  getBodyChunk,
  isSpecBodyPacket,
  parseForwardRequest,
  CPONG_PACKET,
  END_REUSE,
} from "../../servers/ajp/wire.js";
import { environmentOf } from "../../servers/ajp/request.js";
import { secretMatches } from "../../servers/ajp/connection.js";
import { Headers, Server, setErrorLogger, logError, type Request, type Response } from "../../vsgi/index.js";

conformance(ajpTransport);

/** The payload of a packet to the backend (without `12 34 len`). */
function payloadOf(packet: Buffer): Buffer {
  return packet.subarray(4);
}

/** Collects what the gateway layer logs while `fn` runs. */
async function capturingLog<T>(fn: (lines: string[]) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  const previous = logError;
  setErrorLogger((message, error) => lines.push(error === undefined ? message : `${message} ${String(error)}`));
  try {
    return await fn(lines);
  } finally {
    setErrorLogger(previous);
  }
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

describe("ajp wire: packet framing", () => {
  const packets = [
    Buffer.from([0x12, 0x34, 0, 1, 10]),
    Buffer.from([0x12, 0x34, 0, 0]),
    bodyPacket(Buffer.from("hello")),
    forwardRequest({ method: "GET", uri: "/a", headers: [["Host", "x"]] }),
  ];
  const stream = Buffer.concat(packets);
  const expected = packets.map((p) => Buffer.from(payloadOf(p)));

  it("splits a stream fed byte by byte into the same payloads", () => {
    const parser = new PacketParser(MAGIC_IN, 8192);
    const out: Buffer[] = [];
    for (const byte of stream) {
      parser.push(Buffer.from([byte]));
      for (let p = parser.shift(); p !== null; p = parser.shift()) out.push(Buffer.from(p));
    }
    expect(out).toEqual(expected);
    expect(parser.buffered).toBe(0);
  });

  it("splits a stream fed at every cut point into the same payloads", () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const parser = new PacketParser(MAGIC_IN, 8192);
      const out: Buffer[] = [];
      for (const part of [stream.subarray(0, cut), stream.subarray(cut)]) {
        parser.push(part);
        for (let p = parser.shift(); p !== null; p = parser.shift()) out.push(Buffer.from(p));
      }
      expect(out).toEqual(expected);
    }
  });

  it("returns a payload inside one chunk without copying it", () => {
    const parser = new PacketParser(MAGIC_IN, 8192);
    parser.push(stream);
    const first = parser.shift()!;
    expect(first.buffer).toBe(stream.buffer);
  });

  it("refuses a bad magic as soon as its first byte arrives", () => {
    const parser = new PacketParser(MAGIC_IN, 8192);
    parser.push(Buffer.from("G"));
    expect(() => parser.shift()).toThrow(/bad packet magic 0x47/);
    const second = new PacketParser(MAGIC_IN, 8192);
    second.push(Buffer.from([0x12, 0x35]));
    expect(() => second.shift()).toThrow(AjpWireError);
  });

  it("refuses a packet larger than the packet size, header included", () => {
    const parser = new PacketParser(MAGIC_IN, 8192);
    parser.push(Buffer.from([0x12, 0x34, 0x1f, 0xfc])); // 8188 + 4 = 8192: fits
    expect(parser.shift()).toBeNull();
    const big = new PacketParser(MAGIC_IN, 8192);
    big.push(Buffer.from([0x12, 0x34, 0x1f, 0xfd])); // 8193
    expect(() => big.shift()).toThrow(/larger than the packet size 8192/);
  });
});

describe("ajp wire: FORWARD_REQUEST", () => {
  const full = forwardRequest({
    method: "POST",
    uri: "/caf%C3%A9/x",
    query: "a=1&b=%20",
    protocol: "HTTP/1.0",
    remoteAddr: "10.0.0.7",
    remoteHost: "client.example",
    serverName: "example.com",
    serverPort: 8443,
    isSsl: true,
    headers: [
      ["Host", "example.com:8443"],
      ["Content-Length", "3"],
      ["X-Custom", "v"],
      ["Cookie", "a=1"],
      ["User-Agent", "ua"],
    ],
    secret: "s3cret",
    remoteUser: "alice",
    authType: "Basic",
    context: "/ctx",
    servletPath: "/servlet",
    jvmRoute: "node1",
    sslCert: "CERT",
    sslCipher: "TLS_AES_128_GCM_SHA256",
    sslSession: "SESSION",
    sslKeySize: 128,
    attributes: [
      ["AJP_REMOTE_PORT", "51234"],
      ["AJP_LOCAL_ADDR", "10.0.0.1"],
      ["FOO", "bar"],
      ["REQUEST_URI", "/admin"],
    ],
  });

  it("decodes every field, coded and named headers, and every attribute", () => {
    const r = parseForwardRequest(payloadOf(full));
    expect(r.method).toBe("POST");
    expect(r.protocol).toBe("HTTP/1.0");
    expect(r.requestUri!.toString()).toBe("/caf%C3%A9/x");
    expect(r.remoteAddr).toBe("10.0.0.7");
    expect(r.remoteHost).toBe("client.example");
    expect(r.serverName).toBe("example.com");
    expect(r.serverPort).toBe(8443);
    expect(r.isSsl).toBe(true);
    expect(r.headers).toEqual([
      ["Host", "example.com:8443"],
      ["Content-Length", "3"],
      ["X-Custom", "v"],
      ["Cookie", "a=1"],
      ["User-Agent", "ua"],
    ]);
    expect(r.queryString!.toString()).toBe("a=1&b=%20");
    expect(r).toMatchObject({
      secret: "s3cret",
      remoteUser: "alice",
      authType: "Basic",
      context: "/ctx",
      servletPath: "/servlet",
      jvmRoute: "node1",
      sslCert: "CERT",
      sslCipher: "TLS_AES_128_GCM_SHA256",
      sslSession: "SESSION",
      sslKeySize: 128,
    });
    expect(r.attributes).toEqual([
      ["AJP_REMOTE_PORT", "51234"],
      ["AJP_LOCAL_ADDR", "10.0.0.1"],
      ["FOO", "bar"],
      ["REQUEST_URI", "/admin"],
    ]);
  });

  it("sends known header names as codes, like Apache", () => {
    const p = payloadOf(forwardRequest({ method: "GET", uri: "/", headers: [["Host", "h"]], attributes: [] }));
    // type, method, then the strings; the header name is 0xA00B
    expect(p.includes(Buffer.from([0xa0, 0x0b, 0x00, 0x01, 0x68, 0x00]))).toBe(true);
  });

  it("takes PATCH and other methods without a code from stored_method", () => {
    expect(parseForwardRequest(payloadOf(forwardRequest({ method: "PATCH", uri: "/" }))).method).toBe("PATCH");
    expect(parseForwardRequest(payloadOf(forwardRequest({ method: "PURGE", uri: "/" }))).method).toBe("PURGE");
    expect(parseForwardRequest(payloadOf(forwardRequest({ method: "GET", uri: "/", forceStored: true }))).method).toBe("GET");
    const withCode = payloadOf(forwardRequest({ method: "MKACTIVITY", uri: "/" }));
    expect(withCode[1]).toBe(27);
    expect(parseForwardRequest(withCode).method).toBe("MKACTIVITY");
  });

  it("reads lighttpd's ssl_key_size sent as a string", () => {
    // lighttpd 1.4 encodes attribute 0x0B with its string encoder: "256"
    const p = payloadOf(forwardRequest({ method: "GET", uri: "/", attributes: [] }));
    const head = p.subarray(0, p.length - 1); // without 0xFF
    const lighttpd = Buffer.concat([head, Buffer.from([0x0b, 0x00, 0x03]), Buffer.from("256\0"), Buffer.from([0xff])]);
    expect(parseForwardRequest(lighttpd).sslKeySize).toBe(256);
    const apache = Buffer.concat([head, Buffer.from([0x0b, 0x01, 0x00, 0xff])]);
    expect(parseForwardRequest(apache).sslKeySize).toBe(256);
  });

  it("refuses every truncation of a valid request", () => {
    const p = payloadOf(full);
    for (let n = 1; n < p.length; n++) {
      expect(() => parseForwardRequest(p.subarray(0, n))).toThrow(AjpWireError);
    }
  });

  it.each([
    ["an unknown method code", (p: Buffer) => (p[1] = 28), /unknown method code 28/],
    ["a method 0xff without stored_method", (p: Buffer) => (p[1] = 0xff), /without a stored_method/],
    ["a string without its NUL", (p: Buffer) => (p[2 + 2 + 8] = 0x41), /not NUL-terminated/],
  ])("refuses %s", (_name, mutate, message) => {
    const p = Buffer.from(payloadOf(forwardRequest({ method: "GET", uri: "/", attributes: [] })));
    mutate(p);
    expect(() => parseForwardRequest(p)).toThrow(message);
  });

  it("refuses an unknown header code, an unknown attribute and a stored method that is no token", () => {
    const base = payloadOf(forwardRequest({ method: "GET", uri: "/", headers: [["Host", "h"]], attributes: [] }));
    const badHeader = Buffer.from(base);
    badHeader[badHeader.indexOf(Buffer.from([0xa0, 0x0b])) + 1] = 0x0f;
    expect(() => parseForwardRequest(badHeader)).toThrow(/unknown request header code 0xa00f/);
    const badAttr = Buffer.concat([base.subarray(0, base.length - 1), Buffer.from([0x0e, 0xff])]);
    expect(() => parseForwardRequest(badAttr)).toThrow(/unknown attribute code 0x0e/);
    expect(() => parseForwardRequest(payloadOf(forwardRequest({ method: "BAD METHOD", uri: "/" })))).toThrow(/bad stored_method/);
  });
});

describe("ajp wire: bodies, responses, paths", () => {
  it("reads body packets in both framings and both end forms", () => {
    expect(bodyData(Buffer.from([0, 3, 97, 98, 99]), "spec").toString()).toBe("abc");
    expect(bodyData(Buffer.from([0, 0]), "spec").length).toBe(0); // Apache's end of a chunked body
    expect(bodyData(Buffer.alloc(0), "spec").length).toBe(0); // the empty packet
    expect(bodyData(Buffer.from("abc"), "raw").toString()).toBe("abc"); // lighttpd
    expect(() => bodyData(Buffer.from([0, 9, 1]), "spec")).toThrow(/announces 9 bytes but carries 1/);
    expect(isSpecBodyPacket(Buffer.from([0, 1, 5]))).toBe(true);
    expect(isSpecBodyPacket(Buffer.from("hello"))).toBe(false);
  });

  it("encodes SEND_HEADERS with coded names, named others, and no hop-by-hop headers", () => {
    const headers = new Headers([
      ["Content-Type", "text/plain"],
      ["Set-Cookie", "a=1"],
      ["Set-Cookie", "b=2"],
      ["X-Thing", "é"],
      ["Transfer-Encoding", "chunked"],
      ["Connection", "close"],
      ["WWW-Authenticate", "Basic"],
    ]);
    const packet = encodeSendHeaders(401, "Unauthorized", headers, 8192)!;
    expect(packet.subarray(0, 2).toString()).toBe("AB");
    expect(packet.readUInt16BE(2)).toBe(packet.length - 4);
    const head = parseSendHeaders(packet.subarray(4));
    expect(head.status).toBe(401);
    expect(head.reason).toBe("Unauthorized");
    expect(head.names).toEqual([0xa001, 0xa007, 0xa007, "X-Thing", 0xa00b]);
    expect(head.headers.getAll("set-cookie")).toEqual(["a=1", "b=2"]);
    expect(head.headers.get("x-thing")).toBe("é");
    expect(head.headers.has("transfer-encoding")).toBe(false);
  });

  it("says when the headers do not fit one packet", () => {
    const headers = new Headers([["X-Big", "x".repeat(8200)]]);
    expect(encodeSendHeaders(200, "OK", headers, 8192)).toBeNull();
    expect(encodeSendHeaders(200, "OK", headers, 16384)).not.toBeNull();
  });

  it("splits body chunks at packet size - 8 bytes, each with its trailing 0x00", () => {
    const data = Buffer.alloc(20000);
    for (let i = 0; i < data.length; i++) data[i] = i % 253;
    // given as uneven pieces that straddle packet boundaries
    const pieces = [data.subarray(0, 1), data.subarray(1, 8190), data.subarray(8190, 8191), data.subarray(8191)];
    const bytes = encodeBodyChunks(pieces, data.length, 8192);
    const parser = new PacketParser(0x4142, 8192);
    parser.push(bytes);
    const sizes: number[] = [];
    const out: Buffer[] = [];
    for (let p = parser.shift(); p !== null; p = parser.shift()) {
      const chunk = parseBodyChunk(p);
      sizes.push(chunk.length);
      out.push(chunk);
    }
    expect(sizes).toEqual([8184, 8184, 3632]);
    expect(Buffer.concat(out)).toEqual(data);
    expect(encodeBodyChunks([Buffer.from("hi")], 2, 8192)).toEqual(Buffer.from([0x41, 0x42, 0, 6, 3, 0, 2, 0x68, 0x69, 0]));
  });

  it("frames large body blocks around the application's bytes without copying them", () => {
    const data = Buffer.alloc(50000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
    for (const cuts of [[], [1, 8184, 8185, 30000], [16368, 16369]]) {
      const blocks: Buffer[] = [];
      let from = 0;
      for (const cut of [...cuts, data.length]) {
        blocks.push(data.subarray(from, cut));
        from = cut;
      }
      for (const packetSize of [8192, 65536, 1024]) {
        const pieces = bodyChunkPieces(blocks, data.length, packetSize);
        expect(Buffer.concat(pieces)).toEqual(encodeBodyChunks(blocks, data.length, packetSize));
        // every byte of data is in a view of the application's memory, not a copy
        const carried = pieces.filter((p) => p.buffer === data.buffer).reduce((n, p) => n + p.length, 0);
        expect(carried).toBe(data.length);
      }
    }
    expect(bodyChunkPieces([], 0, 8192)).toEqual([]);
  });

  it("encodes the small packets byte for byte", () => {
    expect(CPONG_PACKET).toEqual(Buffer.from([0x41, 0x42, 0x00, 0x01, 0x09]));
    expect(END_REUSE).toEqual(Buffer.from([0x41, 0x42, 0x00, 0x02, 0x05, 0x01]));
    expect(getBodyChunk(8186)).toEqual(Buffer.from([0x41, 0x42, 0x00, 0x03, 0x06, 0x1f, 0xfa]));
  });

  it("keeps an encoded path and encodes a decoded one, byte for byte", () => {
    expect(encodeRequestPath(Buffer.from("/caf%C3%A9/a%2Fb/x%20y"))).toBe("/caf%C3%A9/a%2Fb/x%20y"); // Apache
    expect(encodeRequestPath(Buffer.from("/café/x y"))).toBe("/caf%C3%A9/x%20y"); // lighttpd
    expect(encodeRequestPath(Buffer.from("/a?b#c%zz%4"))).toBe("/a%3Fb%23c%25zz%254");
    expect(encodeRequestPath(Buffer.from([0x2f, 0xff, 0x00]))).toBe("/%FF%00");
    expect(encodeQueryString(Buffer.from("a=1&b=x y?/é"))).toBe("a=1&b=x%20y?/%C3%A9");
  });

  it("builds the CGI environment; attributes never shadow what describes the request", () => {
    const r = parseForwardRequest(
      payloadOf(
        forwardRequest({
          method: "GET",
          uri: "/x",
          query: "q=1",
          isSsl: true,
          headers: [["Host", "h"], ["X-A", "1"], ["Content-Type", "text/plain"]],
          secret: "s",
          remoteUser: "bob",
          authType: "Digest",
          sslCipher: "C",
          sslKeySize: 256,
          attributes: [["AJP_REMOTE_PORT", "4444"], ["AJP_LOCAL_ADDR", "10.0.0.1"], ["REQUEST_URI", "/admin"], ["HTTP_HOST", "evil"], ["OTHER", "o"]],
        }),
      ),
    );
    const env = environmentOf(r).env.toRecord();
    expect(env).toMatchObject({
      REQUEST_METHOD: "GET",
      REQUEST_URI: "/x?q=1",
      QUERY_STRING: "q=1",
      HTTPS: "on",
      HTTP_HOST: "h",
      HTTP_X_A: "1",
      CONTENT_TYPE: "text/plain",
      REMOTE_USER: "bob",
      AUTH_TYPE: "Digest",
      SSL_CIPHER: "C",
      SSL_CIPHER_USEKEYSIZE: "256",
      REMOTE_PORT: "4444",
      SERVER_ADDR: "10.0.0.1",
      OTHER: "o",
      GATEWAY_INTERFACE: "AJP/1.3",
    });
    expect(Object.values(env)).not.toContain("s");
    expect(Object.values(env)).not.toContain("evil");
    expect(Object.values(env)).not.toContain("/admin");
  });

  it("compares secrets through equal-length digests", () => {
    const digest = createHash("sha256").update("right").digest();
    expect(secretMatches("right", digest)).toBe(true);
    expect(secretMatches("wrong", digest)).toBe(false);
    expect(secretMatches("", digest)).toBe(false);
    expect(secretMatches(null, digest)).toBe(false);
  });
});

/** An app for the socket tests: records what it saw. */
function recorder(): { handler: (req: Request, res: Response) => Promise<boolean>; seen: Request[] } {
  const seen: Request[] = [];
  return {
    seen,
    async handler(req, res) {
      seen.push(req);
      const path = req.path;
      if (path === "/echo-body") {
        const body = await req.flatten();
        res.headers.set("Content-Type", "application/octet-stream");
        return res.expand(body);
      }
      if (path === "/ignore-body") return res.expandUtf8("ignored");
      if (path === "/ignore-body-stream") {
        await res.append("streamed");
        return res.end();
      }
      if (path === "/fail-after-head") {
        await res.append("partial");
        throw new Error("failed mid-body");
      }
      if (path === "/read-some") {
        // reads one chunk of the body, then answers
        const iterator = req.body[Symbol.asyncIterator]();
        const first = (await iterator.next()).value as Buffer;
        return res.expandUtf8(`first ${first.length}`);
      }
      if (path === "/big") {
        res.headers.set("Content-Type", "application/octet-stream");
        return res.expand(Buffer.alloc(Number(req.lookupQuery("size")), 0x62));
      }
      if (path === "/big-header") {
        res.headers.set("X-Big", "x".repeat(9000));
        return res.expandUtf8("never sent");
      }
      return res.expandUtf8(JSON.stringify({ method: req.method, uri: req.uri.href, env: req.environment, remote: req.remoteAddress }));
    },
  };
}

describe("ajp backend over sockets", () => {
  let server: Server | null = null;
  let sockets: AjpSocket[] = [];
  afterEach(async () => {
    for (const s of sockets) s.destroy();
    sockets = [];
    await server?.stop();
    server = null;
  });

  async function start(options: Record<string, unknown> = {}, app?: unknown): Promise<{ port: number; seen: Request[] }> {
    const rec = recorder();
    const started = await startAjp(options, app ?? rec.handler);
    server = started.server;
    return { port: started.port, seen: rec.seen };
  }

  async function open(port: number, packetSize?: number): Promise<AjpSocket> {
    const s = await AjpSocket.connect(port, packetSize);
    sockets.push(s);
    return s;
  }

  it("answers CPING with CPONG, between requests too, and ignores SHUTDOWN", async () => {
    const { port } = await start();
    const s = await open(port);
    s.write(CPING);
    expect(await s.next()).toEqual(CPONG_PACKET.subarray(4));
    s.write(Buffer.concat([CPING, CPING]));
    expect(await s.next()).toEqual(Buffer.from([9]));
    expect(await s.next()).toEqual(Buffer.from([9]));
    const res = await exchange(s, { method: "GET", uri: "/hello", headers: [["Host", "h"]] });
    expect(res.status).toBe(200);
    s.write(Buffer.from([0x12, 0x34, 0, 1, 7])); // SHUTDOWN
    s.write(CPING);
    expect(await s.next()).toEqual(Buffer.from([9]));
    expect(s.isClosed).toBe(false);
  });

  it("serves several requests one after another on one connection (reuse=1)", async () => {
    const { port, seen } = await start();
    const s = await open(port);
    for (let i = 0; i < 5; i++) {
      const res = await exchange(s, { method: "GET", uri: `/n${i}`, headers: [["Host", "h"]] });
      expect(res.status).toBe(200);
      expect(res.reuse).toBe(true);
      expect(JSON.parse(res.body.toString()).uri).toBe(`http://h/n${i}`);
    }
    expect(seen).toHaveLength(5);
  });

  it("takes pipelined packets in order, after the request under way", async () => {
    const { port } = await start();
    const s = await open(port);
    s.write(
      Buffer.concat([
        forwardRequest({ method: "POST", uri: "/echo-body", headers: [["Host", "h"], ["Content-Length", "3"]] }),
        bodyPacket(Buffer.from("one")),
        forwardRequest({ method: "GET", uri: "/two", headers: [["Host", "h"]] }),
        CPING,
      ]),
    );
    const types: number[] = [];
    const bodies: string[] = [];
    while (types.filter((t) => t === 5).length < 2 || !types.includes(9)) {
      const p = (await s.next())!;
      types.push(p[0]!);
      if (p[0] === 3) bodies.push(parseBodyChunk(p).toString());
    }
    expect(types).toEqual([4, 3, 5, 4, 3, 5, 9]);
    expect(bodies[0]).toBe("one");
    expect(JSON.parse(bodies[1]!).uri).toBe("http://h/two");
  });

  it("reads the unread first body packet before END_RESPONSE, so the next request is not confused", async () => {
    const { port } = await start();
    const s = await open(port);
    // FORWARD_REQUEST announces 20000 bytes; the first body packet is held back
    s.write(forwardRequest({ method: "POST", uri: "/ignore-body", headers: [["Host", "h"], ["Content-Length", "20000"]] }));
    const head = parseSendHeaders((await s.next())!);
    expect(head.status).toBe(200);
    expect(parseBodyChunk((await s.next())!).toString()).toBe("ignored");
    // head and body came in one write; END_RESPONSE waits for the body packet in flight
    expect(s.pending).toBe(0);
    s.write(bodyPacket(Buffer.alloc(8186, 0x12))); // 0x12 0x12 ...: would look like a packet start
    expect(await s.next()).toEqual(Buffer.from([5, 1]));
    // the rest of the body is never asked for; the connection serves the next request
    const res = await exchange(s, { method: "GET", uri: "/after", headers: [["Host", "h"]] });
    expect(JSON.parse(res.body.toString()).uri).toBe("http://h/after");
  });

  it("drains the first body packet before END_RESPONSE after a streamed response too", async () => {
    const { port } = await start();
    const s = await open(port);
    s.write(forwardRequest({ method: "POST", uri: "/ignore-body-stream", headers: [["Host", "h"], ["Content-Length", "100"]] }));
    expect(parseSendHeaders((await s.next())!).status).toBe(200);
    expect(parseBodyChunk((await s.next())!).toString()).toBe("streamed");
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    expect(s.pending).toBe(0);
    s.write(bodyPacket(Buffer.alloc(100, 0x12)));
    expect(await s.next()).toEqual(Buffer.from([5, 1]));
    const res = await exchange(s, { method: "GET", uri: "/after", headers: [["Host", "h"]] });
    expect(JSON.parse(res.body.toString()).uri).toBe("http://h/after");
  });

  it("sends an empty SEND_BODY_CHUNK (flush) on res.flush() after the head, nothing before it or after the end", async () => {
    const app = async (req: Request, res: Response): Promise<boolean> => {
      res.flush(); // before the head: nothing to flush
      await res.appendUtf8("event");
      res.flush();
      await res.end();
      res.flush(); // after END_RESPONSE: nothing
      return true;
    };
    const { port } = await start({}, app);
    const s = await open(port);
    s.write(forwardRequest({ method: "GET", uri: "/", headers: [["Host", "h"]] }));
    const packets: Buffer[] = [];
    for (let p = await s.next(); p !== null; p = await s.next()) {
      packets.push(Buffer.from(p));
      if (p[0] === 5) break; // END_RESPONSE
    }
    expect(packets.map((p) => p[0])).toEqual([4, 3, 3, 5]);
    expect(parseBodyChunk(packets[1]!).toString()).toBe("event");
    expect(packets[2]).toEqual(Buffer.from([3, 0, 0, 0]));
    // The next packet on the connection answers the next thing sent: no late flush in between.
    s.write(CPING);
    expect(await s.next()).toEqual(Buffer.from([9]));
  });

  it("drops the connection without END_RESPONSE when the response fails after its head", async () => {
    const { port } = await start();
    const s = await open(port);
    await capturingLog(async (lines) => {
      const res = await exchange(s, { method: "GET", uri: "/fail-after-head", headers: [["Host", "h"]] });
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe("partial");
      expect(res.reuse).toBeNull(); // the front server sees the response fail, not a short success
      expect(lines.join("\n")).toMatch(/failed mid-body/);
    });
  });

  it("answers the GET_BODY_CHUNK in flight before reuse when the handler stops reading", async () => {
    const { port } = await start();
    const s = await open(port);
    const size = 1 << 20;
    const res = await exchange(s, { method: "POST", uri: "/read-some", headers: [["Host", "h"], ["Content-Length", String(size)]] }, Buffer.alloc(size, 1));
    expect(res.body.toString()).toBe("first 8186");
    expect(res.reuse).toBe(true);
    // back-pressure: a handler that reads one chunk pulls at most what the stream buffers
    expect(res.asked.length).toBeLessThanOrEqual(2);
    const next = await exchange(s, { method: "POST", uri: "/echo-body", headers: [["Host", "h"], ["Content-Length", "5"]] }, Buffer.from("fresh"));
    expect(next.body.toString()).toBe("fresh");
  });

  it("answers 403 without the secret or with a wrong one, 200 with the right one", async () => {
    const { port, seen } = await start({ secret: "XYZ" });
    const s = await open(port);
    await capturingLog(async (lines) => {
      const none = await exchange(s, { method: "GET", uri: "/", headers: [["Host", "h"]] });
      expect(none.status).toBe(403);
      expect(none.body.toString()).toBe("Forbidden");
      expect(none.reuse).toBe(true);
      const wrong = await exchange(s, { method: "GET", uri: "/", headers: [["Host", "h"]], secret: "XYy" });
      expect(wrong.status).toBe(403);
      const longer = await exchange(s, { method: "GET", uri: "/", headers: [["Host", "h"]], secret: "XYZZ" });
      expect(longer.status).toBe(403);
      expect(lines.join("\n")).toMatch(/no secret[\s\S]*wrong secret/);
    });
    expect(seen).toHaveLength(0);
    const right = await exchange(s, { method: "GET", uri: "/", headers: [["Host", "h"]], secret: "XYZ" });
    expect(right.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.environment).not.toHaveProperty("AJP_SECRET");
    expect(JSON.stringify(seen[0]!.environment)).not.toContain("XYZ");
  });

  it("answers a 403 with a body announced but not sent, then serves the next request", async () => {
    const { port } = await start({ secret: "XYZ" });
    const s = await open(port);
    const res = await capturingLog(() =>
      exchange(s, { method: "POST", uri: "/", headers: [["Host", "h"], ["Content-Length", "10"]] }, Buffer.from("0123456789")),
    );
    expect(res.status).toBe(403);
    const ok = await exchange(s, { method: "GET", uri: "/", headers: [["Host", "h"]], secret: "XYZ" });
    expect(ok.status).toBe(200);
  });

  it("takes PATCH from stored_method and runs the application with it", async () => {
    const { port } = await start();
    const s = await open(port);
    const res = await exchange(s, { method: "PATCH", uri: "/echo-body", headers: [["Host", "h"], ["Content-Length", "2"]] }, Buffer.from("{}"));
    expect(res.body.toString()).toBe("{}");
    const seen = await exchange(s, { method: "PATCH", uri: "/x", headers: [["Host", "h"]] });
    expect(JSON.parse(seen.body.toString()).method).toBe("PATCH");
  });

  it("rebuilds an https URL from is_ssl and exposes the SSL and user attributes as CGI variables", async () => {
    const { port } = await start();
    const s = await open(port);
    const res = await exchange(s, {
      method: "GET",
      uri: "/secure",
      query: "a=1",
      isSsl: true,
      serverName: "example.com",
      serverPort: 443,
      remoteAddr: "192.0.2.9",
      headers: [],
      remoteUser: "alice",
      authType: "Basic",
      sslCert: "-----BEGIN CERTIFICATE-----",
      sslCipher: "TLS_AES_256_GCM_SHA384",
      sslSession: "abcd",
      sslKeySize: 256,
    });
    const seen = JSON.parse(res.body.toString());
    expect(seen.uri).toBe("https://example.com/secure?a=1");
    expect(seen.remote).toBe("192.0.2.9");
    expect(seen.env).toMatchObject({
      HTTPS: "on",
      REMOTE_USER: "alice",
      AUTH_TYPE: "Basic",
      SSL_CLIENT_CERT: "-----BEGIN CERTIFICATE-----",
      SSL_CIPHER: "TLS_AES_256_GCM_SHA384",
      SSL_SESSION_ID: "abcd",
      SSL_CIPHER_USEKEYSIZE: "256",
      REMOTE_PORT: "40000",
      GATEWAY_INTERFACE: "AJP/1.3",
    });
    const plain = await exchange(s, { method: "GET", uri: "/", serverName: "example.com", serverPort: 8080, headers: [] });
    expect(JSON.parse(plain.body.toString()).uri).toBe("http://example.com:8080/");
  });

  it.each(["zero-chunk", "empty"] as const)("reads a chunked upload (no Content-Length) ended by %s", async (endForm) => {
    const { port } = await start();
    const s = await open(port);
    async function* parts(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 5; i++) yield Buffer.alloc(7000, 0x30 + i);
    }
    const res = await exchange(s, { method: "POST", uri: "/echo-body", headers: [["Host", "h"], ["Transfer-Encoding", "chunked"]] }, parts(), { endForm });
    expect(res.body.length).toBe(35000);
    expect(res.body[34999]).toBe(0x34);
    expect(res.asked.length).toBeGreaterThanOrEqual(6); // Apache sends nothing unasked for chunked bodies
    expect(res.reuse).toBe(true);
    expect((await exchange(s, { method: "GET", uri: "/", headers: [["Host", "h"]] })).status).toBe(200);
  });

  it("reads lighttpd's raw body packets and ignores its empty packet after a bodiless request", async () => {
    const { port } = await start();
    const s = await open(port);
    // lighttpd: decoded path, no req_attribute, Content-Length always, data without chunk length
    const body = Buffer.from([0x00, 0x08, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68]); // looks spec-framed
    s.write(forwardRequest({ method: "POST", uri: Buffer.from("/echo-body"), headers: [["Content-Length", "10"]], attributes: [] }));
    s.write(bodyPacket(body, "raw"));
    let first = (await s.next())!;
    while (first[0] === 6) first = (await s.next())!; // an ask for the body may come first: the packet answers it
    const head = parseSendHeaders(first);
    expect(head.status).toBe(200);
    expect(parseBodyChunk((await s.next())!)).toEqual(body);
    expect(await s.next()).toEqual(Buffer.from([5, 1]));
    s.write(forwardRequest({ method: "GET", uri: Buffer.from("/café/x y"), headers: [["Content-Length", "0"]], attributes: [] }));
    s.write(bodyPacket(Buffer.alloc(0), "empty"));
    const get = parseSendHeaders((await s.next())!);
    expect(get.status).toBe(200);
    expect(JSON.parse(parseBodyChunk((await s.next())!).toString()).uri).toBe("http://localhost/caf%C3%A9/x%20y");
    expect(await s.next()).toEqual(Buffer.from([5, 1]));
    s.write(CPING);
    expect(await s.next()).toEqual(Buffer.from([9]));
  });

  it("asks lighttpd for the body when no first packet comes (stream-request-body)", async () => {
    const { port } = await start();
    const s = await open(port);
    const body = Buffer.alloc(20000, 0x61);
    // lighttpd streaming: the FORWARD_REQUEST goes out before any body arrived, and no packet follows
    s.write(forwardRequest({ method: "POST", uri: "/echo-body", headers: [["Content-Length", "20000"]], attributes: [] }));
    let sent = 0;
    const chunks: Buffer[] = [];
    let reuse: number | null = null;
    for (;;) {
      const p = await s.next();
      if (p === null) break;
      if (p[0] === 6) {
        const end = Math.min(sent + p.readUInt16BE(1), body.length);
        for (; sent < end; sent = Math.min(sent + 8188, end)) s.write(bodyPacket(body.subarray(sent, Math.min(sent + 8188, end)), "raw"));
      } else if (p[0] === 3) chunks.push(Buffer.from(parseBodyChunk(p)));
      else if (p[0] === 5) {
        reuse = p[1]!;
        break;
      }
    }
    expect(Buffer.concat(chunks)).toEqual(body);
    expect(reuse).toBe(1);
  });

  it("closes (reuse=0) a lighttpd-style connection whose body is not complete when the response ends", async () => {
    const { port } = await start();
    const s = await open(port);
    s.write(forwardRequest({ method: "POST", uri: "/ignore-body", headers: [["Content-Length", "50000"]], attributes: [] }));
    s.write(bodyPacket(Buffer.alloc(8188, 0x61), "raw"));
    const types: number[] = [];
    let reuse = -1;
    for (let p = await s.next(); p !== null; p = await s.next()) {
      types.push(p[0]!);
      if (p[0] === 5) reuse = p[1]!;
    }
    expect(types.filter((t) => t !== 6)).toEqual([4, 3, 5]);
    expect(reuse).toBe(0);
    await s.closed;
  });

  it("reads a large raw body with option bodyFraming raw, asking for many packets at once", async () => {
    const { port } = await start({ bodyFraming: "raw" });
    const s = await open(port);
    const body = Buffer.alloc(30000, 0x61);
    body[0] = 0x1f; // spec-looking first packet: 0x1ffa = 8186 = 8188 - 2
    body[1] = 0xfa;
    s.write(forwardRequest({ method: "POST", uri: "/echo-body", headers: [["Content-Length", "30000"]], attributes: [] }));
    s.write(bodyPacket(body.subarray(0, 8188), "raw"));
    let sent = 8188;
    const chunks: Buffer[] = [];
    const asked: number[] = [];
    for (;;) {
      const p = (await s.next())!;
      if (p[0] === 6) {
        // as lighttpd: what was asked for, in packets of at most 8188 bytes
        asked.push(p.readUInt16BE(1));
        const end = Math.min(sent + p.readUInt16BE(1), body.length);
        for (; sent < end; sent = Math.min(sent + 8188, end)) s.write(bodyPacket(body.subarray(sent, Math.min(sent + 8188, end)), "raw"));
      } else if (p[0] === 3) chunks.push(Buffer.from(parseBodyChunk(p)));
      else if (p[0] === 5) break;
    }
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(body));
    // lighttpd sends each packet in two writes without TCP_NODELAY: the backend asks for many
    // packets at once instead of paying a delayed ACK per packet
    expect(asked[0]).toBeGreaterThan(8188);
  });

  // A strict reference front server: no AJP_REMOTE_PORT (the reference does not require it), the
  // first packet unasked, then exactly one packet per GET_BODY_CHUNK of at most the size asked.
  async function referenceUpload(size: number, answerDelay?: number): Promise<void> {
    const { port } = await start();
    const s = await open(port);
    const body = bytes(random(size), size);
    const spec = { method: "POST", uri: "/echo-body", headers: [["Content-Length", String(size)]] as [string, string][], attributes: [] };
    const res = await exchange(s, spec, body, { reference: true, endForm: "empty", ...(answerDelay !== undefined ? { answerDelay } : {}) });
    expect(res.status).toBe(200);
    expect(sha256(res.body)).toBe(sha256(body));
    // one packet per ask (plus the unasked first), none larger than its ask
    expect(res.sent.length).toBe(res.asked.length + 1);
    for (let i = 0; i < res.asked.length; i++) expect(res.sent[i + 1]).toBeLessThanOrEqual(res.asked[i]!);
    expect(res.reuse).toBe(true);
    // the connection is still in step: the next request on it is served
    const next = await exchange(s, { method: "GET", uri: "/", headers: [["Host", "h"]], attributes: [] });
    expect(next.status).toBe(200);
    expect(next.reuse).toBe(true);
  }

  it("reads a 50 kB upload from a strict reference front server without AJP_REMOTE_PORT", async () => {
    await referenceUpload(50_000);
  });

  it("reads a 1 MiB upload from a strict reference front server without AJP_REMOTE_PORT", async () => {
    await referenceUpload(1 << 20);
  });

  it("reads an upload from a reference front server that answers each GET_BODY_CHUNK late", async () => {
    await referenceUpload(50_000, 5);
  });

  it("switches to credit reading for a front server that answers one ask with several spec packets", async () => {
    const { port } = await start();
    const s = await open(port);
    const body = bytes(random(7), 100_000);
    s.write(forwardRequest({ method: "POST", uri: "/echo-body", headers: [["Content-Length", "100000"]], attributes: [] }));
    let sent = 0;
    const chunks: Buffer[] = [];
    const asked: number[] = [];
    let reuse = -1;
    for (let p = await s.next(); p !== null; p = await s.next()) {
      if (p[0] === 6) {
        // credit delivery in the reference framing: what was asked for, in packets of 3000 bytes
        asked.push(p.readUInt16BE(1));
        const end = Math.min(sent + p.readUInt16BE(1), body.length);
        for (; sent < end; sent = Math.min(sent + 3000, end)) s.write(bodyPacket(body.subarray(sent, Math.min(sent + 3000, end))));
      } else if (p[0] === 3) chunks.push(Buffer.from(parseBodyChunk(p)));
      else if (p[0] === 5) {
        reuse = p[1]!;
        break;
      }
    }
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(body));
    expect(reuse).toBe(1);
    // once it sent more packets than asked for, the backend asks for a window of bytes at once
    expect(Math.max(...asked)).toBeGreaterThan(8186);
  });

  it("reads a chunked upload from a reference front server without AJP_REMOTE_PORT", async () => {
    const { port } = await start();
    const s = await open(port);
    async function* parts(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 4; i++) yield Buffer.alloc(9000, 0x41 + i);
    }
    const spec = { method: "POST", uri: "/echo-body", headers: [["Host", "h"], ["Transfer-Encoding", "chunked"]] as [string, string][], attributes: [] };
    const res = await exchange(s, spec, parts(), { reference: true, endForm: "empty" });
    expect(res.body.length).toBe(36000);
    expect(res.body[35999]).toBe(0x44);
    expect(res.sent.length).toBe(res.asked.length); // nothing unasked without a length
    expect(res.reuse).toBe(true);
  });

  it("sends body chunks of at most packet size - 8 bytes", async () => {
    const { port } = await start();
    const s = await open(port);
    const res = await exchange(s, { method: "GET", uri: "/big", query: "size=100000", headers: [["Host", "h"]] });
    expect(res.body.length).toBe(100000);
    expect(Math.max(...res.chunkSizes)).toBe(8184);
    await server!.stop();
    const big = await start({ packetSize: 16384 });
    const t = await open(big.port, 16384);
    const res2 = await exchange(t, { method: "GET", uri: "/big", query: "size=100000", headers: [["Host", "h"]] }, undefined, { packetSize: 16384 });
    expect(res2.body.length).toBe(100000);
    expect(Math.max(...res2.chunkSizes)).toBe(16376);
  });

  it("answers 500 with a log line when the response headers do not fit one packet", async () => {
    const { port } = await start();
    const s = await open(port);
    await capturingLog(async (lines) => {
      const res = await exchange(s, { method: "GET", uri: "/big-header", headers: [["Host", "h"]] });
      expect(res.status).toBe(500);
      expect(res.body.toString()).toBe("Internal Server Error");
      expect(res.reuse).toBe(true);
      expect(lines.join("\n")).toMatch(/do not fit one AJP packet of 8192 bytes/);
    });
  });

  it.each([
    ["a bad magic", Buffer.from("GET / HTTP/1.1\r\n\r\n"), /bad packet magic/],
    ["an oversized packet", Buffer.from([0x12, 0x34, 0xff, 0xff]), /larger than the packet size/],
    ["a truncated FORWARD_REQUEST", Buffer.from([0x12, 0x34, 0x00, 0x03, 0x02, 0x02, 0x00]), /truncated FORWARD_REQUEST/],
    ["an unknown packet type", Buffer.from([0x12, 0x34, 0x00, 0x01, 0x63]), /unexpected packet type 99/],
  ])("closes the connection on %s, with a log line, and keeps serving", async (_name, bytes, message) => {
    const { port } = await start();
    await capturingLog(async (lines) => {
      const s = await open(port);
      s.write(bytes);
      expect(await s.next()).toBeNull();
      expect(lines.join("\n")).toMatch(message);
      expect(lines.join("\n")).toMatch(/closing the connection/);
    });
    const t = await open(port);
    expect((await exchange(t, { method: "GET", uri: "/", headers: [["Host", "h"]] })).status).toBe(200);
  });

  it("closes a connection whose body runs past its Content-Length", async () => {
    const { port } = await start();
    await capturingLog(async (lines) => {
      const s = await open(port);
      s.write(forwardRequest({ method: "POST", uri: "/echo-body", headers: [["Content-Length", "3"]] }));
      s.write(bodyPacket(Buffer.from("abcdef")));
      let p: Buffer | null;
      do p = await s.next();
      while (p !== null);
      expect(lines.join("\n")).toMatch(/longer than its Content-Length 3/);
    });
  });

  it("aborts the request when the front server closes the connection mid-request", async () => {
    let called: () => void = () => undefined;
    const running = new Promise<void>((r) => (called = r));
    let aborted: Promise<void> = Promise.resolve();
    const app = (req: Request): Promise<boolean> => {
      aborted = new Promise((resolve) => req.signal.addEventListener("abort", () => resolve()));
      called();
      return new Promise(() => undefined); // never answers
    };
    const { port } = await start({}, app);
    const s = await open(port);
    s.write(forwardRequest({ method: "GET", uri: "/", headers: [["Host", "h"]] }));
    await running;
    s.destroy();
    await aborted;
  });

  it("holds back a slow reader: the application waits instead of filling memory", async () => {
    let written = 0;
    let finished = false;
    const app = async (req: Request, res: Response): Promise<boolean> => {
      const block = Buffer.alloc(1 << 16);
      for (let i = 0; i < 1024 && !req.aborted; i++) {
        await res.append(block).catch(() => undefined);
        written += block.length;
      }
      finished = true;
      return true;
    };
    const { port } = await start({}, app);
    const s = await open(port);
    s.socket.pause();
    s.write(forwardRequest({ method: "GET", uri: "/", headers: [["Host", "h"]] }));
    // wait until the writer stops making progress
    let last = -1;
    while (written !== last) {
      last = written;
      for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 5));
    }
    expect(finished).toBe(false);
    expect(written).toBeLessThan(32 << 20); // far below the 64 MiB it wants to send
    s.destroy();
  });

  it("closes connections from peers outside the allow list", async () => {
    const { port } = await start({ allow: ["10.1.2.3"] });
    const s = await open(port);
    s.write(CPING);
    expect(await s.next()).toBeNull();
  });

  it("ends with reuse=0 and closes during a graceful stop", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const app = async (req: Request, res: Response): Promise<boolean> => {
      await gate;
      return res.expandUtf8("finished");
    };
    const { port } = await start({}, app);
    const s = await open(port);
    const pending = exchange(s, { method: "GET", uri: "/", headers: [["Host", "h"]] });
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    const stopped = server!.stop();
    release();
    const res = await pending;
    expect(res.body.toString()).toBe("finished");
    expect(res.reuse).toBe(false);
    await stopped;
    await s.closed;
    server = null;
  });

  it("drops a request that comes on an idle connection a stop already closed, without writing after the end", async () => {
    const { port } = await capturingLog(async (lines) => {
      const started = await start({}, async (req: Request, res: Response) => res.expandUtf8("never"));
      const s = await open(started.port);
      // an idle connection, then the stop ends it; the front server's request crosses the end
      s.write(CPING);
      expect(await s.next()).not.toBeNull();
      const stopped = server!.stop();
      s.write(forwardRequest({ method: "GET", uri: "/", headers: [["Host", "h"]] }));
      expect(await s.next()).toBeNull(); // closed, nothing answered
      await s.closed;
      await stopped;
      server = null;
      expect(lines.join("\n")).not.toMatch(/write after end/);
      return started;
    });
    expect(port).toBeGreaterThan(0);
  });

  it("listens on 127.0.0.1:8009 by default, and checks its options", async () => {
    const s = (await Server.load("ajp", { handler: () => false })) as unknown as { defaultAddresses(): unknown };
    expect(s.defaultAddresses()).toEqual([{ port: 8009, host: "127.0.0.1" }]);
    await expect(Server.load("ajp", { handler: () => false, packetSize: 4096 })).rejects.toThrow(/packetSize must be an integer from 8192 to 65536/);
    await expect(Server.load("ajp", { handler: () => false, secret: "" })).rejects.toThrow(/secret must be a non-empty string/);
    await expect(Server.load("ajp", { handler: () => false, bodyFraming: "x" as never })).rejects.toThrow(/bodyFraming/);
  });

  it("honours the scriptName and publicOrigin options of the CGI reader", async () => {
    const { port } = await start({ scriptName: "/app", publicOrigin: "https://public.example" });
    const s = await open(port);
    const res = await exchange(s, { method: "GET", uri: "/app/x", headers: [["Host", "internal"]] });
    expect(JSON.parse(res.body.toString()).uri).toBe("https://public.example/app/x");
  });
});

describe("ajp backend on a UNIX socket", () => {
  let server: Server;
  let dir: string;
  beforeAll(async () => {
    const { mkdtemp } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    dir = await mkdtemp(join(tmpdir(), "vsgi-ajp-"));
    server = await Server.load("ajp", { handler: (req: Request, res: Response) => res.expandUtf8("unix") });
    await server.listen({ path: join(dir, "ajp.sock") });
  });
  afterAll(async () => {
    await server.stop();
    const { rm } = await import("node:fs/promises");
    await rm(dir, { recursive: true, force: true });
  });

  it("serves over a UNIX socket", async () => {
    const uri = server.uris[0]!;
    expect(uri.protocol).toBe("ajp+unix:");
    const s = await AjpSocket.connect(uri.pathname.replace(/\/$/, ""));
    const res = await exchange(s, { method: "GET", uri: "/", headers: [["Host", "h"]] });
    expect(res.body.toString()).toBe("unix");
    s.destroy();
  });
});
