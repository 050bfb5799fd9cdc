// The shared CGI-environment reader, fed the variables that lighttpd 1.4.69, nginx 1.22.1 and
// Apache 2.4.71 really send (captured from runs against a dumping backend).
import { parseHeaderBlock } from "../../servers/scgi/wire.js";
import { decodeVariables, encodePairs } from "../../servers/fastcgi/records.js";
import { describe, it, expect } from "@jest/globals";
import { Readable } from "node:stream";
import {
  Request,
  requestFromEnvironment,
  environmentFromPairs,
  checkCgiOptions,
  decodeVariable,
  variableName,
  NameSequence,
  CgiVariables,
  ERR_BAD_REQUEST,
  ERR_INVALID_OPTION,
  type CgiEnvironmentOptions,
} from "../../vsgi/index.js";

const empty = (): Readable => Readable.from([]);

function read(env: Record<string, string>, options?: CgiEnvironmentOptions): { req: Request; contentLength: number | null } {
  const init = requestFromEnvironment(env, empty(), options);
  return { req: new Request(init), contentLength: init.contentLength };
}

// lighttpd, scgi.server mounted at "/dump": GET /dump/a%20b/c?x=1 with two Cookie headers.
const LIGHTTPD_SCGI = environmentFromPairs([
  ["CONTENT_LENGTH", "0"], ["QUERY_STRING", "x=1"], ["REQUEST_URI", "/dump/a%20b/c?x=1"], ["REDIRECT_STATUS", "200"],
  ["SCRIPT_NAME", "/dump"], ["PATH_INFO", "/a b/c"], ["PATH_TRANSLATED", "/tmp/lt/a b/c"], ["SCRIPT_FILENAME", "/tmp/lt/dump"],
  ["DOCUMENT_ROOT", "/tmp/lt"], ["REQUEST_METHOD", "GET"], ["SERVER_PROTOCOL", "HTTP/1.1"], ["SERVER_SOFTWARE", "lighttpd/1.4.69"],
  ["GATEWAY_INTERFACE", "CGI/1.1"], ["REQUEST_SCHEME", "http"], ["SERVER_PORT", "18080"], ["SERVER_ADDR", "127.0.0.1"],
  ["SERVER_NAME", "127.0.0.1"], ["REMOTE_ADDR", "127.0.0.1"], ["REMOTE_PORT", "38076"], ["HTTP_HOST", "127.0.0.1:18080"],
  ["HTTP_USER_AGENT", "curl/7.88.1"], ["HTTP_ACCEPT", "*/*"], ["HTTP_COOKIE", "a=1; b=2"], ["HTTP_AUTHORIZATION", "Basic eDp5"], ["SCGI", "1"],
]);

// nginx with the Debian scgi_params: GET /dump/x?y with two Cookie headers and a Proxy header.
const NGINX_SCGI_PAIRS: [string, string][] = [
  ["CONTENT_LENGTH", "0"], ["REQUEST_METHOD", "GET"], ["REQUEST_URI", "/dump/x?y"], ["QUERY_STRING", "y"], ["CONTENT_TYPE", ""],
  ["DOCUMENT_URI", "/dump/x"], ["DOCUMENT_ROOT", "/tmp/ng/html"], ["SCGI", "1"], ["SERVER_PROTOCOL", "HTTP/1.1"],
  ["REQUEST_SCHEME", "http"], ["REMOTE_ADDR", "127.0.0.1"], ["REMOTE_PORT", "49462"], ["SERVER_PORT", "18082"], ["SERVER_NAME", ""],
  ["HTTP_HOST", "127.0.0.1"], ["HTTP_USER_AGENT", "curl/7.88.1"], ["HTTP_ACCEPT", "*/*"], ["HTTP_COOKIE", "a=1"], ["HTTP_COOKIE", "b=2"],
  ["HTTP_PROXY", "evil"],
];

// Apache mod_proxy_scgi, ProxyPass "/dump/" "scgi://...": GET /dump/request?x=1.
const APACHE_SCGI = environmentFromPairs([
  ["CONTENT_LENGTH", "0"], ["SCGI", "1"], ["HTTP_HOST", "127.0.0.1:18081"], ["HTTP_USER_AGENT", "curl/7.88.1"], ["HTTP_ACCEPT", "*/*"],
  ["SERVER_SIGNATURE", ""], ["SERVER_SOFTWARE", "Apache/2.4.71 (Debian)"], ["SERVER_NAME", "127.0.0.1"], ["SERVER_ADDR", "127.0.0.1"],
  ["SERVER_PORT", "18081"], ["REMOTE_ADDR", "127.0.0.1"], ["DOCUMENT_ROOT", "/tmp/ap"], ["REQUEST_SCHEME", "http"],
  ["CONTEXT_PREFIX", ""], ["SCRIPT_FILENAME", "proxy:scgi://127.0.0.1:19002/request"], ["REMOTE_PORT", "48654"],
  ["SERVER_PROTOCOL", "HTTP/1.1"], ["REQUEST_METHOD", "GET"], ["QUERY_STRING", "x=1"], ["REQUEST_URI", "/dump/request?x=1"],
  ["SCRIPT_NAME", "/dump/request"],
]);

// Apache mod_cgi, ScriptAlias /env: GET /env/a%20b/c?x=1 with two Cookie headers (joined with ", ").
const APACHE_CGI: Record<string, string> = {
  CONTEXT_PREFIX: "/env", DOCUMENT_ROOT: "/tmp/ap", GATEWAY_INTERFACE: "CGI/1.1", HTTP_ACCEPT: "*/*", HTTP_COOKIE: "a=1, b=2",
  HTTP_HOST: "127.0.0.1:18081", HTTP_USER_AGENT: "curl/7.88.1", PATH_INFO: "/a b/c", PATH_TRANSLATED: "/tmp/ap/a b/c",
  QUERY_STRING: "x=1", REMOTE_ADDR: "127.0.0.1", REMOTE_PORT: "36610", REQUEST_METHOD: "GET", REQUEST_SCHEME: "http",
  REQUEST_URI: "/env/a%20b/c?x=1", SCRIPT_FILENAME: "/tmp/ap/env.cgi", SCRIPT_NAME: "/env", SERVER_ADDR: "127.0.0.1",
  SERVER_NAME: "127.0.0.1", SERVER_PORT: "18081", SERVER_PROTOCOL: "HTTP/1.1", SERVER_SOFTWARE: "Apache/2.4.71 (Debian)",
};

// lighttpd mod_cgi: POST /env/a%20b/c?x=1 with a 3-byte form body.
const LIGHTTPD_CGI: Record<string, string> = {
  CONTENT_LENGTH: "3", CONTENT_TYPE: "application/x-www-form-urlencoded", DOCUMENT_ROOT: "/tmp/lt/env.cgi", GATEWAY_INTERFACE: "CGI/1.1",
  HTTP_ACCEPT: "*/*", HTTP_CONTENT_LENGTH: "3", HTTP_COOKIE: "a=1; b=2", HTTP_HOST: "127.0.0.1:18080", HTTP_USER_AGENT: "curl/7.88.1",
  PATH_INFO: "/a b/c", QUERY_STRING: "x=1", REQUEST_METHOD: "POST", REQUEST_SCHEME: "http", REQUEST_URI: "/env/a%20b/c?x=1",
  SCRIPT_FILENAME: "/tmp/lt/env.cgi", SCRIPT_NAME: "/env", SERVER_ADDR: "127.0.0.1", SERVER_NAME: "127.0.0.1", SERVER_PORT: "18080",
  SERVER_PROTOCOL: "HTTP/1.1", SERVER_SOFTWARE: "lighttpd/1.4.69",
};

describe("requestFromEnvironment, with what front servers send", () => {
  it("lighttpd SCGI at a prefix: SCRIPT_NAME is the mount, PATH_INFO the rest", () => {
    const { req, contentLength } = read(LIGHTTPD_SCGI);
    expect(req.method).toBe("GET");
    expect(req.uri.href).toBe("http://127.0.0.1:18080/dump/a%20b/c?x=1");
    expect(req.scriptName).toBe("/dump");
    expect(req.path).toBe("/a%20b/c");
    expect(req.lookupQuery("x")).toBe("1");
    expect(req.headers.get("authorization")).toBe("Basic eDp5");
    expect(Object.fromEntries(req.cookies)).toEqual({ a: "1", b: "2" });
    expect(req.isCgi).toBe(true);
    expect(req.remoteAddress).toBe("127.0.0.1");
    expect(contentLength).toBe(0);
  });

  it("nginx SCGI: two HTTP_COOKIE combined, no port in HTTP_HOST, an empty SERVER_NAME, no mount", () => {
    const { req } = read(environmentFromPairs(NGINX_SCGI_PAIRS));
    expect(req.uri.href).toBe("http://127.0.0.1/dump/x?y");
    expect(req.scriptName).toBe("");
    expect(req.path).toBe("/dump/x");
    expect(Object.fromEntries(req.cookies)).toEqual({ a: "1", b: "2" });
    // An empty CONTENT_TYPE is no Content-Type.
    expect(req.headers.get("content-type")).toBeNull();
  });

  it("nginx SCGI with a configured public origin and mount prefix", () => {
    const { req } = read(environmentFromPairs(NGINX_SCGI_PAIRS), { publicOrigin: "https://example.com:8443", scriptName: "/dump" });
    expect(req.uri.href).toBe("https://example.com:8443/dump/x?y");
    expect(req.scriptName).toBe("/dump");
    expect(req.path).toBe("/x");
  });

  it("nginx without Host and an empty SERVER_NAME still gives the server's address", () => {
    const env = environmentFromPairs([...NGINX_SCGI_PAIRS.filter(([name]) => name !== "HTTP_HOST"), ["SERVER_ADDR", "127.0.0.1"]]);
    const { req } = read(env);
    expect(req.uri.host).toBe("127.0.0.1:18082");
  });

  it("Apache mod_proxy_scgi: SCRIPT_NAME is the whole path, so the prefix must be configured", () => {
    expect(read(APACHE_SCGI).req.path).toBe("/dump/request");
    const { req } = read(APACHE_SCGI, { scriptName: "/dump" });
    expect(req.path).toBe("/request");
    expect(req.scriptName).toBe("/dump");
    expect(req.uri.href).toBe("http://127.0.0.1:18081/dump/request?x=1");
  });

  it("Apache mod_cgi: cookies joined with ', ', no CONTENT_LENGTH for a GET", () => {
    const { req, contentLength } = read(APACHE_CGI);
    expect(contentLength).toBeNull();
    expect(req.headers.get("content-length")).toBeNull();
    expect(req.scriptName).toBe("/env");
    expect(req.path).toBe("/a%20b/c");
    expect(Object.fromEntries(req.cookies)).toEqual({ a: "1", b: "2" });
  });

  it("lighttpd mod_cgi POST: the length from CONTENT_LENGTH, the type from CONTENT_TYPE, HTTP_CONTENT_LENGTH ignored", () => {
    const { req, contentLength } = read({ ...LIGHTTPD_CGI, HTTP_CONTENT_LENGTH: "999" });
    expect(contentLength).toBe(3);
    expect(req.headers.get("content-length")).toBe("3");
    expect(req.headers.get("content-type")).toBe("application/x-www-form-urlencoded");
  });
});

describe("requestFromEnvironment, rules", () => {
  const base = { REQUEST_METHOD: "GET", SERVER_NAME: "example.org", SERVER_PORT: "80" };

  it.each([
    [{}, null],
    [{ CONTENT_LENGTH: "" }, null],
    [{ CONTENT_LENGTH: "0" }, 0],
    [{ CONTENT_LENGTH: "42" }, 42],
  ])("CONTENT_LENGTH %j gives %p", (extra, expected) => {
    expect(requestFromEnvironment({ ...base, ...extra }, empty()).contentLength).toBe(expected);
  });

  it.each(["-1", "1e3", " 1", "0x10", "1234567890123456"])("refuses CONTENT_LENGTH %j with 400", (length) => {
    expect(() => requestFromEnvironment({ ...base, CONTENT_LENGTH: length }, empty())).toThrow(
      expect.objectContaining({ code: ERR_BAD_REQUEST, status: 400 }),
    );
  });

  it.each([undefined, "", "GE T", "GET\r\n"])("refuses REQUEST_METHOD %j with 400", (method) => {
    const env: Record<string, string> = { ...base };
    if (method === undefined) delete env.REQUEST_METHOD;
    else env.REQUEST_METHOD = method;
    expect(() => requestFromEnvironment(env, empty())).toThrow(expect.objectContaining({ code: ERR_BAD_REQUEST, status: 400 }));
  });

  it("never trusts Transfer-Encoding nor the hop's headers", () => {
    const { req } = read({ ...base, HTTP_TRANSFER_ENCODING: "chunked", HTTP_CONNECTION: "keep-alive", HTTP_KEEP_ALIVE: "5", HTTP_X_A: "1" });
    expect(req.headers.get("transfer-encoding")).toBeNull();
    expect(req.headers.get("connection")).toBeNull();
    expect(req.headers.get("keep-alive")).toBeNull();
    expect(req.headers.get("x-a")).toBe("1");
  });

  it("rebuilds the URL from SCRIPT_NAME + PATH_INFO + QUERY_STRING without REQUEST_URI", () => {
    const { req } = read({ ...base, SCRIPT_NAME: "/app", PATH_INFO: "/caf\u00e9/x y", QUERY_STRING: "a=1" });
    expect(req.uri.href).toBe("http://example.org/app/caf%C3%A9/x%20y?a=1");
    expect(req.scriptName).toBe("/app");
    expect(req.path).toBe("/caf%C3%A9/x%20y");
  });

  it("takes the scheme from HTTPS (on or 1) or REQUEST_SCHEME, and drops the standard port", () => {
    expect(read({ ...base, SERVER_PORT: "443", HTTPS: "on" }).req.uri.href).toBe("https://example.org/");
    expect(read({ ...base, SERVER_PORT: "443", HTTPS: "1" }).req.uri.href).toBe("https://example.org/");
    expect(read({ ...base, SERVER_PORT: "8443", REQUEST_SCHEME: "https" }).req.uri.href).toBe("https://example.org:8443/");
    expect(read({ ...base, SERVER_PORT: "8080", HTTPS: "off" }).req.uri.href).toBe("http://example.org:8080/");
  });

  it("brackets an IPv6 SERVER_NAME", () => {
    expect(read({ REQUEST_METHOD: "GET", SERVER_NAME: "::1", SERVER_PORT: "8080" }).req.uri.host).toBe("[::1]:8080");
  });

  it("takes the origin-form of an absolute-form REQUEST_URI", () => {
    const { req } = read({ ...base, HTTP_HOST: "a.example", REQUEST_URI: "http://b.example/x?y=1" });
    expect(req.target).toBe("/x?y=1");
    expect(req.uri.href).toBe("http://a.example/x?y=1");
  });

  it("keeps the mount prefix in the URL and strips it from the path, a configured one first", () => {
    const { req } = read({ ...base, REQUEST_URI: "/app/users/1", SCRIPT_NAME: "/app/users/1" }, { scriptName: "/app" });
    expect(req.path).toBe("/users/1");
    expect(req.uri.pathname).toBe("/app/users/1");
    expect(read({ ...base, REQUEST_URI: "/app" }, { scriptName: "/app" }).req.path).toBe("/");
  });

  // A request for a mount point without its slash (/app under lighttpd, HAProxy, nginx split by
  // docs/deployment.md) looks like nginx at the root asked for /app: no prefix unless configured.
  // The documented front-server configurations redirect /app to /app/ for that reason.
  it("reads SCRIPT_NAME without PATH_INFO as a whole path, as nginx sends at the root", () => {
    for (const pathInfo of [{}, { PATH_INFO: "" }] as Record<string, string>[]) {
      const { req } = read({ ...base, ...pathInfo, SCRIPT_NAME: "/app", REQUEST_URI: "/app?x=1" });
      expect([req.scriptName, req.path, req.uri.pathname]).toEqual(["", "/app", "/app"]);
    }
    expect(read({ ...base, SCRIPT_NAME: "/app", PATH_INFO: "/", REQUEST_URI: "/app/" }).req.path).toBe("/");
    expect(read({ ...base, SCRIPT_NAME: "/app", REQUEST_URI: "/app?x=1" }, { scriptName: "/app" }).req.path).toBe("/");
  });

  it("takes HTTP version and gateway interface from the variables", () => {
    const { req } = read({ ...base, SERVER_PROTOCOL: "HTTP/1.0", GATEWAY_INTERFACE: "CGI/1.1" });
    expect(req.httpVersion).toBe("1.0");
    expect(req.gatewayInterface).toBe("CGI/1.1");
  });
});

describe("environmentFromPairs", () => {
  it("combines a repeated header: '; ' for cookies, ', ' otherwise; the last wins for the others", () => {
    const env = environmentFromPairs([
      ["HTTP_COOKIE", "a=1"], ["HTTP_COOKIE", "b=2"], ["HTTP_ACCEPT", "text/html"], ["HTTP_ACCEPT", "*/*"], ["SERVER_PORT", "1"], ["SERVER_PORT", "2"],
    ]);
    expect(env.HTTP_COOKIE).toBe("a=1; b=2");
    expect(env.HTTP_ACCEPT).toBe("text/html, */*");
    expect(env.SERVER_PORT).toBe("2");
  });

  it("is a plain record without a prototype (a variable named __proto__ is just a variable)", () => {
    const env = environmentFromPairs([["__proto__", "x"], ["constructor", "y"]]);
    expect(env.__proto__).toBe("x");
    expect(Object.keys(env)).toEqual(["__proto__", "constructor"]);
  });
});

describe("checkCgiOptions", () => {
  it.each([
    [{ publicOrigin: "example.com" }],
    [{ publicOrigin: "ftp://example.com" }],
    [{ scriptName: "app" }],
    [{ scriptName: "/app/" }],
  ])("refuses %j", (options) => {
    expect(() => checkCgiOptions(options)).toThrow(expect.objectContaining({ code: ERR_INVALID_OPTION }));
  });

  it("accepts an origin, a prefix, or an empty prefix", () => {
    expect(() => checkCgiOptions({ publicOrigin: "https://example.com", scriptName: "/app" })).not.toThrow();
    expect(() => checkCgiOptions({ scriptName: "" })).not.toThrow();
  });
});

describe("decodeVariable", () => {
  const utf8 = Buffer.from("café", "utf8");
  it("reads HTTP_* byte for byte, as node:http reads headers", () => {
    expect(decodeVariable("HTTP_X_NAME", utf8)).toBe(utf8.toString("latin1"));
  });

  it("reads other variables as UTF-8, or byte for byte when they are not UTF-8", () => {
    expect(decodeVariable("PATH_INFO", utf8)).toBe("/café".slice(1));
    expect(decodeVariable("PATH_INFO", Buffer.from([0x2f, 0xe9]))).toBe("/\u00e9");
  });

  it("is what the scgi parser applies to each value", () => {
    const block = Buffer.concat([
      Buffer.from("CONTENT_LENGTH\u00000\u0000SCGI\u00001\u0000PATH_INFO\u0000"),
      utf8,
      Buffer.from("\u0000HTTP_X_NAME\u0000"),
      utf8,
      Buffer.from("\u0000"),
    ]);
    const head = parseHeaderBlock(block);
    expect(head.variables.get("PATH_INFO")).toBe("café");
    expect(head.variables.get("HTTP_X_NAME")).toBe(utf8.toString("latin1"));
  });
});

describe("variableName", () => {
  it("reads a name from bytes and gives back the same string for the same bytes", () => {
    const bytes = Buffer.from("xxREQUEST_METHODyy");
    const first = variableName(bytes, 2, 16);
    expect(first).toBe("REQUEST_METHOD");
    expect(variableName(Buffer.from("REQUEST_METHOD"), 0, 14)).toBe(first);
    expect(variableName(Buffer.from("REQUEST_METHOE"), 0, 14)).toBe("REQUEST_METHOE");
    expect(variableName(Buffer.from([0x48, 0xe9]), 0, 2)).toBe("H\u00e9");
  });
});

describe("NameSequence", () => {
  it("gives the name at each position, the same string as last time when the bytes match, and follows a change of layout", () => {
    const names = new NameSequence();
    const block = (list: string[]): Buffer => Buffer.from(list.join(""));
    const first = block(["REQUEST_METHOD", "PATH_INFO"]);
    const a = names.at(0, first, 0, 14);
    const b = names.at(1, first, 14, 23);
    expect([a, b]).toEqual(["REQUEST_METHOD", "PATH_INFO"]);
    const again = block(["REQUEST_METHOD", "PATH_INFO"]);
    expect(names.at(0, again, 0, 14)).toBe(a);
    // Another variable at position 1, of the same length and of another one: read as it is.
    const other = block(["REQUEST_METHOD", "PATH_INFX", "QUERY_STRING"]);
    expect(names.at(1, other, 14, 23)).toBe("PATH_INFX");
    expect(names.at(2, other, 23, 35)).toBe("QUERY_STRING");
    expect(names.at(1, block(["REQUEST_METHOD", "SCGI"]), 14, 18)).toBe("SCGI");
    // A position far past any seen is read without being remembered.
    expect(names.at(1000, first, 0, 14)).toBe("REQUEST_METHOD");
  });
});

describe("FastCGI PARAMS to an environment", () => {
  it("reads ASCII blocks and non-ASCII ones the same way decodeVariable does", () => {
    const ascii = decodeVariables(encodePairs([["PATH_INFO", "/a"], ["HTTP_COOKIE", "a=1"], ["HTTP_COOKIE", "b=2"]])).toRecord();
    expect({ ...ascii }).toEqual({ PATH_INFO: "/a", HTTP_COOKIE: "a=1; b=2" });
    const utf8 = decodeVariables(encodePairs([["PATH_INFO", "/café"], ["HTTP_X_NAME", "café"]])).toRecord();
    expect(utf8.PATH_INFO).toBe("/café");
    expect(utf8.HTTP_X_NAME).toBe(Buffer.from("café").toString("latin1"));
  });
});

describe("CgiVariables", () => {
  it("reads variables in a flat list: repeated HTTP_* combined, cookies with '; ', other repeats the last one", () => {
    const vars = new CgiVariables(["HTTP_COOKIE", "a=1", "HTTP_ACCEPT", "x", "REQUEST_METHOD", "GET", "HTTP_COOKIE", "b=2", "HTTP_ACCEPT", "y"]);
    vars.add("REQUEST_METHOD", "POST");
    expect(vars.count).toBe(6);
    expect(vars.get("HTTP_COOKIE")).toBe("a=1; b=2");
    expect(vars.get("HTTP_ACCEPT")).toBe("x, y");
    expect(vars.get("REQUEST_METHOD")).toBe("POST");
    expect(vars.get("MISSING")).toBeUndefined();
    const record = vars.toRecord();
    expect({ ...record }).toEqual({ HTTP_COOKIE: "a=1; b=2", HTTP_ACCEPT: "x, y", REQUEST_METHOD: "POST" });
    expect(vars.toRecord()).toBe(record);
    expect(Object.isFrozen(record)).toBe(true);
  });

  it("is made from an object, skipping unset values, and read by requestFromEnvironment like one", () => {
    const vars = CgiVariables.fromRecord({ REQUEST_METHOD: "GET", REQUEST_URI: "/a?b=1", HTTP_HOST: "x", UNSET: undefined });
    expect(vars.count).toBe(3);
    const req = new Request(requestFromEnvironment(vars, undefined));
    expect(req.uri.href).toBe("http://x/a?b=1");
    expect(req.environment.REQUEST_URI).toBe("/a?b=1");
    expect(req.header("host")).toBe("x");
  });
});
