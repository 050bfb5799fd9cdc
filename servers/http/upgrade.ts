import type { IncomingMessage } from "node:http";
import { Readable, type Duplex } from "node:stream";

/** How an upgrade request's body arrives: none, `Content-Length` bytes, or a framing we do not read. */
export type UpgradeBody = { kind: "none" } | { kind: "length"; length: number } | { kind: "unsupported" };

/**
 * The body framing of a request node handed to 'upgrade'. node stops parsing at the head of
 * such a request and leaves the body on the socket, including for the upgrades no one takes
 * (curl's `--http2` sends `Upgrade: h2c` on a POST with its body): we read a `Content-Length`
 * body ourselves; a chunked one would need a second HTTP parser.
 *
 * @example upgradeBodyOf(nodeReq); // { kind: "none" } for a websocket handshake
 */
export function upgradeBodyOf(nodeReq: IncomingMessage): UpgradeBody {
  if (nodeReq.headers["transfer-encoding"] !== undefined) return { kind: "unsupported" };
  const length = nodeReq.headers["content-length"];
  // node already refused a malformed or repeated Content-Length with 400.
  if (length === undefined || length === "0") return { kind: "none" };
  return { kind: "length", length: Number(length) };
}

/**
 * The body of an upgrade request: the bytes node read past the head (`head`), then the socket's,
 * `length` in all. What follows belongs to the protocol the client hoped for and is dropped: the
 * connection closes after the response.
 *
 * @example const body = upgradeBody(5, head, socket);
 */
export function upgradeBody(length: number, head: Buffer, socket: Duplex): Readable {
  let left = length;
  const onData = (chunk: Buffer): void => {
    if (chunk.length >= left) {
      const last = chunk.subarray(0, left);
      left = 0;
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.pause();
      body.push(last);
      body.push(null);
      return;
    }
    left -= chunk.length;
    if (!body.push(chunk)) socket.pause();
  };
  const onClose = (): void => {
    if (left > 0) body.destroy(new Error("the client closed the connection before the end of the body"));
  };
  const body = new Readable({
    read() {
      if (left > 0) socket.resume();
    },
  });
  if (head.length > 0) onData(head);
  if (left > 0) {
    socket.pause();
    socket.on("data", onData);
    socket.on("close", onClose);
  }
  return body;
}
