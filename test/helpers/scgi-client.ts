// Plays the front server for the scgi backend: the CGI variables as nginx and lighttpd send them
// (CONTENT_LENGTH first, SCGI=1, a repeated header sent twice as nginx does), over a real
// socket, the body streamed with back-pressure, the CGI response parsed as it arrives.
import { connect, type Socket } from "node:net";
import { Server } from "../../vsgi/index.js";
import { encodeHead } from "../../servers/scgi/wire.js";
import { handler } from "../../examples/echo/handler.js";
import type { ConformanceClient, ConformanceRequest, ConformanceResponse, Transport } from "../servers/conformance.js";
import { cgiVariables, declaredLength, gather, headEnd, writable, parseCgiHead, type FrontServerSide } from "./cgi-client.js";

/** Where the backend listens: a TCP port on the loopback or a UNIX socket path. */
export type ScgiTarget = { port: number; host?: string } | { path: string };

function open(target: ScgiTarget): Promise<Socket> {
  const socket = "path" in target ? connect(target.path) : connect(target.port, target.host ?? "127.0.0.1");
  return new Promise((resolve, reject) => {
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/**
 * Sends raw bytes on a new connection and returns everything the backend sends back until it
 * closes the connection.
 *
 * @example const reply = await exchange({ port }, Buffer.from("3:abc,"));
 */
export async function exchange(target: ScgiTarget, bytes: Buffer | string, options: { end?: boolean } = {}): Promise<Buffer> {
  const socket = await open(target);
  const chunks: Buffer[] = [];
  socket.on("data", (c: Buffer) => chunks.push(c));
  const closed = new Promise<void>((resolve) => {
    socket.on("close", () => resolve());
    socket.on("error", () => undefined);
  });
  socket.write(bytes);
  if (options.end) socket.end();
  await closed;
  return Buffer.concat(chunks);
}

/**
 * Sends one request over SCGI and reads the response. The body is streamed with back-pressure;
 * one of unknown length is gathered first (as lighttpd does: SCGI needs CONTENT_LENGTH). With
 * `abortAfter`, the connection is destroyed after that many response body bytes.
 *
 * @example const res = await scgiRequest({ port }, { method: "GET", target: "/hello" });
 */
export async function scgiRequest(
  target: ScgiTarget,
  request: ConformanceRequest,
  side: FrontServerSide = {},
  extra: [string, string][] = [],
): Promise<ConformanceResponse> {
  let body = request.body;
  let length = declaredLength(request);
  if (body !== undefined && length === null) {
    body = await gather(body as AsyncIterable<Buffer>);
    length = body.length;
  }
  const variables = cgiVariables(request, null, side).concat(extra);
  const socket = await open(target);
  const result = new Promise<ConformanceResponse>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let head: { status: number; headers: ConformanceResponse["headers"]; offset: number } | null = null;
    const finish = (): void => {
      const all = Buffer.concat(chunks);
      if (head === null) {
        const end = headEnd(all);
        if (end === null) return reject(new Error(`the connection closed before a response head (${all.length} bytes: ${JSON.stringify(all.toString("latin1").slice(0, 200))})`));
        head = { ...parseCgiHead(all.subarray(0, end.head).toString("latin1")), offset: end.body };
      }
      resolve({ status: head.status, headers: head.headers, body: all.subarray(head.offset) });
    };
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (request.abortAfter === undefined) return;
      if (head === null) {
        const all = Buffer.concat(chunks);
        const end = headEnd(all);
        if (end === null) return;
        head = { ...parseCgiHead(all.subarray(0, end.head).toString("latin1")), offset: end.body };
      }
      if (received - head.offset >= request.abortAfter) {
        socket.destroy();
        finish();
      }
    });
    socket.on("end", finish);
    socket.on("error", (err) => (request.abortAfter !== undefined ? undefined : reject(err)));
  });
  socket.write(encodeHead(variables, length ?? 0));
  if (body !== undefined) {
    if (Buffer.isBuffer(body)) socket.write(body);
    else {
      for await (const chunk of body) {
        if (socket.destroyed) break;
        if (!socket.write(chunk)) await writable(socket);
      }
    }
  }
  const response = await result;
  socket.destroy();
  return response;
}

/** A client for a running scgi backend, for the conformance suite. */
export function scgiClient(target: ScgiTarget, close: () => Promise<void>, side: FrontServerSide = {}): ConformanceClient {
  return {
    request: (r) => scgiRequest(target, r, side),
    close,
  };
}

/** The scgi backend on a loopback port, for the conformance suite. */
export const scgiTransport: Transport = {
  name: "scgi",
  async start() {
    const server = await Server.load("scgi", { handler });
    await server.listen({ port: 0 });
    return scgiClient({ port: Number(server.uris[0]!.port) }, () => server.stop());
  },
};
