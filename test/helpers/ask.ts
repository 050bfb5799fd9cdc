// One GET over a backend's own protocol, on a new connection, for the tests that run programs:
// the answer as "STATUS BODY", or a rejection when no whole response came back.
import { send } from "./http.js";
import { scgiRequest } from "./scgi-client.js";
import { FastcgiClient, nginxParams, parseCgiResponse } from "./fastcgi-client.js";

/** The backends a test can reach with `ask`. */
export type AskableBackend = "http" | "scgi" | "fastcgi";

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
