// A small FastCGI client playing the front server: it builds the CGI variables the way nginx
// does (fastcgi_params), speaks FastCGI over a real socket (keep-conn, several requests at once,
// ABORT_REQUEST, GET_VALUES, raw records), and parses the CGI responses.
import { connect, type Socket } from "node:net";
import { once } from "node:events";
import { Headers, Server } from "../../vsgi/index.js";
import { handler } from "../../examples/echo/handler.js";
import type FastcgiServer from "../../servers/fastcgi/index.js";
import type { FastcgiServerOptions } from "../../servers/fastcgi/index.js";
import {
  RecordParser,
  encodeRecord,
  encodePairs,
  decodePairs,
  beginRequestRecord,
  decodeEndRequest,
  streamRecords,
  ABORT_REQUEST,
  END_REQUEST,
  GET_VALUES,
  GET_VALUES_RESULT,
  PARAMS,
  STDIN,
  STDOUT,
  STDERR,
  RESPONDER,
  KEEP_CONN,
} from "../../servers/fastcgi/records.js";
import type { ConformanceClient, ConformanceRequest, ConformanceResponse, Transport } from "../servers/conformance.js";

/** A record as received. */
export interface ReceivedRecord {
  type: number;
  requestId: number;
  content: Buffer;
  /** Which socket read brought it (1, 2, ...): records of one write usually share one. */
  read: number;
}

/** What one request brought back. */
export interface FastcgiResult {
  requestId: number;
  stdout: Buffer;
  stderr: Buffer;
  /** From END_REQUEST; null when the connection closed first. */
  appStatus: number | null;
  protocolStatus: number | null;
}

/** A parsed CGI response. */
export interface CgiResult {
  status: number;
  reason: string;
  headers: Headers;
  body: Buffer;
}

/** Where to connect: a TCP port on the loopback, or a UNIX socket. */
export type Address = { port: number; host?: string } | { path: string };

/** A request as the client sends it. */
export interface ClientRequest {
  /** Default: the next free id. */
  requestId?: number;
  params: [string, string][];
  body?: Buffer | AsyncIterable<Buffer>;
  keepConn?: boolean;
  role?: number;
  /** Bytes per PARAMS record (to make pairs straddle records). Default 65535. */
  paramsRecordSize?: number;
  /** Bytes per STDIN record. Default 32768, what nginx sends at most with its default buffers. */
  stdinRecordSize?: number;
  /** Called with each STDOUT chunk as it arrives. */
  onStdout?: (chunk: Buffer) => void;
  /** Do not keep STDOUT (large downloads checked through `onStdout`). */
  discardStdout?: boolean;
}

interface Pending {
  stdout: Buffer[];
  stderr: Buffer[];
  request: ClientRequest;
  resolve: (result: FastcgiResult) => void;
  reject: (error: Error) => void;
}

/**
 * Parses a CGI response (`Status:` header, other headers, blank line, body), as a front server
 * does: without `Status:`, a `Location:` means 302, else 200.
 *
 * @example parseCgiResponse(result.stdout).status;
 */
export function parseCgiResponse(stdout: Buffer): CgiResult {
  let end = stdout.indexOf("\r\n\r\n");
  let skip = 4;
  const lf = stdout.indexOf("\n\n");
  if (end === -1 || (lf !== -1 && lf < end)) {
    end = lf;
    skip = 2;
  }
  if (end === -1) throw new Error(`no end of head in ${JSON.stringify(stdout.subarray(0, 200).toString("latin1"))}`);
  const headers = new Headers(null, false);
  let status = 0;
  let reason = "";
  for (const line of stdout.subarray(0, end).toString("latin1").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error(`bad header line ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") {
      const m = /^(\d{3})\s*(.*)$/.exec(value);
      if (m === null) throw new Error(`bad Status header ${JSON.stringify(value)}`);
      status = Number(m[1]);
      reason = m[2]!;
    } else {
      headers.append(name, value);
    }
  }
  if (status === 0) status = headers.has("location") ? 302 : 200;
  return { status, reason, headers, body: stdout.subarray(end + skip) };
}

/**
 * The CGI variables nginx 1.22 sends with Debian's `fastcgi_params` for a request: SCRIPT_NAME
 * the decoded path, no PATH_INFO, REQUEST_URI raw, each header as HTTP_*, a repeated header
 * (Cookie) sent twice.
 *
 * @example nginxParams("GET", "/a?b=1", [["Host", "example.com"]]);
 */
export function nginxParams(method: string, target: string, headers: [string, string][] = [], bodyLength: number | null = null): [string, string][] {
  const q = target.indexOf("?");
  const path = q === -1 ? target : target.slice(0, q);
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    decoded = path;
  }
  const contentType = headers.find(([n]) => n.toLowerCase() === "content-type")?.[1] ?? "";
  const params: [string, string][] = [
    ["QUERY_STRING", q === -1 ? "" : target.slice(q + 1)],
    ["REQUEST_METHOD", method],
    ["CONTENT_TYPE", contentType],
    ["CONTENT_LENGTH", bodyLength === null ? "" : String(bodyLength)],
    ["SCRIPT_NAME", decoded],
    ["REQUEST_URI", target],
    ["DOCUMENT_URI", decoded],
    ["DOCUMENT_ROOT", "/var/www/html"],
    ["SERVER_PROTOCOL", "HTTP/1.1"],
    ["REQUEST_SCHEME", "http"],
    ["GATEWAY_INTERFACE", "CGI/1.1"],
    ["SERVER_SOFTWARE", "nginx/1.22.1"],
    ["REMOTE_ADDR", "127.0.0.1"],
    ["REMOTE_PORT", "50000"],
    ["SERVER_ADDR", "127.0.0.1"],
    ["SERVER_PORT", "80"],
    ["SERVER_NAME", "localhost"],
    ["REDIRECT_STATUS", "200"],
  ];
  if (!headers.some(([n]) => n.toLowerCase() === "host")) params.push(["HTTP_HOST", "localhost"]);
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === "content-type" || lower === "content-length") continue;
    params.push(["HTTP_" + name.toUpperCase().replace(/-/g, "_"), value]);
  }
  return params;
}

/**
 * One FastCGI connection to a backend, as a front server holds it.
 *
 * @example
 * const client = await FastcgiClient.connect({ port });
 * const result = await client.request({ params: nginxParams("GET", "/hello"), keepConn: true });
 * parseCgiResponse(result.stdout).body.toString(); // "hello"
 */
export class FastcgiClient {
  readonly socket: Socket;
  /** Every record received, when `keepRecords` is set. */
  readonly records: ReceivedRecord[] = [];
  keepRecords = false;
  /** Resolves when the backend (or this side) closed the connection. */
  readonly closed: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private readonly watchers: { match: (r: ReceivedRecord) => boolean; resolve: (r: ReceivedRecord) => void }[] = [];
  private nextId = 1;
  private ended = false;
  private reads = 0;

  private constructor(socket: Socket) {
    this.socket = socket;
    const parser = new RecordParser(this);
    socket.on("data", (chunk: Buffer) => {
      this.reads++;
      parser.push(chunk);
    });
    socket.on("error", () => undefined);
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.ended = true;
        for (const [id, p] of this.pending) {
          this.pending.delete(id);
          p.resolve({ requestId: id, stdout: Buffer.concat(p.stdout), stderr: Buffer.concat(p.stderr), appStatus: null, protocolStatus: null });
        }
        resolve();
      });
    });
  }

  static async connect(address: Address): Promise<FastcgiClient> {
    const socket = "path" in address ? connect(address.path) : connect(address.port, address.host ?? "127.0.0.1");
    socket.setNoDelay(true);
    await once(socket, "connect");
    return new FastcgiClient(socket);
  }

  /** True once the connection is closed. */
  get isClosed(): boolean {
    return this.ended;
  }

  onRecord(type: number, requestId: number, content: Buffer): void {
    const record = { type, requestId, content: Buffer.from(content), read: this.reads };
    if (this.keepRecords) this.records.push(record);
    for (const w of this.watchers.slice()) {
      if (w.match(record)) {
        this.watchers.splice(this.watchers.indexOf(w), 1);
        w.resolve(record);
      }
    }
    const p = this.pending.get(requestId);
    if (p === undefined) return;
    if (type === STDOUT && content.length > 0) {
      p.request.onStdout?.(record.content);
      if (!p.request.discardStdout) p.stdout.push(record.content);
    } else if (type === STDERR && content.length > 0) {
      p.stderr.push(record.content);
    } else if (type === END_REQUEST) {
      this.pending.delete(requestId);
      const end = decodeEndRequest(content);
      p.resolve({
        requestId,
        stdout: Buffer.concat(p.stdout),
        stderr: Buffer.concat(p.stderr),
        appStatus: end?.appStatus ?? null,
        protocolStatus: end?.protocolStatus ?? null,
      });
    }
  }

  /** Resolves with the first record (from now on) that matches. */
  waitRecord(match: (r: ReceivedRecord) => boolean): Promise<ReceivedRecord> {
    return new Promise((resolve) => this.watchers.push({ match, resolve }));
  }

  /** Writes raw bytes; resolves once the socket takes more. */
  async send(bytes: Buffer | Buffer[]): Promise<void> {
    const all = Array.isArray(bytes) ? bytes : [bytes];
    let ok = true;
    for (const b of all) ok = this.socket.write(b);
    if (!ok && !this.socket.destroyed) await Promise.race([once(this.socket, "drain"), this.closed]);
  }

  /** A free request id. */
  allocateId(): number {
    while (this.pending.has(this.nextId)) this.nextId = (this.nextId % 65535) + 1;
    const id = this.nextId;
    this.nextId = (this.nextId % 65535) + 1;
    return id;
  }

  /**
   * Starts a request and resolves with what came back once END_REQUEST arrives (or the
   * connection closes). The body is streamed with the socket's back-pressure.
   */
  request(r: ClientRequest): Promise<FastcgiResult> {
    const id = r.requestId ?? this.allocateId();
    const result = this.expect(id, r);
    void this.sendRequest(id, r).catch(() => undefined);
    return result;
  }

  /** Collects what comes back for `id` (its records sent by hand), until END_REQUEST or the close. */
  expect(id: number, r: Partial<ClientRequest> = {}): Promise<FastcgiResult> {
    return new Promise<FastcgiResult>((resolve, reject) => {
      this.pending.set(id, { stdout: [], stderr: [], request: { params: [], ...r }, resolve, reject });
    });
  }

  private async sendRequest(id: number, r: ClientRequest): Promise<void> {
    const head = [
      beginRequestRecord(id, r.role ?? RESPONDER, r.keepConn ? KEEP_CONN : 0),
      ...streamRecords(PARAMS, id, encodePairs(r.params), true, r.paramsRecordSize ?? 65535),
    ];
    const size = r.stdinRecordSize ?? 32768;
    if (r.body === undefined || Buffer.isBuffer(r.body)) {
      await this.send([...head, ...streamRecords(STDIN, id, r.body ?? Buffer.alloc(0), true, size)]);
      return;
    }
    await this.send(head);
    for await (const chunk of r.body) {
      if (this.ended || !this.pending.has(id)) return;
      await this.send(streamRecords(STDIN, id, chunk, false, size));
    }
    if (!this.ended && this.pending.has(id)) await this.send(encodeRecord(STDIN, id));
  }

  /** Sends ABORT_REQUEST for `id`. */
  abort(id: number): Promise<void> {
    return this.send(encodeRecord(ABORT_REQUEST, id));
  }

  /** Asks GET_VALUES and resolves with the GET_VALUES_RESULT pairs. */
  async getValues(names: string[]): Promise<[string, string][]> {
    const answer = this.waitRecord((r) => r.type === GET_VALUES_RESULT && r.requestId === 0);
    await this.send(encodeRecord(GET_VALUES, 0, encodePairs(names.map((n) => [n, ""]))));
    return decodePairs((await answer).content);
  }

  close(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }
}

function conformanceResponse(result: FastcgiResult, partial: Buffer[] | null): ConformanceResponse {
  if (partial !== null) {
    const stdout = Buffer.concat(partial);
    const split = stdout.indexOf("\r\n\r\n");
    const parsed = parseCgiResponse(split === -1 ? Buffer.from("\r\n\r\n") : stdout);
    return { status: parsed.status, headers: parsed.headers, body: parsed.body };
  }
  const parsed = parseCgiResponse(result.stdout);
  return { status: parsed.status, headers: parsed.headers, body: parsed.body };
}

function headBytes(stdout: Buffer[]): number {
  const all = Buffer.concat(stdout);
  const end = all.indexOf("\r\n\r\n");
  return end === -1 ? -1 : all.length - end - 4;
}

/** How the conformance client reaches the backend, like one of the front servers does. */
export type Style =
  /** nginx with `keepalive` + `fastcgi_keep_conn on`: a pool of kept connections, id 1; a client going away closes the connection. */
  | "keep-conn"
  /** lighttpd: one connection per request, no FCGI_KEEP_CONN. */
  | "per-request"
  /** HAProxy with `option mpxs-conns`: one connection, new ids; a client going away sends ABORT_REQUEST. */
  | "multiplexed";

/**
 * A conformance client speaking FastCGI to `address` in one of the front servers' styles.
 *
 * @example const client = fastcgiConformanceClient({ port }, "multiplexed", () => server.stop());
 */
export function fastcgiConformanceClient(address: Address, style: Style, stop: () => Promise<void>): ConformanceClient {
  const idle: FastcgiClient[] = [];
  const open = new Set<FastcgiClient>();
  let shared: Promise<FastcgiClient> | null = null;

  async function connection(): Promise<FastcgiClient> {
    if (style === "multiplexed") {
      if (shared === null) shared = FastcgiClient.connect(address);
      const c = await shared;
      if (!c.isClosed) return c;
      shared = FastcgiClient.connect(address);
      return shared;
    }
    while (style === "keep-conn" && idle.length > 0) {
      const c = idle.pop()!;
      if (!c.isClosed) return c;
    }
    const c = await FastcgiClient.connect(address);
    open.add(c);
    void c.closed.then(() => open.delete(c));
    return c;
  }

  return {
    async request(r: ConformanceRequest): Promise<ConformanceResponse> {
      const c = await connection();
      const length = r.headers?.find(([n]) => n.toLowerCase() === "content-length")?.[1];
      const bodyLength = length !== undefined ? Number(length) : Buffer.isBuffer(r.body) ? r.body.length : r.body === undefined ? null : null;
      const params = nginxParams(r.method, r.target, r.headers ?? [], bodyLength);
      const id = style === "keep-conn" || style === "per-request" ? 1 : c.allocateId();
      let partial: Buffer[] | null = null;
      let aborted = false;
      const request: ClientRequest = { requestId: id, params, keepConn: style !== "per-request" };
      if (r.body !== undefined) request.body = r.body;
      if (r.abortAfter !== undefined) {
        const limit = r.abortAfter;
        partial = [];
        const seen = partial;
        request.onStdout = (chunk) => {
          seen.push(chunk);
          if (!aborted && headBytes(seen) >= limit) {
            aborted = true;
            if (style === "multiplexed") void c.abort(id);
            else c.socket.destroy();
          }
        };
        request.discardStdout = true;
      }
      const result = await c.request(request);
      if (style === "keep-conn" && !c.isClosed && !aborted) idle.push(c);
      if (style === "per-request") await c.closed;
      return conformanceResponse(result, partial);
    },
    async close(): Promise<void> {
      for (const c of open) c.socket.destroy();
      if (shared !== null) (await shared).socket.destroy();
      await stop();
    },
  };
}

/** Starts the fastcgi backend with `handler` on a free loopback port. */
export async function startFastcgi(
  app: FastcgiServerOptions["handler"],
  options: Partial<FastcgiServerOptions> = {},
): Promise<{ server: FastcgiServer; port: number; stop: () => Promise<void> }> {
  const server = (await Server.load("fastcgi", { handler: app, ...options })) as FastcgiServer;
  await server.listen({ port: 0 });
  return { server, port: Number(server.uris[0]!.port), stop: () => server.stop() };
}

/** The fastcgi backend for the conformance suite, reached as `style` describes. */
export function fastcgiTransport(style: Style): Transport {
  return {
    name: `fastcgi (${style})`,
    async start() {
      const { port, stop } = await startFastcgi(handler, { stopTimeout: 2000 });
      return fastcgiConformanceClient({ port }, style, stop);
    },
  };
}
