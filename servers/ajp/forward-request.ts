// The FORWARD_REQUEST decoder: the payload that opens each request (method, protocol, path,
// addresses, headers, attributes) read field by field, every read bounded by the packet it comes
// from. Apart from the packet framing (wire.ts), which re-exports it. Pure: no sockets.
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
  AjpWireError,
} from "./codes.js";

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
