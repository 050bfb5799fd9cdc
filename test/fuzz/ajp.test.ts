// Random and mutated AJP13 input, against the pure parsers and against a live backend: never a
// crash, a hang or a leak; only AjpWireError from the parsers; the others still served. Seeded,
// bounded iterations, no clocks.
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { setErrorLogger, logError, type Request, type Response, type Server } from "../../vsgi/index.js";
import {
  AjpWireError,
  MAGIC_IN,
  PacketParser,
  bodyData,
  encodeRequestPath,
  parseForwardRequest,
} from "../../servers/ajp/wire.js";
import { environmentOf } from "../../servers/ajp/request.js";
import { AjpSocket, CPING, bodyPacket, exchange, forwardRequest, startAjp, type ForwardSpec } from "../helpers/ajp-client.js";
import { random, int, bytes } from "../helpers/random.js";

const SAMPLES: ForwardSpec[] = [
  { method: "GET", uri: "/hello", headers: [["Host", "h"]] },
  {
    method: "POST",
    uri: "/caf%C3%A9",
    query: "a=1",
    isSsl: true,
    headers: [["Host", "h"], ["Content-Length", "5"], ["X-A", "b"], ["Cookie", "c=1"]],
    secret: "s",
    remoteUser: "u",
    sslCipher: "c",
    sslKeySize: 256,
  },
  { method: "PATCH", uri: Buffer.from("/d é"), headers: [["Transfer-Encoding", "chunked"]], attributes: [] },
];

/** Flips, inserts, deletes or overwrites a few bytes. */
function mutate(rand: () => number, input: Buffer): Buffer {
  let b = Buffer.from(input);
  const edits = 1 + int(rand, 4);
  for (let e = 0; e < edits; e++) {
    const at = int(rand, b.length + 1);
    switch (int(rand, 5)) {
      case 0:
        if (at < b.length) b[at] = b[at]! ^ (1 << int(rand, 8));
        break;
      case 1:
        b = Buffer.concat([b.subarray(0, at), bytes(rand, 1 + int(rand, 4)), b.subarray(at)]);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(rand, 4))]);
        break;
      case 3:
        if (at < b.length) b[at] = [0x00, 0xff, 0xa0, 0x0a, 0x0d][int(rand, 5)]!;
        break;
      default:
        if (at + 1 < b.length) b.writeUInt16BE([0, 1, 0xffff, 0xfffe, 0x8000, b.length][int(rand, 6)]!, at);
    }
  }
  return b;
}

describe("ajp fuzz: pure parsers", () => {
  it("splits random packet streams the same way whatever the chunking", () => {
    const rand = random(1);
    for (let round = 0; round < 200; round++) {
      const packets: Buffer[] = [];
      for (let i = 0, n = 1 + int(rand, 8); i < n; i++) {
        const payload = bytes(rand, int(rand, 300));
        const head = Buffer.from([0x12, 0x34, 0, 0]);
        head.writeUInt16BE(payload.length, 2);
        packets.push(head, payload);
      }
      const stream = Buffer.concat(packets);
      const parser = new PacketParser(MAGIC_IN, 8192);
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; ) {
        const n = 1 + int(rand, 64);
        parser.push(stream.subarray(i, i + n));
        i += n;
        for (let p = parser.shift(); p !== null; p = parser.shift()) out.push(Buffer.from(p));
      }
      expect(Buffer.concat(out)).toEqual(Buffer.concat(packets.filter((_, i) => i % 2 === 1)));
      expect(parser.buffered).toBe(0);
    }
  });

  it("throws only AjpWireError on random byte streams, and stays bounded", () => {
    const rand = random(2);
    for (let round = 0; round < 2000; round++) {
      const parser = new PacketParser(MAGIC_IN, 8192);
      const stream = rand() < 0.5 ? bytes(rand, int(rand, 64)) : Buffer.concat([Buffer.from([0x12, 0x34]), bytes(rand, int(rand, 64))]);
      try {
        parser.push(stream);
        while (parser.shift() !== null);
      } catch (error) {
        expect(error).toBeInstanceOf(AjpWireError);
      }
      expect(parser.buffered).toBeLessThanOrEqual(stream.length);
    }
  });

  it("decodes mutated FORWARD_REQUESTs or refuses them with AjpWireError, nothing else", () => {
    const rand = random(3);
    let decoded = 0;
    let refused = 0;
    for (let round = 0; round < 5000; round++) {
      const sample = forwardRequest(SAMPLES[int(rand, SAMPLES.length)]!).subarray(4);
      const input = mutate(rand, sample);
      try {
        const request = parseForwardRequest(input);
        environmentOf(request);
        decoded++;
      } catch (error) {
        expect(error).toBeInstanceOf(AjpWireError);
        refused++;
      }
    }
    // the mutations reach both outcomes
    expect(decoded).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });

  it("decodes random body packets or refuses them with AjpWireError", () => {
    const rand = random(4);
    for (let round = 0; round < 2000; round++) {
      const payload = bytes(rand, int(rand, 12));
      try {
        const data = bodyData(payload, "spec");
        expect(data.length).toBeLessThanOrEqual(Math.max(0, payload.length - 2));
      } catch (error) {
        expect(error).toBeInstanceOf(AjpWireError);
      }
      expect(bodyData(payload, "raw")).toBe(payload);
    }
  });

  it("encodes any byte string into a path a URL keeps as it is", () => {
    const rand = random(5);
    for (let round = 0; round < 2000; round++) {
      const path = encodeRequestPath(Buffer.concat([Buffer.from("/"), bytes(rand, int(rand, 20))]));
      expect(path).toMatch(/^[\x21-\x7e]*$/);
      expect(new URL("http://h" + path).pathname.length).toBeGreaterThan(0);
    }
  });
});

describe("ajp fuzz: live backend", () => {
  let server: Server;
  let port: number;
  const logged: string[] = [];
  const previous = logError;

  beforeAll(async () => {
    setErrorLogger((message) => logged.push(message));
    const app = async (req: Request, res: Response): Promise<boolean> => {
      if (req.path === "/hello") return res.expandUtf8("hello");
      const body = await req.flatten(1 << 20);
      return res.expandUtf8(`${req.method} ${body.length}`);
    };
    ({ server, port } = await startAjp({}, app));
  });

  afterAll(async () => {
    await server.stop();
    setErrorLogger(previous);
  });

  /** Sends `input`, half-closes, and reads until the backend closes: the connection must end. */
  async function throwAt(input: Buffer[]): Promise<void> {
    const s = await AjpSocket.connect(port);
    for (const part of input) s.write(part);
    s.socket.end();
    try {
      while ((await s.next()) !== null);
    } catch {
      // the backend's answer may be cut anywhere: only the close matters
    }
    await s.closed;
  }

  it("survives random and mutated packets, and keeps serving", async () => {
    const rand = random(6);
    for (let round = 0; round < 150; round++) {
      const sample = SAMPLES[int(rand, SAMPLES.length)]!;
      const parts: Buffer[] = [];
      switch (int(rand, 4)) {
        case 0: // random bytes
          parts.push(bytes(rand, int(rand, 200)));
          break;
        case 1: {
          // a mutated FORWARD_REQUEST payload in a well-framed packet
          const payload = mutate(rand, forwardRequest(sample).subarray(4));
          const head = Buffer.from([0x12, 0x34, 0, 0]);
          head.writeUInt16BE(Math.min(payload.length, 0xffff), 2);
          parts.push(head, payload);
          break;
        }
        case 2: // a mutated stream: request, body packets, CPING
          parts.push(mutate(rand, Buffer.concat([forwardRequest(sample), bodyPacket(bytes(rand, 5)), bodyPacket(Buffer.alloc(0)), CPING])));
          break;
        default: {
          // a valid request whose body packets are random
          parts.push(forwardRequest({ method: "POST", uri: "/b", headers: [["Content-Length", String(int(rand, 50))]] }));
          for (let i = 0, n = int(rand, 4); i < n; i++) parts.push(bodyPacket(bytes(rand, int(rand, 30)), rand() < 0.5 ? "spec" : "raw"));
        }
      }
      await throwAt(parts);
    }
    const s = await AjpSocket.connect(port);
    const res = await exchange(s, { method: "GET", uri: "/hello", headers: [["Host", "h"]] });
    expect(res.body.toString()).toBe("hello");
    s.destroy();
    // bad input was reported, never thrown
    expect(logged.some((line) => /closing the connection/.test(line))).toBe(true);
  });

  it("answers or closes on odd paths (`//`, dot segments, raw bytes), never crashes", async () => {
    for (const uri of ["//a/./b", "//[x/./", "/a/../../b", "/%2e%2e/x", Buffer.from([0x2f, 0xff, 0xfe, 0x00]), "*", ""]) {
      const s = await AjpSocket.connect(port);
      try {
        const res = await exchange(s, { method: "GET", uri, headers: [["Host", "h"]] });
        expect(res.status === 0 || res.status >= 200).toBe(true);
      } catch {
        // the connection was closed: fine
      }
      s.destroy();
    }
    const s = await AjpSocket.connect(port);
    expect((await exchange(s, { method: "GET", uri: "/hello", headers: [["Host", "h"]] })).body.toString()).toBe("hello");
    s.destroy();
  });

  it("serves well-formed requests with random bodies and packet cuts", async () => {
    const rand = random(7);
    const s = await AjpSocket.connect(port);
    for (let round = 0; round < 50; round++) {
      const size = int(rand, 30000);
      const body = bytes(rand, size);
      const chunked = rand() < 0.5;
      const headers: [string, string][] = [["Host", "h"], chunked ? ["Transfer-Encoding", "chunked"] : ["Content-Length", String(size)]];
      async function* pieces(): AsyncGenerator<Buffer> {
        for (let i = 0; i < size; ) {
          const n = 1 + int(rand, 9000);
          yield body.subarray(i, i + n);
          i += n;
        }
      }
      const res = await exchange(s, { method: "PUT", uri: "/put", headers }, pieces(), { endForm: rand() < 0.5 ? "empty" : "zero-chunk" });
      expect(res.body.toString()).toBe(`PUT ${size}`);
      expect(res.reuse).toBe(true);
    }
    s.destroy();
  });
});
