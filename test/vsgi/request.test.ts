import { describe, it, expect, afterEach } from "@jest/globals";
import { PassThrough } from "node:stream";
import { serve, send, raw, type Served } from "../helpers/http.js";
import { Request, normalizePath, encodePath, abortedError, ERR_ABORTED, type Response } from "../../vsgi/index.js";

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

  it("parses cookies, the last of a name winning", async () => {
    served = await serve(echo((req) => [Object.fromEntries(req.cookies), req.lookupCookie("a"), req.lookupCookie("z")]));
    const res = await send(served.port, "GET", "/", { Cookie: "a=1; b=2; a=3" });
    expect(JSON.parse(res.body.toString())).toEqual([{ a: "3", b: "2" }, "3", null]);
  });

  it("flattens the body, and form() decodes urlencoded bodies", async () => {
    served = await serve(echo((req) => (req.path === "/form" ? req.form() : req.flattenUtf8())));
    expect((await send(served.port, "POST", "/", {}, "raw body")).body.toString()).toBe('"raw body"');
    const form = await send(served.port, "POST", "/form", { "Content-Type": "application/x-www-form-urlencoded" }, "a=1&b=x+y&a=2");
    expect(JSON.parse(form.body.toString())).toEqual({ a: "2", b: "x y" });
  });

  it("bounds form() and answers 413 past the limit", async () => {
    served = await serve(echo((req) => req.form(16)));
    const res = await send(served.port, "POST", "/", { "Content-Type": "application/x-www-form-urlencoded" }, "a=" + "x".repeat(100));
    expect(res.status).toBe(413);
  });

  it("sees the abort, coded ERR_VSGI_ABORTED, when the client goes away during the response", async () => {
    let resolveAborted: (v: [boolean, unknown]) => void = () => undefined;
    const aborted = new Promise<[boolean, unknown]>((r) => (resolveAborted = r));
    served = await serve((req, res) => {
      req.signal.addEventListener("abort", () => resolveAborted([req.aborted, (req.signal.reason as { code?: unknown }).code]));
      void res.append("started");
      return true;
    });
    const { connect } = await import("node:net");
    const socket = connect(served.port, "127.0.0.1");
    socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    socket.once("data", () => socket.destroy());
    expect(await aborted).toEqual([true, ERR_ABORTED]);
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
