// One way to send a hand-made request through each backend, as the security tests need: raw
// HTTP bytes, raw CGI variables over SCGI, FastCGI and a CGI process (what a front server would
// pass, spelled the ways front servers spell paths), raw AJP FORWARD_REQUESTs.
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { Headers } from "../../vsgi/index.js";
import { encodeHead } from "../../servers/scgi/wire.js";
import { FastcgiClient, parseCgiResponse as parseFastcgiStdout } from "../helpers/fastcgi-client.js";
import { AjpSocket, exchange as ajpExchange, type ForwardSpec } from "../helpers/ajp-client.js";
import { parseCgiResponse } from "../helpers/cgi-client.js";

/** An answer, whatever the protocol; `status` 0 when the connection closed without one. */
export interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
  /** Everything received, head included (a leak may hide in a header too). */
  raw: Buffer;
}

const NONE: Answer = { status: 0, headers: new Headers(null, false), body: Buffer.alloc(0), raw: Buffer.alloc(0) };

/** Reads everything until the peer closes (or `idleMs` without data). */
function collect(port: number, bytes: Buffer | string, idleMs = 2000, localAddress?: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1", ...(localAddress !== undefined ? { localAddress } : {}) });
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks));
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(finish, idleMs);
    };
    socket.on("connect", () => {
      socket.write(bytes);
      arm();
    });
    socket.on("data", (c: Buffer) => {
      chunks.push(c);
      arm();
    });
    socket.on("close", finish);
    socket.on("error", finish);
  });
}

/** Parses HTTP/1.1 responses off raw bytes: each status line, the first one's headers and body. */
export function parseHttp(raw: Buffer): Answer & { statuses: number[] } {
  const text = raw.toString("latin1");
  const statuses = [...text.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
  const end = text.indexOf("\r\n\r\n");
  const headers = new Headers(null, false);
  if (end !== -1) {
    for (const line of text.slice(0, end).split("\r\n").slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
    }
  }
  return { status: statuses[0] ?? 0, statuses, headers, body: end === -1 ? Buffer.alloc(0) : raw.subarray(end + 4), raw };
}

/**
 * Sends raw bytes to the http backend and parses what comes back (every response, if several).
 *
 * @example const answer = await httpRaw(port, "GET /../x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
 */
export async function httpRaw(port: number, bytes: Buffer | string, idleMs = 2000): Promise<Answer & { statuses: number[] }> {
  return parseHttp(await collect(port, bytes, idleMs));
}

function cgiAnswer(raw: Buffer): Answer {
  if (raw.length === 0) return { ...NONE, raw };
  try {
    return { ...parseCgiResponse(raw), raw };
  } catch {
    return { ...NONE, raw };
  }
}

/** The variables every request carries besides its path ones. */
export function baseVariables(method = "GET"): [string, string][] {
  return [
    ["GATEWAY_INTERFACE", "CGI/1.1"],
    ["SERVER_PROTOCOL", "HTTP/1.1"],
    ["SERVER_NAME", "127.0.0.1"],
    ["SERVER_PORT", "80"],
    ["REMOTE_ADDR", "127.0.0.1"],
    ["REQUEST_METHOD", method],
    ["HTTP_HOST", "localhost"],
  ];
}

/**
 * Sends one request over SCGI with exactly these variables (and `body`), returns the answer.
 *
 * @example await scgiRaw(port, [...baseVariables(), ["REQUEST_URI", "/x"]]);
 */
export async function scgiRaw(port: number, variables: [string, string][], body: Buffer = Buffer.alloc(0), contentLength = body.length): Promise<Answer> {
  return cgiAnswer(await collect(port, Buffer.concat([encodeHead(variables, contentLength), body])));
}

/**
 * Sends one request over FastCGI (its own connection, no keep-conn) with exactly these variables.
 *
 * @example await fastcgiRaw(port, [...baseVariables(), ["REQUEST_URI", "/x"]]);
 */
export async function fastcgiRaw(port: number, variables: [string, string][], body?: Buffer): Promise<Answer> {
  const client = await FastcgiClient.connect({ port });
  try {
    const result = await client.request({ params: variables, keepConn: false, ...(body !== undefined ? { body } : {}) });
    if (result.stdout.length === 0) return { ...NONE };
    return { ...parseFastcgiStdout(result.stdout), raw: result.stdout };
  } catch {
    return { ...NONE };
  } finally {
    client.socket.destroy();
  }
}

/**
 * Runs a CGI program with exactly these variables as its environment (plus PATH and `extra`).
 *
 * @example await cgiRaw(script, [...baseVariables(), ["REQUEST_URI", "/x"]]);
 */
export function cgiRaw(script: string, variables: [string, string][], extra: Record<string, string> = {}, stdin: Buffer = Buffer.alloc(0)): Promise<Answer & { stderr: string }> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", ...extra };
  for (const [name, value] of variables) env[name] = value;
  const child = spawn(process.execPath, [script], { env, stdio: ["pipe", "pipe", "pipe"] });
  child.stdin.on("error", () => undefined);
  child.stdin.end(stdin);
  const out: Buffer[] = [];
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => out.push(c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  return new Promise((resolve) => {
    child.on("close", () => resolve({ ...cgiAnswer(Buffer.concat(out)), stderr }));
  });
}

/**
 * Sends one FORWARD_REQUEST (on its own connection) and returns the answer.
 *
 * @example await ajpRaw(port, { method: "GET", uri: "/x", headers: [["Host", "h"]] });
 */
export async function ajpRaw(port: number, spec: ForwardSpec, body?: Buffer): Promise<Answer> {
  const socket = await AjpSocket.connect(port);
  try {
    const result = await ajpExchange(socket, spec, body);
    return { status: result.status, headers: result.headers, body: result.body, raw: result.body };
  } catch {
    return { ...NONE };
  } finally {
    socket.destroy();
  }
}

/** Percent-decodes every escape to bytes (a malformed one stays as it is), read as UTF-8 (U+FFFD for bad bytes), as a string-based front server would. */
export function percentDecode(text: string, keepSlash = false): string {
  const bytes: number[] = [];
  const raw = Buffer.from(text, "utf8");
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === 0x25 && i + 2 < raw.length + 0 && /^[0-9a-fA-F]{2}$/.test(String.fromCharCode(raw[i + 1]!, raw[i + 2]!))) {
      const byte = parseInt(String.fromCharCode(raw[i + 1]!, raw[i + 2]!), 16);
      if (keepSlash && byte === 0x2f) {
        bytes.push(0x25, raw[i + 1]!, raw[i + 2]!);
      } else bytes.push(byte);
      i += 2;
    } else bytes.push(c);
  }
  return new TextDecoder("utf-8", { fatal: false }).decode(Buffer.from(bytes));
}

/** How a front server may spell one request's path in CGI variables. */
export interface PathSpelling {
  name: string;
  variables: [string, string][];
}

/**
 * The path variables front servers send for `target`: REQUEST_URI raw with PATH_INFO decoded
 * (lighttpd, Apache), only a decoded PATH_INFO, only a decoded SCRIPT_NAME (nginx without
 * REQUEST_URI in its params), mounted at /app, and mounted with a REQUEST_URI that disagrees
 * with SCRIPT_NAME (the backend then trusts PATH_INFO). Targets that are no origin-form path
 * only get the raw spelling.
 *
 * @example pathSpellings("/%2e%2e/secret.txt").map((s) => s.name);
 */
export function pathSpellings(target: string): PathSpelling[] {
  const q = target.indexOf("?");
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? "" : target.slice(q + 1);
  const spellings: PathSpelling[] = [
    {
      name: "REQUEST_URI raw, PATH_INFO decoded but %2F",
      variables: [["REQUEST_URI", target], ["SCRIPT_NAME", ""], ["PATH_INFO", path.startsWith("/") ? percentDecode(path, true) : path], ["QUERY_STRING", query]],
    },
  ];
  if (!path.startsWith("/")) return spellings;
  const decoded = percentDecode(path);
  spellings.push(
    { name: "PATH_INFO decoded, no REQUEST_URI", variables: [["SCRIPT_NAME", ""], ["PATH_INFO", decoded], ["QUERY_STRING", query]] },
    { name: "SCRIPT_NAME decoded, no PATH_INFO nor REQUEST_URI (nginx)", variables: [["SCRIPT_NAME", decoded], ["QUERY_STRING", query]] },
    {
      name: "mounted at /app",
      variables: [["REQUEST_URI", "/app" + target], ["SCRIPT_NAME", "/app"], ["PATH_INFO", decoded], ["QUERY_STRING", query]],
    },
    {
      name: "mounted at /app, REQUEST_URI not under it",
      variables: [["REQUEST_URI", target], ["SCRIPT_NAME", "/app"], ["PATH_INFO", decoded], ["QUERY_STRING", query]],
    },
  );
  return spellings;
}

/**
 * Runs `tasks` with at most `width` at a time (CGI spawns a process per request).
 *
 * @example await inBatches(targets.map((t) => () => send(t)), 4);
 */
export async function inBatches<T>(tasks: (() => Promise<T>)[], width: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, tasks.length) }, worker));
  return results;
}

/** A backend running an application, reached as its front server would. */
export interface Running {
  name: string;
  request(method: string, path: string, body?: Buffer, headers?: [string, string][]): Promise<Answer>;
  /** The port it listens on (0 for cgi). */
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts `backend` with `handler` (cgi: runs `cgiScript` per request instead) and returns a
 * client that speaks its protocol with plain variables or headers.
 *
 * @example const app = await startBackend("scgi", securityApp(), CGI); await app.request("GET", "/x");
 */
export async function startBackend(
  backend: "http" | "scgi" | "fastcgi" | "ajp" | "cgi",
  handler: import("../../vsgi/index.js").HandlerLike,
  cgiScript: string,
): Promise<Running> {
  const variables = (method: string, path: string, headers: [string, string][], body?: Buffer): [string, string][] => {
    const vars = [...baseVariables(method), ["REQUEST_URI", path], ["SCRIPT_NAME", ""], ["PATH_INFO", path.split("?")[0]!]] as [string, string][];
    if (body !== undefined) vars.push(["CONTENT_LENGTH", String(body.length)]);
    for (const [name, value] of headers) {
      if (name.toLowerCase() === "content-type") vars.push(["CONTENT_TYPE", value]);
      else vars.push(["HTTP_" + name.toUpperCase().replace(/-/g, "_"), value]);
    }
    return vars;
  };
  if (backend === "cgi") {
    return {
      name: backend,
      port: 0,
      request: (method, path, body, headers = []) => cgiRaw(cgiScript, variables(method, path, headers, body), {}, body),
      stop: async () => undefined,
    };
  }
  const { Server } = await import("../../vsgi/index.js");
  const server = await Server.load(backend, { handler });
  await server.listen({ port: 0, host: "127.0.0.1" });
  const port = Number(server.uris[0]!.port);
  const stop = (): Promise<void> => server.stop();
  switch (backend) {
    case "http":
      return {
        name: backend,
        port,
        stop,
        request: (method, path, body, headers = []) => {
          const lines = [`${method} ${path} HTTP/1.1`, "Host: localhost", "Connection: close", ...headers.map(([n, v]) => `${n}: ${v}`)];
          if (body !== undefined) lines.push(`Content-Length: ${body.length}`);
          return httpRaw(port, Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"), body ?? Buffer.alloc(0)]));
        },
      };
    case "scgi":
      return { name: backend, port, stop, request: (method, path, body, headers = []) => scgiRaw(port, variables(method, path, headers, body), body) };
    case "fastcgi":
      return { name: backend, port, stop, request: (method, path, body, headers = []) => fastcgiRaw(port, variables(method, path, headers, body), body) };
    case "ajp":
      return {
        name: backend,
        port,
        stop,
        request: (method, path, body, headers = []) => {
          const q = path.indexOf("?");
          const all: [string, string][] = [["Host", "localhost"], ...headers];
          if (body !== undefined) all.push(["Content-Length", String(body.length)]);
          return ajpRaw(port, { method, uri: q === -1 ? path : path.slice(0, q), query: q === -1 ? null : path.slice(q + 1), headers: all }, body);
        },
      };
  }
}
