// Plays the front server for the cgi backend: builds the CGI variables as lighttpd and Apache do,
// spawns the CGI program (a real node process) with them, feeds the body on stdin and parses the
// CGI response from stdout.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { Headers } from "../../vsgi/index.js";
import type { ConformanceClient, ConformanceRequest, ConformanceResponse, Transport } from "../servers/conformance.js";
import { distPath } from "./process.js";

/** What the front server knows besides the request: where it listens, where the app is mounted. */
export interface FrontServerSide {
  serverName?: string;
  serverPort?: number;
  /** The mount prefix, sent as SCRIPT_NAME with the rest of the path as PATH_INFO. */
  scriptName?: string;
  remoteAddress?: string;
  https?: boolean;
}

function decodePath(path: string): string {
  // As lighttpd does: decoded, except %2F which would change the segments.
  return path
    .split(/%2f/i)
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    })
    .join("%2F");
}

/**
 * The CGI variables for a request (RFC 3875 section 4.1), in the order a front server sends
 * them; a repeated request header gives the variable twice (as nginx does), `combine` joins them
 * instead (as a process environment must).
 *
 * @example cgiVariables({ method: "GET", target: "/a?b=1" }, 0, { serverPort: 80 });
 */
export function cgiVariables(
  request: ConformanceRequest,
  contentLength: number | null,
  side: FrontServerSide = {},
): [string, string][] {
  const q = request.target.indexOf("?");
  const path = q === -1 ? request.target : request.target.slice(0, q);
  const query = q === -1 ? "" : request.target.slice(q + 1);
  const prefix = side.scriptName ?? "";
  const vars: [string, string][] = [];
  if (contentLength !== null) vars.push(["CONTENT_LENGTH", String(contentLength)]);
  vars.push(
    ["GATEWAY_INTERFACE", "CGI/1.1"],
    ["SERVER_PROTOCOL", "HTTP/1.1"],
    ["SERVER_SOFTWARE", "valum-test-client"],
    ["SERVER_NAME", side.serverName ?? "127.0.0.1"],
    ["SERVER_ADDR", "127.0.0.1"],
    ["SERVER_PORT", String(side.serverPort ?? 80)],
    ["REMOTE_ADDR", side.remoteAddress ?? "127.0.0.1"],
    ["REMOTE_PORT", "54321"],
    ["REQUEST_METHOD", request.method],
    ["REQUEST_URI", request.target],
    ["REQUEST_SCHEME", side.https ? "https" : "http"],
    ["QUERY_STRING", query],
    ["SCRIPT_NAME", prefix],
    ["PATH_INFO", decodePath(path.slice(prefix.length))],
    ["DOCUMENT_ROOT", "/srv/www"],
  );
  if (side.https) vars.push(["HTTPS", "on"]);
  let host = false;
  for (const [name, value] of request.headers ?? []) {
    const lower = name.toLowerCase();
    if (lower === "content-length") continue;
    if (lower === "content-type") {
      vars.push(["CONTENT_TYPE", value]);
      continue;
    }
    if (lower === "host") host = true;
    vars.push(["HTTP_" + name.toUpperCase().replace(/-/g, "_"), value]);
  }
  if (!host) vars.push(["HTTP_HOST", `${side.serverName ?? "127.0.0.1"}:${side.serverPort ?? 80}`]);
  return vars;
}

/** Resolves when `stream` drains or closes, leaving no listener behind. */
export function writable(stream: NodeJS.WritableStream & { destroyed: boolean }): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}

/** The declared length of a request body: its Content-Length header, or the Buffer's size. */
export function declaredLength(request: ConformanceRequest): number | null {
  for (const [name, value] of request.headers ?? []) if (name.toLowerCase() === "content-length") return Number(value);
  if (Buffer.isBuffer(request.body)) return request.body.length;
  return null;
}

/** A body of unknown length, gathered (as lighttpd and Apache buffer it before a CGI or SCGI request). */
export async function gather(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Where the head of a CGI response ends: the offset of the body, or -1. */
export function headEnd(bytes: Buffer): { head: number; body: number } | null {
  const crlf = bytes.indexOf("\r\n\r\n");
  const lf = bytes.indexOf("\n\n");
  if (crlf === -1 && lf === -1) return null;
  if (lf === -1 || (crlf !== -1 && crlf < lf)) return { head: crlf, body: crlf + 4 };
  return { head: lf, body: lf + 2 };
}

/**
 * Parses a CGI response head (RFC 3875 section 6): the status from `Status:` (302 for a lone
 * `Location:`, else 200), the other header fields in order.
 *
 * @example parseCgiHead("Content-Type: text/plain\r\nStatus: 404 Not Found");
 */
export function parseCgiHead(head: string): { status: number; headers: Headers } {
  const headers = new Headers(null, false);
  let status: number | null = null;
  for (const line of head.split(/\r?\n/)) {
    if (line.length === 0) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error(`malformed CGI header line ${JSON.stringify(line)}`);
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") {
      if (status !== null) throw new Error("two Status header fields");
      const m = /^(\d{3})(?: (.*))?$/.exec(value);
      if (m === null) throw new Error(`malformed Status ${JSON.stringify(value)}`);
      status = Number(m[1]);
    } else {
      headers.append(name, value);
    }
  }
  if (status === null) status = headers.has("location") ? 302 : 200;
  return { status, headers };
}

/** Splits a whole CGI response into status, headers and body. */
export function parseCgiResponse(bytes: Buffer): ConformanceResponse {
  const end = headEnd(bytes);
  if (end === null) throw new Error(`no end of head in a CGI response of ${bytes.length} bytes: ${JSON.stringify(bytes.subarray(0, 200).toString("latin1"))}`);
  const { status, headers } = parseCgiHead(bytes.subarray(0, end.head).toString("latin1"));
  return { status, headers, body: bytes.subarray(end.body) };
}

/** How a CGI program ran. */
export interface CgiRun {
  response: ConformanceResponse;
  /** Everything written on stdout. */
  stdout: Buffer;
  stderr: string;
  exitCode: number | null;
  signal: string | null;
}

/** How `runCgi` plays the front server. */
export interface CgiRunOptions {
  side?: FrontServerSide;
  /** Variables to add, or to remove (undefined). */
  env?: Record<string, string | undefined>;
  /** Command-line arguments (Apache passes a query without `=` as arguments, RFC 3875 4.4). */
  args?: string[];
  /** Send no CONTENT_LENGTH (as nginx and Apache do for a chunked body): the program reads to EOF. */
  noContentLength?: boolean;
}

/**
 * Runs a CGI program for one request, as a front server does: the variables as its whole
 * environment (plus PATH), the body on stdin, the response from stdout. With `abortAfter`, stops
 * reading (closes the pipe) after that many body bytes, as a front server whose client left.
 *
 * @example const { response } = await runCgi(distPath("test/helpers/cgi-app.js"), { method: "GET", target: "/hello" });
 */
export async function runCgi(script: string, request: ConformanceRequest, options: CgiRunOptions = {}): Promise<CgiRun> {
  let body = request.body;
  let length = declaredLength(request);
  if (body !== undefined && length === null && !options.noContentLength) {
    body = await gather(body as AsyncIterable<Buffer>);
    length = body.length;
  }
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  for (const [name, value] of cgiVariables(request, options.noContentLength ? null : length, options.side)) {
    const previous = env[name];
    env[name] = previous === undefined ? value : previous + (name === "HTTP_COOKIE" ? "; " : ", ") + value;
  }
  Object.assign(env, options.env);
  for (const name of Object.keys(env)) if (env[name] === undefined) delete env[name];
  const child = spawn(process.execPath, [script, ...(options.args ?? [])], { env, stdio: ["pipe", "pipe", "pipe"] });
  const exited = once(child, "exit") as Promise<[number | null, string | null]>;
  const stdin = child.stdin!;
  stdin.on("error", () => undefined); // EPIPE: the program did not read the whole body
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));

  const feeding = (async () => {
    if (body === undefined) return stdin.end();
    if (Buffer.isBuffer(body)) return stdin.end(body);
    for await (const chunk of body) {
      if (stdin.destroyed) return;
      if (!stdin.write(chunk)) await writable(stdin);
    }
    stdin.end();
  })();

  const chunks: Buffer[] = [];
  let received = 0;
  let bodyStart: number | null = null;
  const stdout = child.stdout!;
  await new Promise<void>((resolve, reject) => {
    stdout.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (request.abortAfter === undefined) return;
      if (bodyStart === null) {
        const end = headEnd(Buffer.concat(chunks));
        if (end !== null) bodyStart = end.body;
      }
      if (bodyStart !== null && received - bodyStart >= request.abortAfter) {
        stdout.destroy();
        resolve();
      }
    });
    stdout.on("end", resolve);
    stdout.on("error", reject);
  });
  await feeding;
  const [exitCode, signal] = await exited;
  const all = Buffer.concat(chunks);
  let response: ConformanceResponse;
  try {
    response = parseCgiResponse(all);
  } catch (err) {
    throw new Error(`${(err as Error).message} (exit ${exitCode ?? signal}, stderr: ${stderr})`);
  }
  return { response, stdout: all, stderr, exitCode, signal };
}

/** The compiled CGI program the tests run: the echo application on the cgi backend. */
export const CGI_APP = distPath("test/helpers/cgi-app.js");

/**
 * The cgi backend, for the conformance suite: a real node process per request, as lighttpd's
 * mod_cgi and Apache's mod_cgi run it. A program that exits other than 0 fails the request.
 */
export const cgiTransport: Transport = {
  name: "cgi",
  processPerRequest: true,
  async start(): Promise<ConformanceClient> {
    return {
      async request(r: ConformanceRequest): Promise<ConformanceResponse> {
        const run = await runCgi(CGI_APP, r);
        if (run.exitCode !== 0) {
          throw new Error(`the CGI program exited with ${run.exitCode ?? run.signal}: ${run.stderr}`);
        }
        return run.response;
      },
      async close(): Promise<void> {},
    };
  },
};
