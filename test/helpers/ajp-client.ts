// An AJP13 client playing Apache mod_proxy_ajp: it encodes FORWARD_REQUEST as Apache does (coded
// headers, query_string, secret, stored_method for methods without a code, the AJP_REMOTE_PORT
// and AJP_LOCAL_ADDR req_attributes), sends the first body packet unasked when there is a
// Content-Length, answers GET_BODY_CHUNK, and reads SEND_HEADERS / SEND_BODY_CHUNK /
// END_RESPONSE, keeping connections for reuse when the backend says so.
import { connect, type Socket } from "node:net";
import { Headers, Server } from "../../vsgi/index.js";
import { handler } from "../../examples/echo/handler.js";
import { PacketParser, MAGIC_OUT } from "../../servers/ajp/wire.js";
import type { ConformanceClient, ConformanceRequest, ConformanceResponse, Transport } from "../servers/conformance.js";

const METHOD_CODES: Record<string, number> = {
  OPTIONS: 1, GET: 2, HEAD: 3, POST: 4, PUT: 5, DELETE: 6, TRACE: 7, PROPFIND: 8, PROPPATCH: 9, MKCOL: 10,
  COPY: 11, MOVE: 12, LOCK: 13, UNLOCK: 14, ACL: 15, REPORT: 16, "VERSION-CONTROL": 17, CHECKIN: 18,
  CHECKOUT: 19, UNCHECKOUT: 20, SEARCH: 21, MKWORKSPACE: 22, UPDATE: 23, LABEL: 24, MERGE: 25,
  "BASELINE-CONTROL": 26, MKACTIVITY: 27,
};
const HEADER_CODES: Record<string, number> = {
  accept: 0xa001, "accept-charset": 0xa002, "accept-encoding": 0xa003, "accept-language": 0xa004,
  authorization: 0xa005, connection: 0xa006, "content-type": 0xa007, "content-length": 0xa008, cookie: 0xa009,
  cookie2: 0xa00a, host: 0xa00b, pragma: 0xa00c, referer: 0xa00d, "user-agent": 0xa00e,
};
const RESPONSE_NAMES = [
  "", "Content-Type", "Content-Language", "Content-Length", "Date", "Last-Modified", "Location", "Set-Cookie",
  "Set-Cookie2", "Servlet-Engine", "Status", "WWW-Authenticate",
];

/** Writes AJP fields into a growing list of buffers. */
export class AjpWriter {
  private readonly parts: Buffer[] = [];

  byte(v: number): this {
    this.parts.push(Buffer.from([v]));
    return this;
  }

  uint16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    this.parts.push(b);
    return this;
  }

  /** A string: length, bytes (latin1 for a JS string), NUL; `null` is 0xFFFF. */
  string(v: string | Buffer | null): this {
    if (v === null) return this.uint16(0xffff);
    const bytes = typeof v === "string" ? Buffer.from(v, "latin1") : v;
    this.uint16(bytes.length);
    this.parts.push(bytes, Buffer.from([0]));
    return this;
  }

  raw(bytes: Buffer): this {
    this.parts.push(bytes);
    return this;
  }

  /** The fields as one packet to the backend: `12 34`, length, payload. */
  packet(): Buffer {
    const payload = Buffer.concat(this.parts);
    const head = Buffer.from([0x12, 0x34, 0, 0]);
    head.writeUInt16BE(payload.length, 2);
    return Buffer.concat([head, payload]);
  }
}

/** Everything a FORWARD_REQUEST can carry; defaults are what Apache sends for a plain request. */
export interface ForwardSpec {
  method: string;
  /** The path as Apache sends it (percent-encoded), without the query. */
  uri: string | Buffer | null;
  query?: string | Buffer | null;
  protocol?: string;
  remoteAddr?: string | null;
  remoteHost?: string | null;
  serverName?: string | null;
  serverPort?: number;
  isSsl?: boolean;
  headers?: [string, string][];
  /** Send known header names as codes (Apache does); false sends every name as a string. */
  codedHeaders?: boolean;
  secret?: string | null;
  remoteUser?: string;
  authType?: string;
  context?: string;
  servletPath?: string;
  jvmRoute?: string;
  sslCert?: string;
  sslCipher?: string;
  sslSession?: string;
  sslKeySize?: number;
  /** req_attribute pairs; by default Apache's AJP_REMOTE_PORT and AJP_LOCAL_ADDR. */
  attributes?: [string, string][];
  /** Send the method as 0xFF + stored_method even when it has a code. */
  forceStored?: boolean;
}

/**
 * Encodes a FORWARD_REQUEST packet as Apache mod_proxy_ajp does.
 *
 * @example socket.write(forwardRequest({ method: "GET", uri: "/hello", headers: [["Host", "x"]] }));
 */
export function forwardRequest(spec: ForwardSpec): Buffer {
  const w = new AjpWriter().byte(2);
  const code = spec.forceStored || !Object.hasOwn(METHOD_CODES, spec.method) ? undefined : METHOD_CODES[spec.method];
  w.byte(code ?? 0xff);
  w.string(spec.protocol ?? "HTTP/1.1");
  w.string(spec.uri);
  w.string(spec.remoteAddr === undefined ? "127.0.0.1" : spec.remoteAddr);
  w.string(spec.remoteHost === undefined ? null : spec.remoteHost);
  w.string(spec.serverName === undefined ? "localhost" : spec.serverName);
  w.uint16(spec.serverPort ?? 80);
  w.byte(spec.isSsl ? 1 : 0);
  const headers = spec.headers ?? [];
  w.uint16(headers.length);
  for (const [name, value] of headers) {
    const hc = spec.codedHeaders === false || !Object.hasOwn(HEADER_CODES, name.toLowerCase()) ? undefined : HEADER_CODES[name.toLowerCase()];
    if (hc !== undefined) w.uint16(hc);
    else w.string(name);
    w.string(value);
  }
  const attr = (c: number, v: string | undefined): void => {
    if (v !== undefined) w.byte(c).string(v);
  };
  attr(0x01, spec.context);
  attr(0x02, spec.servletPath);
  attr(0x03, spec.remoteUser);
  attr(0x04, spec.authType);
  if (spec.query !== undefined && spec.query !== null) w.byte(0x05).string(spec.query);
  attr(0x06, spec.jvmRoute);
  attr(0x07, spec.sslCert);
  attr(0x08, spec.sslCipher);
  attr(0x09, spec.sslSession);
  if (spec.sslKeySize !== undefined) w.byte(0x0b).uint16(spec.sslKeySize);
  if (spec.secret !== undefined && spec.secret !== null) w.byte(0x0c).string(spec.secret);
  if (code === undefined) w.byte(0x0d).string(spec.method);
  for (const [name, value] of spec.attributes ?? [["AJP_REMOTE_PORT", "40000"], ["AJP_LOCAL_ADDR", "127.0.0.1"]]) {
    w.byte(0x0a).string(name).string(value);
  }
  w.byte(0xff);
  return w.packet();
}

/**
 * A request body packet. `spec`: chunk length + data (Apache; an empty `data` is Apache's end of
 * a chunked body); `raw`: the data alone (lighttpd); `empty`: a packet of length 0.
 */
export function bodyPacket(data: Buffer, form: "spec" | "raw" | "empty" = "spec"): Buffer {
  if (form === "empty") return Buffer.from([0x12, 0x34, 0, 0]);
  const w = new AjpWriter();
  if (form === "spec") w.uint16(data.length);
  return w.raw(data).packet();
}

/** CPING: `12 34 00 01 0a`. */
export const CPING = Buffer.from([0x12, 0x34, 0x00, 0x01, 0x0a]);

/** A socket to the backend, reading `AB` packets one at a time. */
export class AjpSocket {
  readonly socket: Socket;
  private readonly parser: PacketParser;
  private readonly queue: Buffer[] = [];
  private waiter: ((p: Buffer | null) => void) | null = null;
  private ended = false;
  private failure: Error | null = null;
  /** Resolves once the backend closed the connection. */
  readonly closed: Promise<void>;

  private constructor(socket: Socket, packetSize: number) {
    this.socket = socket;
    this.parser = new PacketParser(MAGIC_OUT, packetSize);
    socket.on("data", (chunk: Buffer) => {
      this.parser.push(chunk);
      try {
        for (let p = this.parser.shift(); p !== null; p = this.parser.shift()) this.deliver(p);
      } catch (err) {
        this.failure = err as Error;
        socket.destroy();
      }
    });
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.ended = true;
        this.deliver(null);
        resolve();
      });
    });
    socket.on("error", () => undefined);
  }

  /** Connects to `port` on the loopback (or a UNIX socket path). */
  static connect(where: number | string, packetSize = 8192): Promise<AjpSocket> {
    return new Promise((resolve, reject) => {
      const socket = typeof where === "number" ? connect(where, "127.0.0.1") : connect(where);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new AjpSocket(socket, packetSize));
      });
      socket.once("error", reject);
    });
  }

  get isClosed(): boolean {
    return this.ended;
  }

  private deliver(p: Buffer | null): void {
    if (this.waiter !== null) {
      const w = this.waiter;
      this.waiter = null;
      w(p);
    } else if (p !== null) {
      this.queue.push(p);
    }
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next packet's payload from the backend; `null` once it closed the connection. */
  next(): Promise<Buffer | null> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const p = this.queue.shift();
    if (p !== undefined) return Promise.resolve(p);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** Packets already received and not yet taken. */
  get pending(): number {
    return this.queue.length;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A decoded SEND_HEADERS. */
export interface AjpHead {
  status: number;
  reason: string;
  headers: Headers;
  /** Header names as sent: a number for a coded one. */
  names: (string | number)[];
}

/**
 * Decodes a SEND_HEADERS payload, checking every length against the packet.
 *
 * @example const head = parseSendHeaders(await socket.next());
 */
export function parseSendHeaders(p: Buffer): AjpHead {
  if (p[0] !== 4) throw new Error(`expected SEND_HEADERS, got type ${p[0]}`);
  let pos = 1;
  const u16 = (): number => {
    if (pos + 2 > p.length) throw new Error("SEND_HEADERS truncated");
    const v = p.readUInt16BE(pos);
    pos += 2;
    return v;
  };
  const str = (): string => {
    const n = u16();
    if (pos + n + 1 > p.length || p[pos + n] !== 0) throw new Error("SEND_HEADERS: bad string");
    const s = p.toString("latin1", pos, pos + n);
    pos += n + 1;
    return s;
  };
  const status = u16();
  const reason = str();
  const count = u16();
  const headers = new Headers(null, false);
  const names: (string | number)[] = [];
  for (let i = 0; i < count; i++) {
    let name: string;
    if (p[pos] === 0xa0) {
      const code = u16();
      names.push(code);
      name = RESPONSE_NAMES[code & 0xff] ?? "";
      if (name === "") throw new Error(`unknown response header code ${code.toString(16)}`);
    } else {
      name = str();
      names.push(name);
    }
    headers.append(name, str());
  }
  if (pos !== p.length) throw new Error(`SEND_HEADERS has ${p.length - pos} trailing bytes`);
  return { status, reason, headers, names };
}

/** The data of a SEND_BODY_CHUNK, checking the chunk length and the trailing 0x00. */
export function parseBodyChunk(p: Buffer): Buffer {
  if (p[0] !== 3) throw new Error(`expected SEND_BODY_CHUNK, got type ${p[0]}`);
  const n = p.readUInt16BE(1);
  if (p.length !== n + 4) throw new Error(`SEND_BODY_CHUNK of ${p.length} bytes announces ${n} bytes of data`);
  if (p[p.length - 1] !== 0) throw new Error("SEND_BODY_CHUNK without its trailing 0x00");
  return p.subarray(3, 3 + n);
}

/** Pulls bytes from a Buffer or an async iterable, a bounded amount at a time. */
class BodyReader {
  private readonly iterator: AsyncIterator<Buffer> | null;
  private rest: Buffer;
  private done = false;

  constructor(body: Buffer | AsyncIterable<Buffer> | undefined) {
    if (body === undefined || Buffer.isBuffer(body)) {
      this.iterator = null;
      this.rest = body ?? Buffer.alloc(0);
      this.done = true;
    } else {
      this.iterator = body[Symbol.asyncIterator]();
      this.rest = Buffer.alloc(0);
    }
  }

  /** Up to `n` bytes; empty at the end. */
  async take(n: number): Promise<Buffer> {
    while (this.rest.length === 0 && !this.done) {
      const next = await this.iterator!.next();
      if (next.done) this.done = true;
      else this.rest = next.value;
    }
    const out = this.rest.subarray(0, n);
    this.rest = this.rest.subarray(out.length);
    return out;
  }
}

/** What a request through `exchange` gives back, with the packet-level facts tests check. */
export interface AjpResult extends ConformanceResponse {
  reason: string;
  /** The END_RESPONSE reuse flag; `null` when the connection closed before it. */
  reuse: boolean | null;
  /** Data sizes of the SEND_BODY_CHUNK packets, in order. */
  chunkSizes: number[];
  /** GET_BODY_CHUNK packets received, with the size each asked for. */
  asked: number[];
  /** Data sizes of the body packets sent, in order (the first one unasked with a Content-Length). */
  sent: number[];
  headNames: (string | number)[];
}

/** How `exchange` sends a request and its body. */
export interface ExchangeOptions {
  /** Apache's packet size (ProxyIOBufferSize): bounds the body packets it sends. */
  packetSize?: number;
  /** The body's end for chunked bodies: Apache's chunk of length 0, or an empty packet. */
  endForm?: "zero-chunk" | "empty";
  /** Close the connection after this many body bytes of the response. */
  abortAfter?: number;
  /**
   * Play a strict AJP13 reference front server instead of Apache: exactly one packet per
   * GET_BODY_CHUNK, of at most the size asked for, and an empty packet for an ask past the end
   * of the body (the reference's answer) where Apache fails the request. Send no AJP_REMOTE_PORT
   * with it (`attributes: []`): the reference does not require one.
   */
  reference?: boolean;
  /** Milliseconds to wait before answering each GET_BODY_CHUNK: a front server whose client uploads slowly. */
  answerDelay?: number;
}

/**
 * Sends one request over `socket` as Apache does and reads the whole response. The body goes
 * as Apache sends it: with a Content-Length, the first packet unasked; without one (chunked),
 * only when asked; each GET_BODY_CHUNK answered with up to packetSize - 6 bytes, then the end.
 *
 * @example const res = await exchange(socket, { method: "GET", uri: "/hello" });
 */
export async function exchange(
  socket: AjpSocket,
  spec: ForwardSpec,
  body?: Buffer | AsyncIterable<Buffer>,
  options: ExchangeOptions = {},
): Promise<AjpResult> {
  const packetSize = options.packetSize ?? 8192;
  const max = packetSize - 6;
  const reader = new BodyReader(body);
  const hasLength = (spec.headers ?? []).some(([n]) => n.toLowerCase() === "content-length");
  socket.write(forwardRequest(spec));
  let bodyEnded = false;
  const sent: number[] = [];
  if (hasLength) {
    const first = await reader.take(max);
    if (first.length > 0) {
      socket.write(bodyPacket(first));
      sent.push(first.length);
    }
  }
  const result: AjpResult = {
    status: 0,
    reason: "",
    headers: new Headers(),
    body: Buffer.alloc(0),
    reuse: null,
    chunkSizes: [],
    asked: [],
    sent,
    headNames: [],
  };
  const chunks: Buffer[] = [];
  let received = 0;
  for (;;) {
    const p = await socket.next();
    if (p === null) break;
    const type = p[0];
    if (type === 4) {
      const head = parseSendHeaders(p);
      result.status = head.status;
      result.reason = head.reason;
      result.headers = head.headers;
      result.headNames = head.names;
    } else if (type === 3) {
      const data = parseBodyChunk(p);
      result.chunkSizes.push(data.length);
      chunks.push(Buffer.from(data));
      received += data.length;
      if (options.abortAfter !== undefined && received >= options.abortAfter) {
        socket.destroy();
        break;
      }
    } else if (type === 6) {
      const size = p.readUInt16BE(1);
      result.asked.push(size);
      if (options.answerDelay !== undefined) await new Promise((resolve) => setTimeout(resolve, options.answerDelay));
      if (bodyEnded && options.reference === true) {
        socket.write(bodyPacket(Buffer.alloc(0), "empty"));
        sent.push(0);
        continue;
      }
      if (bodyEnded) throw new Error("GET_BODY_CHUNK after the end of the body (Apache fails the request)");
      const data = await reader.take(options.reference === true ? Math.min(max, size) : Math.min(max, size || max));
      sent.push(data.length);
      if (data.length === 0) {
        bodyEnded = true;
        socket.write(options.endForm === "empty" ? bodyPacket(data, "empty") : bodyPacket(data));
      } else {
        socket.write(bodyPacket(data));
      }
    } else if (type === 5) {
      result.reuse = p[1] === 1;
      break;
    } else {
      throw new Error(`unexpected packet type ${type} from the backend`);
    }
  }
  result.body = Buffer.concat(chunks);
  return result;
}

/** The parts of a request-target, as Apache splits it into req_uri and query_string. */
export function splitTarget(target: string): { uri: string; query: string | null } {
  const q = target.indexOf("?");
  return q === -1 ? { uri: target, query: null } : { uri: target.slice(0, q), query: target.slice(q + 1) };
}

/**
 * A conformance client: each request on a pooled connection (reused when the backend answered
 * reuse=1), as Apache's connection pool does.
 */
export function ajpClient(port: number, close: () => Promise<void>, base: Partial<ForwardSpec> = {}): ConformanceClient {
  const idle: AjpSocket[] = [];
  const all = new Set<AjpSocket>();
  return {
    async request(r: ConformanceRequest): Promise<ConformanceResponse> {
      let socket = idle.pop();
      while (socket !== undefined && socket.isClosed) socket = idle.pop();
      if (socket === undefined) {
        socket = await AjpSocket.connect(port);
        all.add(socket);
      }
      const { uri, query } = splitTarget(r.target);
      const headers = [...(r.headers ?? [])];
      if (!headers.some(([n]) => n.toLowerCase() === "host")) headers.unshift(["Host", "127.0.0.1"]);
      if (r.body !== undefined && !headers.some(([n]) => n.toLowerCase() === "content-length")) {
        if (Buffer.isBuffer(r.body)) headers.push(["Content-Length", String(r.body.length)]);
        else headers.push(["Transfer-Encoding", "chunked"]);
      }
      const result = await exchange(socket, { ...base, method: r.method, uri, query, headers }, r.body, {
        ...(r.abortAfter !== undefined ? { abortAfter: r.abortAfter } : {}),
      });
      if (result.reuse === true) idle.push(socket);
      else socket.destroy();
      return result;
    },
    async close(): Promise<void> {
      for (const s of all) s.destroy();
      await close();
    },
  };
}

/**
 * Starts the ajp backend with `handler` (the echo app by default) on a free loopback port.
 *
 * @example const { port, server } = await startAjp({ secret: "s" });
 */
export async function startAjp(options: Record<string, unknown> = {}, app: unknown = handler): Promise<{ port: number; server: Server }> {
  const server = await Server.load("ajp", { handler: app as typeof handler, ...options });
  await server.listen({ port: 0, host: "127.0.0.1" });
  return { port: Number(server.uris[0]!.port), server };
}

/** The ajp backend, for the conformance suite. */
export const ajpTransport: Transport = {
  name: "ajp",
  async start() {
    const { port, server } = await startAjp();
    return ajpClient(port, () => server.stop());
  },
};
