// Properties of the AJP13 wire format (servers/ajp/wire.ts, forward-request.ts, encode.ts):
// packets split anywhere come out whole; FORWARD_REQUESTs round-trip against the test client's
// encoder (Apache's encoding); the backend's own encoders (SEND_HEADERS, SEND_BODY_CHUNK)
// against the client's decoders; mutated and random bytes give a result or an AjpWireError,
// nothing else, the same however split.
import { describe, it, expect } from "@jest/globals";
import fc from "fast-check";
import { Headers } from "../../../vsgi/index.js";
import { requestFromEnvironment } from "../../../vsgi/cgi-environment.js";
import { VsgiError } from "../../../vsgi/errors.js";
import {
  AjpWireError,
  MAGIC_IN,
  METHODS,
  PacketParser,
  REQUEST_HEADERS,
  bodyChunkPieces,
  bodyData,
  encodeBodyChunks,
  encodeSendHeaders,
  isSpecBodyPacket,
  parseForwardRequest,
} from "../../../servers/ajp/wire.js";
import { environmentOf } from "../../../servers/ajp/request.js";
import { forwardRequest, parseBodyChunk, parseSendHeaders, type ForwardSpec } from "../../helpers/ajp-client.js";
import { PROPERTY_TIMEOUT, cuts, mutated, params, randomBytes, split } from "../../helpers/fuzz.js";

/** Pushes the chunks, shifting payloads after each; the payloads and whether it threw. */
function packets(chunks: readonly Buffer[], packetSize = 8192): { payloads: Buffer[]; error: boolean } {
  const parser = new PacketParser(MAGIC_IN, packetSize);
  const payloads: Buffer[] = [];
  try {
    for (const chunk of chunks) {
      parser.push(chunk);
      for (let p = parser.shift(); p !== null; p = parser.shift()) payloads.push(Buffer.from(p));
    }
  } catch (error) {
    if (!(error instanceof AjpWireError)) throw error;
    return { payloads, error: true };
  }
  return { payloads, error: false };
}

function frame(payload: Uint8Array): Buffer {
  const head = Buffer.from([0x12, 0x34, 0, 0]);
  head.writeUInt16BE(payload.length, 2);
  return Buffer.concat([head, payload]);
}

const latin1 = (max: number): fc.Arbitrary<string> => fc.string({ unit: fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: max });
const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,16}$/);
const coded = REQUEST_HEADERS.filter((n): n is string => n !== undefined);
const headerName = fc.oneof(fc.constantFrom(...coded), token.filter((t) => !coded.some((c) => c.toLowerCase() === t.toLowerCase())));
const host = fc.stringMatching(/^[a-z0-9.-]{1,30}$/);
const codedMethods = METHODS.filter((m): m is string => m !== undefined);

const spec: fc.Arbitrary<ForwardSpec> = fc.record({
  method: fc.oneof(fc.constantFrom(...codedMethods), token),
  protocol: fc.constantFrom("HTTP/1.1", "HTTP/1.0", "HTTP/2.0"),
  uri: fc.oneof(fc.stringMatching(/^\/[!-~]{0,40}$/), fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.concat([Buffer.from("/"), b]))),
  query: fc.option(latin1(30), { nil: undefined }),
  remoteAddr: fc.option(fc.stringMatching(/^[0-9.:a-f]{1,39}$/), { nil: null }),
  remoteHost: fc.option(host, { nil: null }),
  serverName: fc.option(host, { nil: null }),
  serverPort: fc.integer({ min: 0, max: 0xffff }),
  isSsl: fc.boolean(),
  headers: fc.array(fc.tuple(headerName, latin1(60)), { maxLength: 10 }),
  codedHeaders: fc.boolean(),
  secret: fc.option(latin1(20), { nil: undefined }),
  remoteUser: fc.option(latin1(20), { nil: undefined }),
  authType: fc.option(latin1(10), { nil: undefined }),
  context: fc.option(latin1(10), { nil: undefined }),
  servletPath: fc.option(latin1(10), { nil: undefined }),
  jvmRoute: fc.option(latin1(10), { nil: undefined }),
  sslCert: fc.option(latin1(100), { nil: undefined }),
  sslCipher: fc.option(latin1(20), { nil: undefined }),
  sslSession: fc.option(latin1(20), { nil: undefined }),
  sslKeySize: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
  attributes: fc.array(fc.tuple(latin1(20), latin1(20)), { maxLength: 4 }),
  forceStored: fc.boolean(),
});

const validForward = spec.map((s) => forwardRequest(s).subarray(4));

describe("AJP packets, properties", () => {
  it(
    "splits a stream of valid packets into their payloads exactly, however it is cut",
    () => {
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }), cuts(16), (payloads, points) => {
          const stream = Buffer.concat(payloads.map(frame));
          const out = packets(split(stream, points));
          expect(out.error).toBe(false);
          expect(out.payloads.length).toBe(payloads.length);
          expect(out.payloads.every((p, i) => p.equals(payloads[i]!))).toBe(true);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "mutated and random streams: payloads or an AjpWireError, the same however split, never past the packet size",
    () => {
      const stream = fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 6 }).map((list) => Buffer.concat(list.map(frame)));
      fc.assert(
        fc.property(fc.oneof(mutated(stream), randomBytes, randomBytes.map((b) => Buffer.concat([Buffer.from([0x12, 0x34]), b]))), cuts(16), fc.integer({ min: 4, max: 300 }), (input, points, size) => {
          const whole = packets([Buffer.from(input)], size);
          const pieces = packets(split(input, points), size);
          expect(pieces.error).toBe(whole.error);
          expect(pieces.payloads.length).toBe(whole.payloads.length);
          expect(pieces.payloads.every((p, i) => p.equals(whole.payloads[i]!) && p.length <= size - 4)).toBe(true);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );
});

describe("AJP FORWARD_REQUEST, properties", () => {
  it(
    "decodes what Apache's encoding (the test client) sends, field for field",
    () => {
      fc.assert(
        fc.property(spec, (s) => {
          const r = parseForwardRequest(forwardRequest(s).subarray(4));
          expect(r.method).toBe(s.method);
          expect(r.protocol).toBe(s.protocol);
          expect(r.requestUri!.equals(Buffer.isBuffer(s.uri) ? s.uri : Buffer.from(s.uri!, "latin1"))).toBe(true);
          expect([r.remoteAddr, r.remoteHost, r.serverName, r.serverPort, r.isSsl]).toEqual([s.remoteAddr, s.remoteHost, s.serverName, s.serverPort, s.isSsl]);
          expect(r.headers).toEqual(s.headers);
          expect(r.queryString?.toString("latin1")).toBe(s.query);
          const optional = { secret: s.secret, remoteUser: s.remoteUser, authType: s.authType, context: s.context, servletPath: s.servletPath, jvmRoute: s.jvmRoute, sslCert: s.sslCert, sslCipher: s.sslCipher, sslSession: s.sslSession, sslKeySize: s.sslKeySize };
          for (const [key, value] of Object.entries(optional)) expect([key, r[key as keyof typeof r]]).toEqual([key, value ?? null]);
          expect(r.attributes).toEqual(s.attributes);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "mutated and random payloads: a request or an AjpWireError; a request becomes an environment, a request or a 400",
    () => {
      fc.assert(
        fc.property(fc.oneof(mutated(validForward), randomBytes.map((b) => Buffer.concat([Buffer.from([2]), b]))), (input) => {
          let env;
          try {
            env = environmentOf(parseForwardRequest(Buffer.from(input))).env;
          } catch (error) {
            expect(error).toBeInstanceOf(AjpWireError);
            return;
          }
          try {
            const init = requestFromEnvironment(env, undefined);
            expect(init.path!.startsWith("/") || init.path === "*").toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(VsgiError);
            expect((error as VsgiError).status).toBe(400);
          }
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );
});

describe("AJP body packets and the backend's encoders, properties", () => {
  it(
    "bodyData reads the reference framing exactly, and refuses short or lying packets with AjpWireError",
    () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), randomBytes, (data, random) => {
          const payload = frame(data).subarray(2); // uint16 length + data: Apache's body packet
          expect(isSpecBodyPacket(payload)).toBe(true);
          expect(bodyData(payload, "spec").equals(data)).toBe(true);
          expect(bodyData(Buffer.from(data), "raw").equals(data)).toBe(true);
          try {
            const out = bodyData(Buffer.from(random), "spec");
            expect(out.length).toBeLessThanOrEqual(Math.max(0, random.length - 2));
          } catch (error) {
            expect(error).toBeInstanceOf(AjpWireError);
          }
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "SEND_BODY_CHUNK packets (encodeBodyChunks, bodyChunkPieces) carry the data exactly, within the packet size",
    () => {
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ maxLength: 500 }), { maxLength: 8 }), fc.integer({ min: 9, max: 700 }), cuts(), (chunks, size, points) => {
          const total = chunks.reduce((n, c) => n + c.length, 0);
          const bytes = encodeBodyChunks(chunks, total, size);
          expect(Buffer.concat(bodyChunkPieces(chunks, total, size)).equals(bytes)).toBe(true);
          const parser = new PacketParser(0x4142, size);
          const data: Buffer[] = [];
          for (const piece of split(bytes, points)) {
            parser.push(piece);
            for (let p = parser.shift(); p !== null; p = parser.shift()) data.push(parseBodyChunk(p));
          }
          expect(Buffer.concat(data).equals(Buffer.concat(chunks))).toBe(true);
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "SEND_HEADERS (encodeSendHeaders) decodes to the status, reason and headers, or is refused as too large",
    () => {
      const name = fc.oneof(token, fc.constantFrom("Content-Type", "Set-Cookie", "Location", "Status", "Transfer-Encoding", "Connection", "WWW-Authenticate"));
      fc.assert(
        fc.property(fc.integer({ min: 100, max: 999 }), latin1(30), fc.array(fc.tuple(name, latin1(80)), { maxLength: 12 }), fc.integer({ min: 64, max: 2048 }), (status, reason, list, size) => {
          const headers = new Headers(null, false);
          for (const [n, v] of list) headers.append(n, v);
          const packet = encodeSendHeaders(status, reason, headers, size);
          const kept = list.filter(([n]) => !["transfer-encoding", "connection", "keep-alive", "status"].includes(n.toLowerCase()));
          if (packet === null) {
            expect(encodeSendHeaders(status, reason, headers, 65536)!.length).toBeGreaterThan(size);
            return;
          }
          expect(packet.length).toBeLessThanOrEqual(size);
          const head = parseSendHeaders(packet.subarray(4));
          expect([head.status, head.reason]).toEqual([status, reason]);
          expect(head.names.length).toBe(kept.length);
          const got: [string, string][] = [];
          head.headers.forEachValue((n, v) => got.push([n.toLowerCase(), v]));
          expect(got.sort()).toEqual(kept.map(([n, v]) => [n.toLowerCase(), v]).sort());
        }),
        params(),
      );
    },
    PROPERTY_TIMEOUT,
  );
});
