// Error responses reveal nothing: a handler that throws an Error with a path in its message, a
// VsgiError (with or without a 5xx status), a thrown string, object or null, a bad JSON body:
// on every backend the answer carries no stack frame, no absolute path, no internal message.
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { setErrorLogger } from "../../vsgi/index.js";
import { distPath } from "../helpers/process.js";
import { securityApp, ERRORS } from "./app.js";
import { startBackend, type Running } from "./gateways.js";

const CGI = distPath("test/security/security-cgi-app.js");

/** The status each error must be answered with. */
const EXPECTED: Record<keyof typeof ERRORS, number> = {
  "error-with-path": 500,
  "async-error": 500,
  "vsgi-error": 500,
  "vsgi-error-500": 500,
  "vsgi-error-503": 503,
  string: 500,
  object: 500,
  null: 500,
  "json-body": 400,
  "error-with-cause": 500,
};

/** What an answer must not contain: the message's path, any stack frame, this machine's paths. */
const REVEALING = [/secret-path/, /\/srv\//, /\bat .*:\d+:\d+/, /node:internal/, /file:\/\//, /Error:/, /ENOENT/, /Cannot read/];

describe.each(["http", "scgi", "fastcgi", "ajp", "cgi"] as const)("%s", (backend) => {
  let app: Running;
  beforeAll(async () => {
    // the errors are logged, with their stacks: for the operator, not the client
    setErrorLogger(() => undefined);
    app = await startBackend(backend, securityApp(), CGI);
  });
  afterAll(async () => {
    await app.stop();
    setErrorLogger((message, error) => console.error(message, error));
  });

  it.each(Object.keys(ERRORS))("%s: the status alone, nothing of the error", async (name) => {
    const body = name === "json-body" ? Buffer.from('{"a": tru') : undefined;
    const headers: [string, string][] = name === "json-body" ? [["Content-Type", "application/json"]] : [];
    const answer = await app.request("POST", `/error/${name}`, body, headers);
    expect(answer.status).toBe(EXPECTED[name]);
    const text = answer.raw.toString("latin1") + answer.body.toString("latin1");
    for (const pattern of REVEALING) expect([name, pattern.source, pattern.test(text)]).toEqual([name, pattern.source, false]);
    expect(text).not.toContain(process.cwd());
    if (EXPECTED[name]! >= 500) expect(answer.body.toString()).toMatch(/^(Internal Server Error|Service Unavailable)$/);
  }, 30000);
});
