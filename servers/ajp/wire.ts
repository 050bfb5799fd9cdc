/**
 * AJP13 on the wire: packet framing, the FORWARD_REQUEST decoder, the body-packet decoder, and
 * (re-exported) the protocol's numbers (codes.ts) and the encoders for what the backend sends
 * (encode.ts). Pure: bytes in, records out, no sockets. Every read is bounded by the packet it
 * comes from; malformed input throws an `AjpWireError`.
 *
 * Reference: the AJPv13 protocol description of the Tomcat connectors documentation, and what
 * Apache mod_proxy_ajp and lighttpd mod_ajp13 really send (see docs/servers/ajp.md).
 */

import { VsgiError, ERR_BAD_REQUEST } from "../../vsgi/errors.js";
import {
  FORWARD_REQUEST,
  METHODS,
  METHOD_STORED,
  REQUEST_HEADERS,
  ATTR_CONTEXT,
  ATTR_SERVLET_PATH,
  ATTR_REMOTE_USER,
  ATTR_AUTH_TYPE,
  ATTR_QUERY_STRING,
  ATTR_JVM_ROUTE,
  ATTR_SSL_CERT,
  ATTR_SSL_CIPHER,
  ATTR_SSL_SESSION,
  ATTR_REQ_ATTRIBUTE,
  ATTR_SSL_KEY_SIZE,
  ATTR_SECRET,
  ATTR_STORED_METHOD,
  ATTR_END,
} from "./codes.js";

export * from "./codes.js";
export * from "./encode.js";

/**
 * Malformed AJP input (`ERR_VSGI_BAD_REQUEST`, as the other protocols' framing errors): the
 * connection it came from must be closed.
 *
 * @example try { parser.shift(); } catch (e) { if (e instanceof AjpWireError) socket.destroy(); }
 */
export class AjpWireError extends VsgiError {
  constructor(message: string) {
    super(ERR_BAD_REQUEST, message);
    this.name = "AjpWireError";
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Splits a byte stream into packet payloads, incrementally: feed it whatever the socket gives,
 * take complete payloads out. A payload inside one pushed chunk is returned without a copy.
 * Holds at most one incomplete packet plus the last chunk pushed.
 *
 * @example
 * const parser = new PacketParser(MAGIC_IN, 8192);
 * parser.push(Buffer.from([0x12, 0x34, 0, 1, 10]));
 * parser.shift(); // <Buffer 0a> (a CPING)
 */
export class PacketParser {
  private readonly magic: number;
  private readonly maxPayload: number;
  private chunks: Buffer[] = [];
  private offset = 0; // into chunks[0]
  private length = 0; // bytes buffered, from offset

  /** `packetSize` bounds a whole packet, its 4-byte header included. */
  constructor(magic: number, packetSize: number) {
    this.magic = magic;
    this.maxPayload = packetSize - 4;
  }

  /** Bytes buffered but not yet returned as payloads. */
  get buffered(): number {
    return this.length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /**
   * The next complete payload, or `null` until more bytes arrive. Throws `AjpWireError` on a bad
   * magic or a length above the packet size; the parser is unusable afterwards.
   */
  shift(): Buffer | null {
    if (this.length < 4) {
      // a bad magic is reported as soon as its bytes are there
      if (this.length >= 1 && this.byteAt(0) !== this.magic >> 8) this.badMagic();
      if (this.length >= 2 && this.byteAt(1) !== (this.magic & 0xff)) this.badMagic();
      return null;
    }
    const first = this.chunks[0]!;
    let magic: number, size: number;
    if (first.length - this.offset >= 4) {
      magic = first.readUInt16BE(this.offset);
      size = first.readUInt16BE(this.offset + 2);
    } else {
      magic = (this.byteAt(0) << 8) | this.byteAt(1);
      size = (this.byteAt(2) << 8) | this.byteAt(3);
    }
    if (magic !== this.magic) this.badMagic();
    if (size > this.maxPayload) {
      throw new AjpWireError(
        `packet of ${size + 4} bytes is larger than the packet size ${this.maxPayload + 4} ` +
          `(both sides must agree: option packetSize, Apache's ProxyIOBufferSize)`,
      );
    }
    if (this.length < 4 + size) return null;
    this.skip(4);
    return this.take(size);
  }

  private badMagic(): never {
    const bytes = [this.byteAt(0), this.length > 1 ? this.byteAt(1) : -1].filter((b) => b >= 0);
    throw new AjpWireError(
      `bad packet magic ${bytes.map((b) => "0x" + b.toString(16).padStart(2, "0")).join(" ")} (expected 0x${(this.magic >> 8).toString(16)} 0x${(this.magic & 0xff).toString(16)})`,
    );
  }

  private byteAt(index: number): number {
    let i = index + this.offset;
    for (const chunk of this.chunks) {
      if (i < chunk.length) return chunk[i]!;
      i -= chunk.length;
    }
    return -1;
  }

  private skip(n: number): void {
    this.length -= n;
    while (n > 0) {
      const first = this.chunks[0]!;
      const left = first.length - this.offset;
      if (n < left) {
        this.offset += n;
        return;
      }
      n -= left;
      this.chunks.shift();
      this.offset = 0;
    }
  }

  private take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.chunks[0]!;
    if (first.length - this.offset >= n) {
      const out = first.subarray(this.offset, this.offset + n);
      this.skip(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const count = Math.min(n - filled, chunk.length - this.offset);
      chunk.copy(out, filled, this.offset, this.offset + count);
      filled += count;
      this.skip(count);
    }
    return out;
  }
}

/** A FORWARD_REQUEST, decoded. Strings are latin1 (bytes as sent); `null` = sent as null. */
export interface ForwardRequest {
  method: string;
  protocol: string | null;
  /** The request path, raw bytes: Apache sends it percent-encoded, lighttpd decoded. */
  requestUri: Buffer | null;
  remoteAddr: string | null;
  remoteHost: string | null;
  serverName: string | null;
  serverPort: number;
  isSsl: boolean;
  /** Header names as the front server spelled them (coded ones in canonical case). */
  headers: [string, string][];
  /** The query_string attribute, raw bytes; `null` when absent. */
  queryString: Buffer | null;
  context: string | null;
  servletPath: string | null;
  remoteUser: string | null;
  authType: string | null;
  jvmRoute: string | null;
  sslCert: string | null;
  sslCipher: string | null;
  sslSession: string | null;
  sslKeySize: number | null;
  secret: string | null;
  /** req_attribute pairs, in order (Apache: AJP_REMOTE_PORT, AJP_LOCAL_ADDR, AJP_* variables). */
  attributes: [string, string][];
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A bounded reader over one packet payload. */
class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
  ) {
    this.pos = start;
  }

  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new AjpWireError(`truncated FORWARD_REQUEST: ${what} runs past the end of the packet`);
  }

  byte(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  uint16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  bytes(what: string): Buffer | null {
    const n = this.uint16(what);
    if (n === 0xffff) return null;
    this.need(n + 1, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    if (this.buf[this.pos + n] !== 0) throw new AjpWireError(`bad FORWARD_REQUEST: ${what} is not NUL-terminated`);
    this.pos += n + 1;
    return out;
  }

  string(what: string): string | null {
    const b = this.bytes(what);
    return b === null ? null : b.toString("latin1", 0, b.length);
  }
}

/**
 * Decodes a FORWARD_REQUEST payload (type byte included). Throws `AjpWireError` on truncated or
 * malformed fields, an unknown method code, a stored method that is no token, or an unknown
 * attribute (its length cannot be known).
 *
 * @example const request = parseForwardRequest(payload); request.method; // "GET"
 */
export function parseForwardRequest(payload: Buffer): ForwardRequest {
  if (payload[0] !== FORWARD_REQUEST) throw new AjpWireError(`not a FORWARD_REQUEST (type ${payload[0]})`);
  const r = new Reader(payload, 1);
  const code = r.byte("method");
  let method: string | undefined = METHODS[code];
  let sawSecret = false;
  if (method === undefined && code !== METHOD_STORED) throw new AjpWireError(`unknown method code ${code}`);
  const protocol = r.string("protocol");
  const requestUri = r.bytes("req_uri");
  const remoteAddr = r.string("remote_addr");
  const remoteHost = r.string("remote_host");
  const serverName = r.string("server_name");
  const serverPort = r.uint16("server_port");
  const isSsl = r.byte("is_ssl") !== 0;
  const count = r.uint16("num_headers");
  const headers: [string, string][] = [];
  for (let i = 0; i < count; i++) {
    r.need(2, "header name");
    let name: string | null;
    if (payload[r.pos] === 0xa0) {
      const low = payload[r.pos + 1]!;
      name = REQUEST_HEADERS[low] ?? null;
      if (name === null) throw new AjpWireError(`unknown request header code 0xa0${low.toString(16).padStart(2, "0")}`);
      r.pos += 2;
    } else {
      name = r.string("header name");
      if (name === null || !TOKEN.test(name)) throw new AjpWireError(`bad header name ${JSON.stringify(name)}`);
    }
    const value = r.string(`value of header ${name}`) ?? "";
    headers.push([name, value]);
  }
  const request: ForwardRequest = {
    method: method ?? "",
    protocol,
    requestUri,
    remoteAddr,
    remoteHost,
    serverName,
    serverPort,
    isSsl,
    headers,
    queryString: null,
    context: null,
    servletPath: null,
    remoteUser: null,
    authType: null,
    jvmRoute: null,
    sslCert: null,
    sslCipher: null,
    sslSession: null,
    sslKeySize: null,
    secret: null,
    attributes: [],
  };
  for (;;) {
    const attribute = r.byte("attribute code");
    if (attribute === ATTR_END) break;
    switch (attribute) {
      case ATTR_CONTEXT:
        request.context = r.string("context");
        break;
      case ATTR_SERVLET_PATH:
        request.servletPath = r.string("servlet_path");
        break;
      case ATTR_REMOTE_USER:
        request.remoteUser = r.string("remote_user");
        break;
      case ATTR_AUTH_TYPE:
        request.authType = r.string("auth_type");
        break;
      case ATTR_QUERY_STRING:
        request.queryString = r.bytes("query_string");
        break;
      case ATTR_JVM_ROUTE:
        request.jvmRoute = r.string("jvm_route");
        break;
      case ATTR_SSL_CERT:
        request.sslCert = r.string("ssl_cert");
        break;
      case ATTR_SSL_CIPHER:
        request.sslCipher = r.string("ssl_cipher");
        break;
      case ATTR_SSL_SESSION:
        request.sslSession = r.string("ssl_session");
        break;
      case ATTR_REQ_ATTRIBUTE: {
        const name = r.string("req_attribute name");
        const value = r.string("req_attribute value");
        if (name !== null) request.attributes.push([name, value ?? ""]);
        break;
      }
      case ATTR_SSL_KEY_SIZE:
        request.sslKeySize = readKeySize(r);
        break;
      case ATTR_SECRET:
        // no front server sends two: one reading the first and another the last would disagree
        if (sawSecret) throw new AjpWireError("the secret attribute twice");
        sawSecret = true;
        request.secret = r.string("secret");
        break;
      case ATTR_STORED_METHOD:
        method = r.string("stored_method") ?? undefined;
        if (method === undefined || !TOKEN.test(method)) throw new AjpWireError(`bad stored_method ${JSON.stringify(method ?? null)}`);
        request.method = method;
        break;
      default:
        throw new AjpWireError(`unknown attribute code 0x${attribute.toString(16).padStart(2, "0")}`);
    }
  }
  if (request.method === "") throw new AjpWireError("method code 0xff without a stored_method attribute");
  return request;
}

// ssl_key_size is a uint16 in the reference and from Apache; lighttpd 1.4 sends it as a string
// ("256"). A uint16 is followed by an attribute code (1..13 or 0xff), never by an ASCII digit,
// so a digit after the length, and a NUL where the string would end, tell the string form.
function readKeySize(r: Reader): number {
  const v = r.uint16("ssl_key_size");
  const buf = r.buf;
  const next = buf[r.pos];
  if (next !== undefined && next >= 0x30 && next <= 0x39 && v > 0 && v <= 5 && buf[r.pos + v] === 0) {
    const digits = buf.toString("latin1", r.pos, r.pos + v);
    if (/^\d+$/.test(digits)) {
      r.pos += v + 1;
      return Number(digits);
    }
  }
  return v;
}

/**
 * How body packets frame their data. The reference (Apache, mod_jk): a uint16 chunk length, then
 * the data. lighttpd 1.4 mod_ajp13 sends the data alone.
 */
export type BodyFraming = "spec" | "raw";

/**
 * The data of a body packet (front server -> backend). `spec` framing: uint16 length + data,
 * where length 0 (Apache's end of a chunked body) gives an empty buffer; an empty packet is the
 * end too. `raw` framing (lighttpd): the payload is the data.
 *
 * @example bodyData(Buffer.from([0, 3, 97, 98, 99]), "spec"); // <Buffer 61 62 63>
 */
export function bodyData(payload: Buffer, framing: BodyFraming): Buffer {
  if (payload.length === 0 || framing === "raw") return payload;
  if (payload.length < 2) throw new AjpWireError("body packet of 1 byte: too short for its chunk length");
  const n = payload.readUInt16BE(0);
  if (n > payload.length - 2) throw new AjpWireError(`body packet announces ${n} bytes but carries ${payload.length - 2}`);
  return payload.subarray(2, 2 + n);
}

/**
 * Whether a body packet is well-formed in the reference framing: its chunk length fills it.
 *
 * @example isSpecBodyPacket(Buffer.from([0, 2, 104, 105])); // true; lighttpd's "hi" is not
 */
export function isSpecBodyPacket(payload: Buffer): boolean {
  return payload.length === 0 || (payload.length >= 2 && payload.readUInt16BE(0) === payload.length - 2);
}

/**
 * Whether a packet is an end of body: empty (the reference, lighttpd) or a zero chunk length
 * (Apache's chunked end). Neither starts with a packet type, so between requests it can only be
 * the late answer to a GET_BODY_CHUNK sent ahead.
 *
 * @example isBodyEnd(Buffer.from([0, 0])); // true
 */
export function isBodyEnd(payload: Buffer): boolean {
  return payload.length === 0 || (payload.length === 2 && payload[0] === 0 && payload[1] === 0);
}

/**
 * Percent-encodes the bytes of a request path that a URL path cannot hold as they are, keeping
 * `%XX` escapes: a path Apache sent encoded stays as it is, a path lighttpd sent decoded
 * (`/café/a b`) gets encoded (`/caf%C3%A9/a%20b`), byte for byte. What is encoded is what a
 * URL parser would encode (space, controls, `"#<>?\`{}`, non-ASCII) and a `%` that starts no
 * escape.
 *
 * @example encodeRequestPath(Buffer.from("/a b/%41?")); // "/a%20b/%41%3F"
 */
export function encodeRequestPath(bytes: Buffer): string {
  return encodeBytes(bytes, PATH_SAFE);
}

/**
 * `encodeRequestPath` for a query string: `?`, `` ` ``, `{` and `}` stay as they are.
 *
 * @example encodeQueryString(Buffer.from("q=a b")); // "q=a%20b"
 */
export function encodeQueryString(bytes: Buffer): string {
  return encodeBytes(bytes, QUERY_SAFE);
}

// What stays as it is: printable ASCII but the bytes a URL parser would percent-encode itself
// (the WHATWG path and query percent-encode sets) and `%` (kept only as the start of an escape).
const PATH_SAFE = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) PATH_SAFE[c] = 1;
for (const c of '"#<>?`{}%') PATH_SAFE[c.charCodeAt(0)] = 0;
const QUERY_SAFE = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) QUERY_SAFE[c] = 1;
for (const c of '"#<>%') QUERY_SAFE[c.charCodeAt(0)] = 0;
const HEX = "0123456789ABCDEF";

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102));
}

function encodeBytes(bytes: Buffer, safe: Uint8Array): string {
  const length = bytes.length;
  let i = 0;
  for (; i < length; i++) {
    const c = bytes[i]!;
    if (safe[c] === 0 && !(c === 37 && isHex(bytes[i + 1]) && isHex(bytes[i + 2]))) break;
  }
  if (i === length) return bytes.toString("latin1", 0, length);
  let out = bytes.toString("latin1", 0, i);
  for (; i < length; i++) {
    const c = bytes[i]!;
    if (safe[c] === 1 || (c === 37 && isHex(bytes[i + 1]) && isHex(bytes[i + 2]))) out += String.fromCharCode(c);
    else out += "%" + HEX[c >> 4] + HEX[c & 15];
  }
  return out;
}
