// CR, LF and NUL in a response header name or value an application sets: an error answered with
// a 500 (and logged), never a split response, on every backend (http writes the head itself,
// scgi, fastcgi and cgi write a CGI head, ajp codes names in a packet).
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { setErrorLogger } from "../../vsgi/index.js";
import { distPath } from "../helpers/process.js";
import { securityApp, INJECTIONS } from "./app.js";
import { startBackend, type Running } from "./gateways.js";

const CGI = distPath("test/security/security-cgi-app.js");
const NAMES = Object.keys(INJECTIONS);

describe.each(["http", "scgi", "fastcgi", "ajp", "cgi"] as const)("%s", (backend) => {
  let app: Running;
  const logged: string[] = [];
  beforeAll(async () => {
    setErrorLogger((message, error) => logged.push(`${message} ${(error as Error | undefined)?.message ?? ""}`));
    app = await startBackend(backend, securityApp(), CGI);
  });
  afterAll(async () => {
    await app.stop();
    setErrorLogger((message, error) => console.error(message, error));
  });

  it.each(NAMES)("%s: a 500 with one head, no injected line, the error logged", async (name) => {
    logged.length = 0;
    const answer = await app.request("GET", `/inject/${name}`);
    expect(answer.status).toBe(500);
    const text = answer.raw.toString("latin1");
    // the injected text never starts a line of its own, nor follows a NUL
    expect(text).not.toMatch(/[\r\n\0]Injected/);
    expect(answer.headers.has("injected")).toBe(false);
    expect(answer.headers.get("x-test")).toBeNull();
    expect(answer.body.toString()).toBe("Internal Server Error");
    if (backend === "http") expect((answer as { statuses?: number[] }).statuses).toEqual([500]);
    if (backend === "cgi") expect((answer as unknown as { stderr: string }).stderr).toMatch(/invalid/i);
    else expect(logged.join("\n")).toMatch(/invalid/i);
  }, 30000);

  it("a clean header is sent (the test can fail)", async () => {
    const answer = await app.request("GET", "/count/plain");
    expect(answer.status).toBe(200);
  }, 30000);
});
