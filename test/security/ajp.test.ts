// AJP (Ghostcat, CVE-2020-1938): with a `secret`, a FORWARD_REQUEST without it, with a wrong one
// or with it in another place is refused before the application runs; request attributes
// (Tomcat's javax.servlet.include.*, context, servlet_path, req_attribute names of CGI
// variables, query_string) never change which route or file is served.
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { Server, setErrorLogger, type Request, type Response } from "../../vsgi/index.js";
import { Router } from "../../valum/index.js";
import { forwardRequest, AjpSocket, exchange, type ForwardSpec } from "../helpers/ajp-client.js";
import { ajpRaw } from "./gateways.js";
import { makeStaticTree, staticApp, leaks, type StaticTree } from "./static-fixture.js";

/** Adds attribute `code` with string `value` before the end of a FORWARD_REQUEST packet. */
function withAttribute(packet: Buffer, code: number, value: string): Buffer {
  const text = Buffer.from(value, "latin1");
  const attribute = Buffer.alloc(1 + 2 + text.length + 1);
  attribute[0] = code;
  attribute.writeUInt16BE(text.length, 1);
  text.copy(attribute, 3);
  const out = Buffer.concat([packet.subarray(0, packet.length - 1), attribute, packet.subarray(packet.length - 1)]);
  out.writeUInt16BE(out.length - 4, 2);
  return out;
}

/** Sends a raw FORWARD_REQUEST packet, returns the status (0: closed without an answer). */
async function sendPacket(port: number, packet: Buffer): Promise<number> {
  const socket = await AjpSocket.connect(port);
  try {
    socket.write(packet);
    for (let p = await socket.next(); p !== null; p = await socket.next()) if (p[0] === 4) return p.readUInt16BE(1);
    return 0;
  } finally {
    socket.destroy();
  }
}

describe("with a secret", () => {
  let server: Server;
  let port: number;
  let ran = 0;
  const logged: string[] = [];
  beforeAll(async () => {
    setErrorLogger((message) => logged.push(message));
    server = await Server.load("ajp", {
      secret: "s3cret-XYZ",
      handler: (req: Request, res: Response) => {
        ran++;
        return res.expandUtf8("application ran");
      },
    });
    await server.listen({ port: 0 });
    port = Number(server.uris[0]!.port);
  });
  afterAll(async () => {
    await server.stop();
    setErrorLogger((message, error) => console.error(message, error));
  });

  const get: ForwardSpec = { method: "GET", uri: "/", headers: [["Host", "h"]] };

  it.each([
    ["no secret", undefined],
    ["an empty secret", ""],
    ["a wrong secret", "wrong"],
    ["a prefix of the secret", "s3cret"],
    ["the secret and more", "s3cret-XYZ!"],
    ["another case", "S3CRET-xyz"],
    ["the secret with a NUL after it", "s3cret-XYZ\0"],
    ["the secret with a space after it", "s3cret-XYZ "],
  ] as const)("refuses %s with a 403, without running the application", async (_what, secret) => {
    const before = ran;
    const answer = await ajpRaw(port, { ...get, secret: secret ?? null });
    expect(answer.status).toBe(403);
    expect(answer.body.toString()).not.toContain("application ran");
    expect(ran).toBe(before);
  });

  it("refuses the secret sent elsewhere: as a req_attribute, a header, the remote_user or the jvm_route", async () => {
    const before = ran;
    for (const spec of [
      { ...get, attributes: [["secret", "s3cret-XYZ"], ["AJP_SECRET", "s3cret-XYZ"]] as [string, string][] },
      { ...get, headers: [["Host", "h"], ["Secret", "s3cret-XYZ"]] as [string, string][] },
      { ...get, remoteUser: "s3cret-XYZ", jvmRoute: "s3cret-XYZ", context: "s3cret-XYZ" },
    ]) {
      expect((await ajpRaw(port, spec)).status).toBe(403);
    }
    expect(ran).toBe(before);
  });

  it("refuses a request that carries the secret twice with different values, in either order", async () => {
    const before = ran;
    const right = forwardRequest({ ...get, secret: "s3cret-XYZ" });
    const wrong = forwardRequest({ ...get, secret: "wrong" });
    expect(await sendPacket(port, withAttribute(right, 0x0c, "wrong"))).not.toBe(200);
    expect(await sendPacket(port, withAttribute(wrong, 0x0c, "s3cret-XYZ"))).not.toBe(200);
    expect(ran).toBe(before);
  });

  it("serves the right secret, and keeps serving the connection after a refusal", async () => {
    const socket = await AjpSocket.connect(port);
    try {
      expect((await exchange(socket, { ...get, secret: "wrong" })).status).toBe(403);
      const ok = await exchange(socket, { ...get, secret: "s3cret-XYZ" });
      expect(ok.status).toBe(200);
      expect(ok.body.toString()).toBe("application ran");
    } finally {
      socket.destroy();
    }
  });

  it("logs refusals without the secret that was sent", () => {
    expect(logged.join("\n")).not.toContain("s3cret-XYZ");
  });
});

describe("request attributes never change what is served", () => {
  let tree: StaticTree;
  let server: Server;
  let port: number;
  beforeAll(async () => {
    tree = makeStaticTree();
    setErrorLogger(() => undefined);
    const app = new Router();
    app.get("/where", (req, res) =>
      res.expandJson({ path: req.path, scriptName: req.scriptName, href: req.uri.href, query: req.queryString }),
    );
    const files = staticApp(tree.root);
    app.use((req, res) => files.handle(req, res));
    server = await Server.load("ajp", { handler: app });
    await server.listen({ port: 0 });
    port = Number(server.uris[0]!.port);
  });
  afterAll(async () => {
    await server.stop();
    setErrorLogger((message, error) => console.error(message, error));
    tree.remove();
  });

  // Tomcat's include attributes (the Ghostcat exploit), and CGI variable names as req_attributes
  const ATTRIBUTES: [string, string][][] = [
    [["javax.servlet.include.request_uri", "/admin/x"], ["javax.servlet.include.path_info", "/../secret.txt"], ["javax.servlet.include.servlet_path", "/.env"]],
    [["PATH_INFO", "/../secret.txt"], ["SCRIPT_NAME", "/static"], ["REQUEST_URI", "/admin/x"]],
    [["DOCUMENT_ROOT", "/"], ["SCRIPT_FILENAME", "/etc/passwd"], ["PATH_TRANSLATED", "/etc/passwd"], ["QUERY_STRING", "x=/admin"]],
    [["HTTP_HOST", "evil.example"], ["SERVER_NAME", "evil.example"], ["HTTPS", "on"], ["REQUEST_SCHEME", "https"], ["GATEWAY_INTERFACE", "CGI/1.1"]],
    [["REMOTE_ADDR", "10.0.0.1"], ["REQUEST_METHOD", "DELETE"], ["CONTENT_LENGTH", "5"], ["AJP_REMOTE_PORT", "1"]],
  ];
  const OTHER: Partial<ForwardSpec>[] = [
    { context: "/admin" },
    { context: "/.." },
    { servletPath: "/admin/x" },
    { servletPath: "/../secret.txt" },
    { jvmRoute: "../.." },
    { remoteUser: "admin", authType: "Basic" },
    { sslCert: "-----BEGIN CERTIFICATE-----", sslCipher: "NULL", sslSession: "/admin", sslKeySize: 0 },
  ];

  it("the path, mount and URL a route sees are req_uri's, whatever the attributes", async () => {
    const base = await ajpRaw(port, { method: "GET", uri: "/where", headers: [["Host", "h"]] });
    expect(base.status).toBe(200);
    const expected = JSON.parse(base.body.toString());
    expect(expected).toEqual({ path: "/where", scriptName: "", href: "http://h/where", query: null });
    for (const attributes of ATTRIBUTES) {
      const answer = await ajpRaw(port, { method: "GET", uri: "/where", headers: [["Host", "h"]], attributes });
      expect([attributes, JSON.parse(answer.body.toString())]).toEqual([attributes, expected]);
    }
    for (const other of OTHER) {
      const answer = await ajpRaw(port, { method: "GET", uri: "/where", headers: [["Host", "h"]], ...other });
      expect([other, JSON.parse(answer.body.toString())]).toEqual([other, expected]);
    }
  });

  it("a query_string attribute is the query only: it never moves the path", async () => {
    for (const query of ["/../secret.txt", "x=1#/../admin/x", "?/admin/x", "%2f..%2fsecret.txt", "a=1\0/admin"]) {
      const answer = await ajpRaw(port, { method: "GET", uri: "/where", query, headers: [["Host", "h"]] });
      const seen = JSON.parse(answer.body.toString());
      expect([query, seen.path, seen.scriptName]).toEqual([query, "/where", ""]);
    }
  });

  it("no attribute makes a static request reach a secret, a dot file or the guarded file", async () => {
    for (const uri of ["/hello.txt", "/nothing-here", "/admin/x"]) {
      for (const extra of [...ATTRIBUTES.map((attributes) => ({ attributes })), ...OTHER, { query: "/../secret.txt" }]) {
        const answer = await ajpRaw(port, { method: "GET", uri, headers: [["Host", "h"]], ...extra });
        expect([uri, extra, leaks(answer.body)]).toEqual([uri, extra, null]);
        if (uri === "/hello.txt") expect([uri, extra, answer.body.toString()]).toEqual([uri, extra, "hello world\n"]);
      }
    }
  });
});

describe("header names with an underscore", () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = await Server.load("ajp", {
      handler: (req: Request, res: Response) =>
        res.expandJson({ forwarded: req.headers.get("x-forwarded-for"), variable: req.environment.HTTP_X_FORWARDED_FOR ?? null, other: req.headers.get("x-other") }),
    });
    await server.listen({ port: 0 });
    port = Number(server.uris[0]!.port);
  });
  afterAll(() => server.stop());

  it("are dropped, so a client's X_Forwarded_For never joins the X-Forwarded-For the front server set", async () => {
    // AJP carries header names as they are; turned into variables, both names are HTTP_X_FORWARDED_FOR
    for (const headers of [
      [["Host", "h"], ["X_Forwarded_For", "6.6.6.6"], ["X-Forwarded-For", "10.0.0.1"], ["X-Other", "kept"]],
      [["Host", "h"], ["X-Forwarded-For", "10.0.0.1"], ["x_forwarded_for", "6.6.6.6"], ["X-Other", "kept"]],
    ] as [string, string][][]) {
      const answer = await ajpRaw(port, { method: "GET", uri: "/", headers, codedHeaders: false });
      expect(JSON.parse(answer.body.toString())).toEqual({ forwarded: "10.0.0.1", variable: "10.0.0.1", other: "kept" });
    }
  });
});
