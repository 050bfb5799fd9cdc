import { describe, it, expect, afterEach, beforeEach } from "@jest/globals";
import { PassThrough } from "node:stream";
import { connect } from "node:net";
import { serve, send, raw, type Served } from "../helpers/http.js";
import { Request, normalizePath, encodePath, setErrorLogger, logError, BODY_LIMIT, abortedError, ERR_ABORTED, type Response, type VsgiError } from "../../vsgi/index.js";

const DEFAULT_LOGGER = logError;

let served: Served | null = null;
afterEach(async () => {
  await served?.close();
  served = null;
});

function echo(pick: (req: Request) => unknown): (req: Request, res: Response) => Promise<boolean> {
  return async (req, res) => res.expandUtf8(JSON.stringify(await pick(req)));
}

describe("Request over http", () => {
  it("exposes method, URL, path, version and gateway", async () => {
    served = await serve(echo((req) => [req.method, req.uri.href, req.path, req.httpVersion, req.gatewayInterface, req.isCgi]));
    const res = await send(served.port, "GET", "/a/b?c=d", { Host: "example.com:8080" });
    expect(JSON.parse(res.body.toString())).toEqual(["GET", "http://example.com:8080/a/b?c=d", "/a/b", "1.1", "HTTP/1.1", false]);
  });

  it("normalizes dot segments and encodes the path like a URL", async () => {
    served = await serve(echo((req) => req.path));
    const text = await raw(served.port, "GET /a/./b/../c/%2e%2E/d%20e HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(text).toContain('"/a/d%20e"');
  });

  it("reads headers case-insensitively, multi-valued", async () => {
    served = await serve(echo((req) => [req.header("x-a"), req.headers.getAll("X-B"), req.headers.get("missing")]));
    const text = await raw(served.port, "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nX-B: 2\r\nX-B: 3\r\nConnection: close\r\n\r\n");
    expect(text).toContain('["1",["2","3"],null]');
  });

  it("decodes the query lazily, null without ?", async () => {
    served = await serve(echo((req) => [req.query, req.lookupQuery("a"), req.lookupQuery("z")]));
    expect(JSON.parse((await send(served.port, "GET", "/?a=1&a=2&b=%C3%A9+x")).body.toString())).toEqual([{ a: "2", b: "é x" }, "2", null]);
    expect(JSON.parse((await send(served.port, "GET", "/")).body.toString())).toEqual([null, null, null]);
    expect(JSON.parse((await send(served.port, "GET", "/?")).body.toString())).toEqual([{}, null, null]);
  });

  it("reaches every value of a repeated query key with lookupQueryAll", async () => {
    served = await serve(echo((req) => [req.lookupQueryAll("a"), req.lookupQueryAll("b"), req.lookupQueryAll("z"), req.lookupQuery("a")]));
    const res = await send(served.port, "GET", "/?a=1&b=x&a=2&a=%C3%A9+3");
    expect(JSON.parse(res.body.toString())).toEqual([["1", "2", "é 3"], ["x"], [], "é 3"]);
    expect(JSON.parse((await send(served.port, "GET", "/")).body.toString())).toEqual([[], [], [], null]);
  });

  it("parses cookies, the last of a name winning", async () => {
    served = await serve(echo((req) => [Object.fromEntries(req.cookies), req.lookupCookie("a"), req.lookupCookie("z")]));
    const res = await send(served.port, "GET", "/", { Cookie: "a=1; b=2; a=3" });
    expect(JSON.parse(res.body.toString())).toEqual([{ a: "3", b: "2" }, "3", null]);
  });

  it("sees the abort, coded ERR_VSGI_ABORTED, when the client goes away during the response", async () => {
    let resolveAborted: (v: [boolean, unknown]) => void = () => undefined;
    const aborted = new Promise<[boolean, unknown]>((r) => (resolveAborted = r));
    served = await serve((req, res) => {
      req.signal.addEventListener("abort", () => resolveAborted([req.aborted, (req.signal.reason as { code?: unknown }).code]));
      void res.append("started");
      return true;
    });
    const socket = connect(served.port, "127.0.0.1");
    socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    socket.once("data", () => socket.destroy());
    expect(await aborted).toEqual([true, ERR_ABORTED]);
  });
});

describe("Request bodies over http", () => {
  let logged: string[] = [];
  beforeEach(() => {
    logged = [];
    setErrorLogger((message, error) => logged.push(`${message}: ${(error as VsgiError).code}`));
  });
  afterEach(() => setErrorLogger(DEFAULT_LOGGER));

  const FORM = { "Content-Type": "application/x-www-form-urlencoded" };
  const JSON_TYPE = { "Content-Type": "application/json" };

  /** Sends a head (and a partial body) and resolves with the first answer, the connection left open. */
  function firstAnswer(port: number, bytes: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
      let text = "";
      socket.setEncoding("latin1").on("data", (chunk: string) => {
        text += chunk;
        const m = /\r\nContent-Length: (\d+)\r\n[\s\S]*?\r\n\r\n([\s\S]*)$/i.exec(text);
        if (m && m[2]!.length >= Number(m[1])) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on("error", reject);
    });
  }

  it("bounds flatten() and flattenUtf8() by one 1 MiB default: 413 past it", async () => {
    expect(BODY_LIMIT).toBe(1024 * 1024);
    served = await serve(async (req, res) => res.expandUtf8(String(req.path === "/text" ? (await req.flattenUtf8()).length : (await req.flatten()).length)));
    // Chunked: no declared length, the limit is met while reading.
    const chunked = { "Transfer-Encoding": "chunked" };
    expect((await send(served.port, "POST", "/", chunked, Buffer.alloc(BODY_LIMIT, 0x61))).body.toString()).toBe(String(BODY_LIMIT));
    const over = await send(served.port, "POST", "/", chunked, Buffer.alloc(BODY_LIMIT + 1, 0x61));
    expect(over.status).toBe(413);
    expect(over.body.toString()).toBe(`request body larger than ${BODY_LIMIT} bytes`);
    expect((await send(served.port, "POST", "/text", chunked, Buffer.alloc(BODY_LIMIT + 1, 0x61))).status).toBe(413);
    expect(logged).toEqual(["POST /: unhandled error: ERR_VSGI_BODY_TOO_LARGE", "POST /text: unhandled error: ERR_VSGI_BODY_TOO_LARGE"]);
  });

  it("answers 413 to a declared Content-Length over the limit without reading the body", async () => {
    served = await serve(async (req, res) => res.expandUtf8(req.path === "/json" ? JSON.stringify(await req.json()) : await req.flattenUtf8()));
    // The body never comes: reading it would hang the test.
    const text = await firstAnswer(served.port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${BODY_LIMIT + 1}\r\n\r\nabc`);
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    const json = await firstAnswer(served.port, "POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 9999999\r\n\r\n{");
    expect(json).toMatch(/^HTTP\/1\.1 413 /);
  });

  it("form() decodes urlencoded bodies, the type compared on its essence, into a null-prototype object", async () => {
    served = await serve(echo(async (req) => {
      const form = await req.form();
      return [Object.getPrototypeOf(form) === null, Object.keys(form), form, ({} as Record<string, unknown>).polluted ?? null];
    }));
    const res = await send(served.port, "POST", "/", FORM, "a=1&b=x+y&a=2");
    expect(JSON.parse(res.body.toString())).toEqual([true, ["a", "b"], { a: "2", b: "x y" }, null]);
    const essence = await send(served.port, "POST", "/", { "Content-Type": "Application/X-WWW-Form-Urlencoded ; Charset=UTF-8" }, "a=1");
    expect(JSON.parse(essence.body.toString())[2]).toEqual({ a: "1" });
    // A __proto__ field is an ordinary own key: no prototype is set, nothing is polluted.
    const proto = await send(served.port, "POST", "/", FORM, "__proto__=x&constructor=y&polluted=z");
    expect(JSON.parse(proto.body.toString())).toEqual([true, ["__proto__", "constructor", "polluted"], { ["__proto__"]: "x", constructor: "y", polluted: "z" }, null]);
  });

  it("form() answers 415 to another Content-Type or none, before reading, and 413 past its limit", async () => {
    served = await serve(echo((req) => (req.path === "/small" ? req.form(16) : req.form())));
    const json = await send(served.port, "POST", "/", JSON_TYPE, '{"a":1}');
    expect(json.status).toBe(415);
    expect(json.body.toString()).toBe("unsupported media type: expected application/x-www-form-urlencoded, got Content-Type application/json");
    const none = await send(served.port, "POST", "/", {}, "a=1");
    expect(none.status).toBe(415);
    expect(none.body.toString()).toMatch(/got no Content-Type$/);
    expect((await send(served.port, "POST", "/small", FORM, "a=" + "x".repeat(100))).status).toBe(413);
    expect(logged).toEqual([
      "POST /: unhandled error: ERR_VSGI_UNSUPPORTED_MEDIA_TYPE",
      "POST /: unhandled error: ERR_VSGI_UNSUPPORTED_MEDIA_TYPE",
      "POST /small: unhandled error: ERR_VSGI_BODY_TOO_LARGE",
    ]);
  });

  it("json() parses application/json and +json types, compared on the essence", async () => {
    served = await serve((req, res) => req.json().then((value) => res.expandJson(value)));
    for (const type of ["application/json", "Application/JSON; charset=UTF-8", "application/vnd.api+json", "application/merge-patch+json; charset=utf8"]) {
      const res = await send(served.port, "POST", "/", { "Content-Type": type }, '{"a":[1,"é"],"b":{"constructor":"fine"}}');
      expect([type, res.status]).toEqual([type, 200]);
      expect(JSON.parse(res.body.toString())).toEqual({ a: [1, "é"], b: { constructor: "fine" } });
    }
    const bom = await send(served.port, "POST", "/", JSON_TYPE, "\ufeff[true]");
    expect(JSON.parse(bom.body.toString())).toEqual([true]);
  });

  it.each([
    ["text/plain", "[1]", 415, "ERR_VSGI_UNSUPPORTED_MEDIA_TYPE"],
    ["application/x-www-form-urlencoded", "a=1", 415, "ERR_VSGI_UNSUPPORTED_MEDIA_TYPE"],
    ["application/jsonx", "[1]", 415, "ERR_VSGI_UNSUPPORTED_MEDIA_TYPE"],
    ["application/json; charset=iso-8859-1", "[1]", 415, "ERR_VSGI_UNSUPPORTED_MEDIA_TYPE"],
    ["application/json", '{"a":', 400, "ERR_VSGI_BAD_REQUEST"],
    ["application/json", "", 400, "ERR_VSGI_BAD_REQUEST"],
    ["application/json", '{"__proto__":{"polluted":1}}', 400, "ERR_VSGI_BAD_REQUEST"],
    ["application/json", '[{"a":{"\\u005f_proto__":{"polluted":1}}}]', 400, "ERR_VSGI_BAD_REQUEST"],
    ["application/json", '{"constructor":{"prototype":{"polluted":1}}}', 400, "ERR_VSGI_BAD_REQUEST"],
    ["application/json", `[${"1,".repeat(40)}1]`, 413, "ERR_VSGI_BODY_TOO_LARGE"],
  ])("json() on %s %j answers %d", async (type, body, status, code) => {
    served = await serve((req, res) => req.json(64).then((value) => res.expandJson(value)));
    const res = await send(served.port, "POST", "/", { "Content-Type": type }, body);
    expect(res.status).toBe(status);
    expect(logged).toEqual([`POST /: unhandled error: ${code}`]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("json() without a Content-Type answers 415", async () => {
    served = await serve((req, res) => req.json().then((value) => res.expandJson(value)));
    const res = await send(served.port, "POST", "/", {}, "[1]");
    expect(res.status).toBe(415);
    expect(res.body.toString()).toBe("unsupported media type: expected application/json, got no Content-Type");
  });
});

describe("Request from a backend's init", () => {
  it("builds the URL from scheme, authority and target, the path without the mount prefix", () => {
    const req = new Request({
      method: "GET",
      target: "/app/users/1?x=1",
      scheme: "https",
      authority: "example.com",
      body: new PassThrough(),
      scriptName: "/app",
    });
    expect(req.uri.href).toBe("https://example.com/app/users/1?x=1");
    expect(req.path).toBe("/users/1");
    req.path = "/other";
    expect(req.path).toBe("/other");
    expect(req.uri.pathname).toBe("/app/users/1");
  });

  it("treats * and absolute-form targets", () => {
    const star = new Request({ method: "OPTIONS", target: "*", body: new PassThrough() });
    expect(star.path).toBe("*");
    const absolute = new Request({ method: "GET", target: "http://h:81/p?q", body: new PassThrough() });
    expect(absolute.path).toBe("/p");
    expect(absolute.uri.port).toBe("81");
  });

  it("gives a request without a body an empty, ended stream, made once when read", async () => {
    const req = new Request({ method: "GET", target: "/" });
    const body = req.body;
    expect(req.body).toBe(body);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    expect(chunks).toEqual([]);
    expect(body.readableEnded).toBe(true);
    expect((await new Request({ method: "POST", target: "/" }).flatten()).length).toBe(0);
    await expect(new Request({ method: "POST", target: "/" }).flatten(NaN)).rejects.toThrow("a body limit is a number of bytes, got NaN");
  });
});

describe("Request.abort", () => {
  it("gives the signal the reason it was aborted with, even when the signal is asked for afterwards", () => {
    const early = new Request({ method: "GET", target: "/" });
    const listened = early.signal;
    const error = abortedError("the front server closed the connection");
    early.abort(error);
    expect(listened.aborted).toBe(true);
    expect(listened.reason).toBe(error);
    const late = new Request({ method: "GET", target: "/" });
    late.abort(error);
    expect(late.aborted).toBe(true);
    expect(late.signal.aborted).toBe(true);
    expect(late.signal.reason).toBe(error);
  });

  it("makes an ERR_VSGI_ABORTED error (status 400) when aborted without a reason, and keeps the first reason", () => {
    const req = new Request({ method: "GET", target: "/" });
    req.abort();
    req.abort(new Error("later"));
    expect(req.signal.reason).toMatchObject({ name: "VsgiError", code: ERR_ABORTED, status: 400 });
  });
});

describe("paths", () => {
  it.each([
    ["/plain/path", "/plain/path"],
    ["/a/./b", "/a/b"],
    ["/a/../b", "/b"],
    ["/a/%2e%2e/b", "/b"],
    ["/..", "/"],
    ["/a b", "/a%20b"],
    ["/é", "/%C3%A9"],
    ["/file.tar.gz", "/file.tar.gz"],
    ["/.hidden", "/.hidden"],
    ["/a/...", "/a/..."],
    ["//a/./b", "//a/b"],
    ["//[x/./", "//[x/"],
    ["//evil.example/../x", "//x"],
  ])("normalizePath(%j) = %j", (input, output) => {
    expect(normalizePath(input)).toBe(output);
  });

  it("encodePath encodes a decoded path, keeping /", () => {
    expect(encodePath("/a b/é?#")).toBe("/a%20b/%C3%A9%3F%23");
  });
});
