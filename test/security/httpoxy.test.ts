// httpoxy (CVE-2016-5385): a `Proxy:` request header reaches a CGI-family backend as HTTP_PROXY,
// the name HTTP clients read their proxy from. It must reach neither the process environment
// (the cgi backend runs in it, and so do the children it spawns) nor `req.environment` (what an
// application would hand to a child process), nor pass for a request header.
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { Server, type Request, type Response } from "../../vsgi/index.js";
import { CGI_APP, runCgi } from "../helpers/cgi-client.js";
import { ajpRaw, baseVariables, fastcgiRaw, scgiRaw } from "./gateways.js";

const EVIL = "http://evil.example:8080";

/** What an application sees of the header: the same three places the CGI program reports. */
function report(req: Request, res: Response): Promise<boolean> {
  // what a child process the application starts with the request's variables would see
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(process.env.HTTP_PROXY ?? 'unset')"], {
    env: { PATH: process.env.PATH ?? "/usr/bin", ...req.environment },
    encoding: "utf8",
  });
  res.headers.set("Content-Type", "application/json");
  return res.expandUtf8(
    JSON.stringify({
      processEnv: process.env.HTTP_PROXY ?? null,
      header: req.headers.get("proxy"),
      table: [...req.headers].filter(([name]) => name.toLowerCase() === "proxy").length,
      environment: req.environment.HTTP_PROXY ?? null,
      child: child.stdout,
      other: req.headers.get("x-proxy"),
    }),
  );
}

const CLEAN = { processEnv: null, header: null, table: 0, environment: null, child: "unset", other: null };

describe.each(["scgi", "fastcgi", "ajp"] as const)("%s", (name) => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = await Server.load(name, { handler: report });
    await server.listen({ port: 0 });
    port = Number(server.uris[0]!.port);
  });
  afterAll(() => server.stop());

  it("a Proxy header reaches neither the environment, nor a child process, nor the headers", async () => {
    const answer =
      name === "ajp"
        ? await ajpRaw(port, {
            method: "GET",
            uri: "/",
            headers: [["Host", "h"], ["Proxy", EVIL]],
            // nor can a req_attribute (the Ghostcat filter refuses HTTP_* names)
            attributes: [["HTTP_PROXY", EVIL], ["AJP_REMOTE_PORT", "40000"]],
          })
        : await (name === "scgi" ? scgiRaw : fastcgiRaw)(port, [...baseVariables(), ["REQUEST_URI", "/"], ["HTTP_PROXY", EVIL]]);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString())).toEqual(CLEAN);
  });

  it("another header still arrives (the test can fail)", async () => {
    const answer =
      name === "ajp"
        ? await ajpRaw(port, { method: "GET", uri: "/", headers: [["Host", "h"], ["X-Proxy", EVIL]] })
        : await (name === "scgi" ? scgiRaw : fastcgiRaw)(port, [...baseVariables(), ["REQUEST_URI", "/"], ["HTTP_X_PROXY", EVIL]]);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString())).toEqual({ ...CLEAN, other: EVIL });
  });
});

describe("cgi", () => {
  it("HTTP_PROXY is deleted from process.env before the application runs, and is no request variable", async () => {
    const run = await runCgi(CGI_APP, { method: "GET", target: "/httpoxy", headers: [["Proxy", EVIL]] });
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.response.body.toString())).toEqual({ processEnv: null, header: null, environment: null });
  }, 30000);
});

// Node 24 and later take their HTTP proxy from HTTP_PROXY when NODE_USE_ENV_PROXY=1 (or
// --use-env-proxy), read when the process starts, before any code: deleting the variable then
// is too late, so the cgi backend must not run the application with a client's proxy.
const envProxy = Number(process.versions.node.split(".")[0]) >= 24;

describe("cgi, with NODE_USE_ENV_PROXY=1 (Node 24 and later)", () => {
  (envProxy ? it : it.skip)(
    "a request with a Proxy header is refused (500, logged, the application not run) unless http_proxy is set",
    async () => {
      const proxied = await runCgi(CGI_APP, { method: "GET", target: "/httpoxy", headers: [["Proxy", EVIL]] }, { env: { NODE_USE_ENV_PROXY: "1" } });
      expect(proxied.exitCode).toBe(0);
      expect(proxied.response.status).toBe(500);
      expect(proxied.response.body.toString()).not.toContain("evil");
      expect(proxied.stderr).toMatch(/http_proxy/);
      // a proxy set by the administrator in lower case wins over HTTP_PROXY in node: then it is safe
      const configured = await runCgi(
        CGI_APP,
        { method: "GET", target: "/httpoxy", headers: [["Proxy", EVIL]] },
        { env: { NODE_USE_ENV_PROXY: "1", http_proxy: "http://127.0.0.1:9" } },
      );
      expect(configured.response.status).toBe(200);
      // without a Proxy header nothing changes
      const plain = await runCgi(CGI_APP, { method: "GET", target: "/hello" }, { env: { NODE_USE_ENV_PROXY: "1" } });
      expect(plain.response.status).toBe(200);
    },
    60000,
  );
});
