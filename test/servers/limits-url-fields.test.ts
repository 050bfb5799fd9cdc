// URL length (414) and header field count (431) on every backend, each at its edge: exactly at
// the limit is served, one over never reaches the application. The http backend's request line
// that overflows node's head limit is a 414 too.
import { describe, it, expect, afterEach } from "@jest/globals";
import { loggedLines } from "../helpers/log.js";
import { runCgi } from "../helpers/cgi-client.js";
import { distPath } from "../helpers/process.js";
import { limitsApp } from "../helpers/limits-app.js";
import { ask, untilClosed, SOCKET_BACKENDS, type SocketBackend } from "../helpers/limits-clients.js";
import { Server, SERVER_LIMITS, CGI_LIMITS, requestFromEnvironment } from "../../vsgi/index.js";

const CGI_LIMITS_APP = distPath("test/helpers/cgi-limits-app.js");

/** A path of exactly `length` characters. */
const pathOf = (length: number): string => "/" + "a".repeat(length - 1);

/** `n` header fields, `Host` first. */
function fieldList(n: number): [string, string][] {
  const list: [string, string][] = [["Host", "x"]];
  for (let i = 1; i < n; i++) list.push([`X-Field-${i}`, String(i)]);
  return list;
}

describe.each(SOCKET_BACKENDS)("%s backend: URL length and header fields", (backend: SocketBackend) => {
  let server: Server | null = null;
  const logged = loggedLines();
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  // SCGI always sends CONTENT_LENGTH, which the application sees as a Content-Length field (not
  // an HTTP_ variable: the limit does not count it).
  const seen = (fields: number): number => (backend === "scgi" ? fields + 1 : fields);

  async function start(options: Record<string, unknown>): Promise<number> {
    server = await Server.load(backend, { handler: limitsApp(() => undefined), ...options });
    await server.listen({ port: 0, host: "127.0.0.1" });
    return Number(server.uris[0]!.port);
  }

  it("serves a request-target of maxUrlLength characters and answers one more with 414, the application not called", async () => {
    const port = await start({ maxUrlLength: 100 });
    expect(await ask(backend, port, pathOf(100), [["Host", "x"]])).toEqual({ status: 200, body: `fields ${seen(1)} target 100` });
    const over = await ask(backend, port, pathOf(101), [["Host", "x"]]);
    expect(over.status).toBe(414);
    expect(over.body).toMatch(/request-target is longer than 100/);
    // the query counts: it is part of the target
    expect((await ask(backend, port, pathOf(90) + "?" + "q".repeat(9), [["Host", "x"]])).status).toBe(200);
    expect((await ask(backend, port, pathOf(90) + "?" + "q".repeat(10), [["Host", "x"]])).status).toBe(414);
  }, 20000);

  it(`takes ${SERVER_LIMITS.maxUrlLength} characters by default`, async () => {
    // AJP carries the whole FORWARD_REQUEST in one packet: a packet as large as Apache's biggest.
    const port = await start(backend === "ajp" ? { packetSize: 65536 } : {});
    const at = SERVER_LIMITS.maxUrlLength;
    expect((await ask(backend, port, pathOf(at), [["Host", "x"]])).status).toBe(200);
    expect((await ask(backend, port, pathOf(at + 1), [["Host", "x"]])).status).toBe(414);
  }, 20000);

  if (backend !== "http") {
    it("serves maxHeaderFields header fields and answers one more with 431, the application not called", async () => {
      const port = await start({ maxHeaderFields: 10 });
      expect(await ask(backend, port, "/", fieldList(10))).toEqual({ status: 200, body: `fields ${seen(10)} target 1` });
      const over = await ask(backend, port, "/", fieldList(11));
      expect(over.status).toBe(431);
      expect(over.body).toMatch(/too many header fields: more than 10/);
      expect(logged.join("\n")).toMatch(/too many header fields: more than 10/);
    }, 20000);

    it(`takes ${CGI_LIMITS.maxHeaderFields} header fields by default`, async () => {
      const port = await start(backend === "ajp" ? { packetSize: 65536 } : {});
      expect((await ask(backend, port, "/", fieldList(CGI_LIMITS.maxHeaderFields))).body).toBe(`fields ${seen(CGI_LIMITS.maxHeaderFields)} target 1`);
      expect((await ask(backend, port, "/", fieldList(CGI_LIMITS.maxHeaderFields + 1))).status).toBe(431);
    }, 20000);
  }

  it("refuses bad maxUrlLength and maxHeaderFields values, naming them", async () => {
    const handler = limitsApp(() => undefined);
    await expect(Server.load(backend, { handler, maxUrlLength: -1 })).rejects.toThrow(/option maxUrlLength must be a non-negative integer, got -1/);
    await expect(Server.load(backend, { handler, maxHeaderFields: 0 })).rejects.toThrow(/option maxHeaderFields must be a positive integer, got 0/);
    await expect(Server.load(backend, { handler, maxUrlLength: 0 })).resolves.toBeDefined(); // no limit
  });
});

describe("http backend: a request line over maxHeaderSize", () => {
  let server: Server | null = null;
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  async function start(options: Record<string, unknown>): Promise<number> {
    server = await Server.load("http", { handler: limitsApp(() => undefined), ...options });
    await server.listen({ port: 0, host: "127.0.0.1" });
    return Number(server.uris[0]!.port);
  }

  it("is a 414 when the URL is what overflowed node's head limit, and a 431 when a header field did", async () => {
    const port = await start({ maxHeaderSize: 1024, maxUrlLength: 100 });
    expect(await untilClosed(port, `GET ${pathOf(2000)} HTTP/1.1\r\nHost: x\r\n\r\n`)).toMatch(/^HTTP\/1\.1 414 URI Too Long\r\nConnection: close\r\n\r\n$/);
    // the URL was too long, though a header field crossed the head limit
    expect(await untilClosed(port, `GET ${pathOf(500)} HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(800)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 414 /);
    expect(await untilClosed(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(2000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(await untilClosed(port, `GET ${pathOf(90)} HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(2000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    // node's other answers are kept: a malformed head is still a 400
    expect(await untilClosed(port, "GET / HTTP/1.1\r\nBad Header\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 Bad Request\r\nConnection: close\r\n\r\n$/);
  }, 20000);

  it("is a 414 with the defaults, for a URL longer than the whole head limit", async () => {
    const port = await start({});
    expect(await untilClosed(port, `GET ${pathOf(40000)} HTTP/1.1\r\nHost: x\r\n\r\n`)).toMatch(/^HTTP\/1\.1 414 /);
  }, 20000);
});

describe("cgi backend: URL length and header fields (a real CGI process)", () => {
  const env = { LIMITS_OPTIONS: JSON.stringify({ maxUrlLength: 100, maxHeaderFields: 10 }) };

  it("serves a target of maxUrlLength characters and maxHeaderFields fields; one more of either is a 414 or a 431", async () => {
    const at = await runCgi(CGI_LIMITS_APP, { method: "GET", target: pathOf(100), headers: fieldList(10) }, { env });
    expect(at.response.status).toBe(200);
    expect(at.response.body.toString()).toBe("fields 10 target 100");
    const longer = await runCgi(CGI_LIMITS_APP, { method: "GET", target: pathOf(101), headers: fieldList(10) }, { env });
    expect(longer.response.status).toBe(414);
    const more = await runCgi(CGI_LIMITS_APP, { method: "GET", target: "/", headers: fieldList(11) }, { env });
    expect(more.response.status).toBe(431);
    expect(more.response.body.toString()).toMatch(/too many header fields: more than 10/);
  }, 30000);
});

describe("requestFromEnvironment: the field count", () => {
  it("counts HTTP_ variables only, and only when the variables alone could be too many", () => {
    const base = { REQUEST_METHOD: "GET", REQUEST_URI: "/" };
    const many: Record<string, string> = { ...base };
    for (let i = 0; i < 200; i++) many[`OTHER_${i}`] = "x"; // 200 CGI variables, no header
    expect(() => requestFromEnvironment(many, undefined, { maxHeaderFields: 5 })).not.toThrow();
    for (let i = 0; i < 6; i++) many[`HTTP_X_${i}`] = "x";
    expect(() => requestFromEnvironment(many, undefined, { maxHeaderFields: 5 })).toThrow(/too many header fields: more than 5/);
    expect(() => requestFromEnvironment(many, undefined, { maxHeaderFields: 6 })).not.toThrow();
  });
});
