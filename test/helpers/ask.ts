// One GET over a backend's own protocol, on a new connection, for the tests that run programs:
// the answer as "STATUS BODY", or a rejection when no whole response came back.
import { send } from "./http.js";
import { scgiRequest } from "./scgi-client.js";
import { FastcgiClient, nginxParams, parseCgiResponse } from "./fastcgi-client.js";
import { AjpSocket, exchange } from "./ajp-client.js";

/** The backends a test can reach with `ask`. */
export type AskableBackend = "http" | "scgi" | "fastcgi" | "ajp";

/**
 * Sends `GET path` to the backend on 127.0.0.1:`port` and resolves with `"200 body"`.
 *
 * @example expect(await ask("scgi", port, "/version")).toBe("200 v1");
 */
export async function ask(backend: AskableBackend, port: number, path: string): Promise<string> {
  if (backend === "http") {
    const res = await send(port, "GET", path);
    return `${res.status} ${res.body.toString()}`;
  }
  if (backend === "scgi") {
    const res = await scgiRequest({ port }, { method: "GET", target: path });
    return `${res.status} ${res.body.toString()}`;
  }
  if (backend === "ajp") {
    const socket = await AjpSocket.connect(port);
    try {
      return (await ajpGet(socket, path)).answer;
    } finally {
      socket.destroy();
    }
  }
  const client = await FastcgiClient.connect({ port });
  try {
    const result = await client.request({ params: nginxParams("GET", path) });
    if (result.appStatus === null) throw new Error(`the connection closed before END_REQUEST (${result.stdout.length} bytes of output)`);
    const res = parseCgiResponse(result.stdout);
    return `${res.status} ${res.body.toString()}`;
  } finally {
    client.socket.destroy();
  }
}

/** `GET path` on an AJP connection as Apache sends it: the answer, and whether the backend lets the connection be reused. */
async function ajpGet(socket: AjpSocket, path: string): Promise<{ answer: string; reuse: boolean }> {
  const res = await exchange(socket, { method: "GET", uri: path, headers: [["Host", "127.0.0.1"]] });
  if (res.reuse === null) throw new Error(`the connection closed before END_RESPONSE (status ${res.status}, ${res.body.length} body bytes)`);
  return { answer: `${res.status} ${res.body.toString()}`, reuse: res.reuse };
}

/**
 * An AJP client that keeps its connection for request after request for as long as the backend
 * says it may be reused (END_RESPONSE's reuse flag), as Apache's connection pool does, and opens
 * another once the backend ended it. A request on a connection that closes before its
 * END_RESPONSE is a rejection, as it is a 503 from Apache.
 *
 * @example const kept = new KeptAjpConnection(port); await kept.ask("/version"); kept.close();
 */
export class KeptAjpConnection {
  private readonly port: number;
  private socket: AjpSocket | null = null;

  constructor(port: number) {
    this.port = port;
  }

  /** Sends `GET path`; resolves with `"STATUS BODY"`. */
  async ask(path: string): Promise<string> {
    // Apache checks a pooled connection before it reuses it: one the backend closed meanwhile is not.
    if (this.socket === null || this.socket.isClosed) this.socket = await AjpSocket.connect(this.port);
    const socket = this.socket;
    try {
      const { answer, reuse } = await ajpGet(socket, path);
      if (!reuse) this.close();
      return answer;
    } catch (err) {
      this.close();
      throw err;
    }
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }
}
