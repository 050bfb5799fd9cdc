// One way to ask each socket backend for a request-target with given header fields, as its
// front server would, for the limit tests that run the same checks on every backend.
import { connect } from "node:net";
import { scgiRequest } from "./scgi-client.js";
import { FastcgiClient, nginxParams, parseCgiResponse } from "./fastcgi-client.js";
import { AjpSocket, exchange, forwardRequest, splitTarget } from "./ajp-client.js";
import { encodeHead } from "../../servers/scgi/index.js";
import { beginRequestRecord, encodePairs, encodeRecord, PARAMS, RESPONDER, STDIN } from "../../servers/fastcgi/records.js";

export type SocketBackend = "http" | "scgi" | "fastcgi" | "ajp";
export const SOCKET_BACKENDS: readonly SocketBackend[] = ["http", "scgi", "fastcgi", "ajp"];

/** A response as the limit tests look at it. */
export interface Answer {
  status: number;
  body: string;
}

/**
 * One GET of `target` with exactly `headers` as its header fields (the clients add none), on a
 * new connection, through `backend`'s protocol.
 *
 * @example await ask("fastcgi", port, "/x", [["Host", "x"]]); // { status: 200, body: "..." }
 */
export async function ask(backend: SocketBackend, port: number, target: string, headers: [string, string][]): Promise<Answer> {
  if (backend === "http") {
    const reply = await untilClosed(port, `GET ${target} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`, true);
    const split = reply.indexOf("\r\n\r\n");
    return { status: Number(reply.slice(9, 12)), body: split === -1 ? "" : reply.slice(split + 4) };
  }
  if (backend === "scgi") {
    const answered = await scgiRequest({ port }, { method: "GET", target, headers });
    return { status: answered.status, body: answered.body.toString() };
  }
  if (backend === "fastcgi") {
    const client = await FastcgiClient.connect({ port });
    const result = await client.request({ params: nginxParams("GET", target, headers) });
    await client.close();
    const parsed = parseCgiResponse(result.stdout);
    return { status: parsed.status, body: parsed.body.toString() };
  }
  const socket = await AjpSocket.connect(port);
  const { uri, query } = splitTarget(target);
  const answered = await exchange(socket, { method: "GET", uri, query, headers });
  socket.destroy();
  return { status: answered.status, body: answered.body.toString() };
}

/** The bytes of one whole GET of `path` (Host only) in `backend`'s protocol. */
export function requestBytes(backend: SocketBackend, path: string): Buffer {
  if (backend === "http") return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  const variables: [string, string][] = [
    ["REQUEST_METHOD", "GET"],
    ["REQUEST_URI", path],
    ["SCRIPT_NAME", ""],
    ["QUERY_STRING", ""],
    ["HTTP_HOST", "x"],
  ];
  if (backend === "scgi") return encodeHead(variables, 0);
  if (backend === "fastcgi") {
    return Buffer.concat([beginRequestRecord(1, RESPONDER, 0), encodeRecord(PARAMS, 1, encodePairs(variables)), encodeRecord(PARAMS, 1), encodeRecord(STDIN, 1)]);
  }
  return forwardRequest({ method: "GET", uri: path, headers: [["Host", "x"]] });
}

/**
 * Writes `bytes` on a new connection and resolves with all that came back once the server
 * closed it (`closeAfterReply`: once it sent anything and went quiet for 200 ms, for a
 * keep-alive protocol).
 */
export function untilClosed(port: number, bytes: string | Buffer, closeAfterReply = false): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    socket.on("data", (c: Buffer) => {
      chunks.push(c);
      if (!closeAfterReply) return;
      clearTimeout(timer);
      timer = setTimeout(() => socket.destroy(), 200);
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
    socket.write(bytes);
  });
}

/**
 * Resolves once `check()` holds, looking every 10 ms; fails after 10 s naming `what` (no loop
 * outlives its test).
 *
 * @example await until(() => seen.length > 0, "the handler's abort");
 */
export async function until(check: () => boolean | Promise<boolean>, what = "the condition"): Promise<void> {
  const deadline = Date.now() + 10000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
