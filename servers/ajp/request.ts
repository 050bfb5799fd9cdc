import { Readable } from "node:stream";
import { variablesFromPairs, type CgiVariables } from "../../vsgi/index.js";
import { AjpWireError, encodeQueryString, encodeRequestPath, type ForwardRequest } from "./wire.js";

/** What feeds a request body: asked for more when the body's reader wants data. */
export interface BodySource {
  /** The body stream wants data: ask the front server for the next chunk (once). */
  wantBody(): void;
}

/**
 * A request body fed from AJP body packets, with back-pressure: the next chunk is asked for
 * (GET_BODY_CHUNK) only when the reader wants data, so an application that reads slowly, or not
 * at all, never makes the backend buffer more than a packet or two.
 *
 * @example for await (const chunk of req.body) hash.update(chunk); // each chunk asked for in turn
 */
export class AjpBody extends Readable {
  private readonly source: BodySource;

  constructor(source: BodySource) {
    super();
    this.source = source;
  }

  override _read(): void {
    this.source.wantBody();
  }
}

// CGI names that describe the request itself: a req_attribute may not set them, so that what is
// served never depends on request attributes (Ghostcat, CVE-2020-1938). The backend sets those
// it knows from the protocol's own fields.
const RESERVED = /^(?:HTTP_|CONTENT_|REQUEST_|SERVER_|REMOTE_|SSL_|DOCUMENT_|SCRIPT_|PATH_|GATEWAY_|AUTH_TYPE$|QUERY_STRING$|HTTPS$)/;

// Front servers send a handful of header names: remember their variable names.
const VARIABLES = new Map<string, string>();

/**
 * The variable of a header name; `""` for a name with an underscore, which is dropped: as a
 * variable it would be the same as the name with `-` (a client's `X_Forwarded_For` joining the
 * `X-Forwarded-For` the front server set), which is why nginx and Apache drop such names too.
 */
function variableOf(header: string): string {
  let variable = VARIABLES.get(header);
  if (variable === undefined) {
    variable = header.indexOf("_") !== -1 ? "" : "HTTP_" + header.toUpperCase().replace(/-/g, "_");
    if (VARIABLES.size < 512) VARIABLES.set(header, variable);
  }
  return variable;
}

/** The CGI-style variables of a request, and how its body is framed. */
export interface AjpEnvironment {
  env: CgiVariables;
  /** A Transfer-Encoding header came (Apache's chunked upload): no first body packet, no length. */
  chunked: boolean;
}

/**
 * The CGI-style variables of a FORWARD_REQUEST, for the shared reader (`requestFromEnvironment`):
 * REQUEST_METHOD, REQUEST_URI (the path re-encoded where lighttpd sent it decoded, plus `?` and
 * the query_string attribute), SERVER_NAME/PORT, HTTPS from is_ssl, REMOTE_ADDR/HOST,
 * CONTENT_LENGTH/TYPE, `HTTP_*` from the headers; and what AJP adds: REMOTE_USER, AUTH_TYPE,
 * SSL_CLIENT_CERT, SSL_CIPHER, SSL_SESSION_ID, SSL_CIPHER_USEKEYSIZE, REMOTE_PORT and SERVER_ADDR
 * (Apache's AJP_REMOTE_PORT and AJP_LOCAL_ADDR), AJP_CONTEXT, AJP_SERVLET_PATH, AJP_JVM_ROUTE,
 * and the other req_attributes under their own names unless they would shadow one of these. The
 * secret is never exposed.
 *
 * @example environmentOf(parseForwardRequest(payload)).env.get("REQUEST_URI"); // "/caf%C3%A9?x=1"
 */
export function environmentOf(request: ForwardRequest): AjpEnvironment {
  if (request.requestUri === null) {
    throw new AjpWireError("FORWARD_REQUEST without req_uri (lighttpd sends none with fix-root-scriptname: remove that option)");
  }
  const pairs: [string, string][] = [];
  let chunked = false;
  let length: string | null = null;
  for (const [name, value] of request.headers) {
    const lower = name.toLowerCase();
    if (lower === "content-length") length = value;
    else if (lower === "content-type") pairs.push(["CONTENT_TYPE", value]);
    else {
      if (lower === "transfer-encoding") chunked = true;
      const variable = variableOf(name);
      if (variable !== "") pairs.push([variable, value]);
    }
  }
  // Apache streams a body sent with Transfer-Encoding without any length; trust the framing.
  if (length !== null && !chunked) pairs.push(["CONTENT_LENGTH", length]);
  for (const [name, value] of request.attributes) {
    if (!RESERVED.test(name)) pairs.push([name, value]);
    if (name === "AJP_REMOTE_PORT") pairs.push(["REMOTE_PORT", value]);
    else if (name === "AJP_LOCAL_ADDR") pairs.push(["SERVER_ADDR", value]);
  }
  // Added after the pairs: where a name repeats, the last value counts.
  const env = variablesFromPairs(pairs);
  env.add("GATEWAY_INTERFACE", "AJP/1.3");
  env.add("REQUEST_METHOD", request.method);
  let uri = encodeRequestPath(request.requestUri);
  if (request.queryString !== null) {
    const query = encodeQueryString(request.queryString);
    env.add("QUERY_STRING", query);
    uri += "?" + query;
  }
  env.add("REQUEST_URI", uri);
  env.add("SERVER_PROTOCOL", request.protocol ?? "HTTP/1.1");
  if (request.serverName !== null) env.add("SERVER_NAME", request.serverName);
  env.add("SERVER_PORT", String(request.serverPort));
  env.add("REQUEST_SCHEME", request.isSsl ? "https" : "http");
  if (request.isSsl) env.add("HTTPS", "on");
  if (request.remoteAddr !== null) env.add("REMOTE_ADDR", request.remoteAddr);
  if (request.remoteHost !== null) env.add("REMOTE_HOST", request.remoteHost);
  if (request.remoteUser !== null) env.add("REMOTE_USER", request.remoteUser);
  if (request.authType !== null) env.add("AUTH_TYPE", request.authType);
  if (request.sslCert !== null) env.add("SSL_CLIENT_CERT", request.sslCert);
  if (request.sslCipher !== null) env.add("SSL_CIPHER", request.sslCipher);
  if (request.sslSession !== null) env.add("SSL_SESSION_ID", request.sslSession);
  if (request.sslKeySize !== null) env.add("SSL_CIPHER_USEKEYSIZE", String(request.sslKeySize));
  if (request.context !== null) env.add("AJP_CONTEXT", request.context);
  if (request.servletPath !== null) env.add("AJP_SERVLET_PATH", request.servletPath);
  if (request.jvmRoute !== null) env.add("AJP_JVM_ROUTE", request.jvmRoute);
  return { env, chunked };
}
