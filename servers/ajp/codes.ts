// AJP13's numbers: the magic of each direction, packet sizes, message types, the coded methods,
// request and response headers, and request attributes (the AJPv13 protocol description of the
// Tomcat connectors); wire.ts and forward-request.ts decode and encode.ts encodes with them.
// Data, and the one error malformed input throws: it lives here, below every module that reads
// the wire, so that none imports another for it.
import { VsgiError, ERR_BAD_REQUEST } from "../../vsgi/errors.js";

/** Magic of packets from the front server to the backend. */
export const MAGIC_IN = 0x1234;
/** Magic of packets from the backend to the front server: `AB`. */
export const MAGIC_OUT = 0x4142;

/** The default and smallest packet size (Apache's AJP_MSG_BUFFER_SZ, Tomcat's packetSize). */
export const DEFAULT_PACKET_SIZE = 8192;
/** The largest packet size Apache (AJP_MAX_BUFFER_SZ) and Tomcat accept. */
export const MAX_PACKET_SIZE = 65536;

// Packet types, front server -> backend
export const FORWARD_REQUEST = 2;
export const SHUTDOWN = 7;
export const PING = 8;
export const CPING = 10;
// Packet types, backend -> front server
export const SEND_BODY_CHUNK = 3;
export const SEND_HEADERS = 4;
export const END_RESPONSE = 5;
export const GET_BODY_CHUNK = 6;
export const CPONG = 9;

/** The methods with a code (index = code); any other comes as 0xFF + the stored_method attribute. */
export const METHODS: readonly (string | undefined)[] = [
  undefined,
  "OPTIONS",
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "TRACE",
  "PROPFIND",
  "PROPPATCH",
  "MKCOL",
  "COPY",
  "MOVE",
  "LOCK",
  "UNLOCK",
  "ACL",
  "REPORT",
  "VERSION-CONTROL",
  "CHECKIN",
  "CHECKOUT",
  "UNCHECKOUT",
  "SEARCH",
  "MKWORKSPACE",
  "UPDATE",
  "LABEL",
  "MERGE",
  "BASELINE-CONTROL",
  "MKACTIVITY",
];
/** The method byte announcing the stored_method attribute. */
export const METHOD_STORED = 0xff;

/** Request header codes 0xA001..0xA00E (index = low byte). */
export const REQUEST_HEADERS: readonly (string | undefined)[] = [
  undefined,
  "Accept",
  "Accept-Charset",
  "Accept-Encoding",
  "Accept-Language",
  "Authorization",
  "Connection",
  "Content-Type",
  "Content-Length",
  "Cookie",
  "Cookie2",
  "Host",
  "Pragma",
  "Referer",
  "User-Agent",
];

/** Response header codes 0xA001..0xA00B, by lower-case name. */
export const RESPONSE_HEADER_CODES: ReadonlyMap<string, number> = new Map([
  ["content-type", 0xa001],
  ["content-language", 0xa002],
  ["content-length", 0xa003],
  ["date", 0xa004],
  ["last-modified", 0xa005],
  ["location", 0xa006],
  ["set-cookie", 0xa007],
  ["set-cookie2", 0xa008],
  ["servlet-engine", 0xa009],
  ["status", 0xa00a],
  ["www-authenticate", 0xa00b],
]);

/** Response header names by code, for decoders (the test client, tools). */
export const RESPONSE_HEADERS: readonly (string | undefined)[] = [
  undefined,
  "Content-Type",
  "Content-Language",
  "Content-Length",
  "Date",
  "Last-Modified",
  "Location",
  "Set-Cookie",
  "Set-Cookie2",
  "Servlet-Engine",
  "Status",
  "WWW-Authenticate",
];

// Attribute codes
export const ATTR_CONTEXT = 0x01;
export const ATTR_SERVLET_PATH = 0x02;
export const ATTR_REMOTE_USER = 0x03;
export const ATTR_AUTH_TYPE = 0x04;
export const ATTR_QUERY_STRING = 0x05;
export const ATTR_JVM_ROUTE = 0x06;
export const ATTR_SSL_CERT = 0x07;
export const ATTR_SSL_CIPHER = 0x08;
export const ATTR_SSL_SESSION = 0x09;
export const ATTR_REQ_ATTRIBUTE = 0x0a;
export const ATTR_SSL_KEY_SIZE = 0x0b;
export const ATTR_SECRET = 0x0c;
export const ATTR_STORED_METHOD = 0x0d;
export const ATTR_END = 0xff;

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
