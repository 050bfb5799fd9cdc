import { describe, it, expect, afterAll } from "@jest/globals";
import { createServer, connect, type Socket } from "node:net";
import { once } from "node:events";
import { conformance } from "./conformance.js";
import { fastcgiTransport } from "../helpers/fastcgi-client.js";
import { scgiTransport } from "../helpers/scgi-client.js";
import { readIntoSharedBuffer } from "../../vsgi/index.js";

// The backends that read into a buffer shared by their connections (fastcgi, scgi), run again
// with that turned off: the path they take on a runtime that lacks node's `onread` fields, where
// each read is a chunk of its own delivered by 'data' events. The setting is read at the first
// accepted connection, which comes after this line (this file has its own module instances).
const previous = process.env.VSGI_SHARED_READS;
process.env.VSGI_SHARED_READS = "0";
afterAll(() => {
  if (previous === undefined) delete process.env.VSGI_SHARED_READS;
  else process.env.VSGI_SHARED_READS = previous;
});

describe("reads through 'data' events", () => {
  it("is what the backends below use: shared reads are off in this file", async () => {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const client = connect((server.address() as { port: number }).port, "127.0.0.1");
    const [accepted] = (await once(server, "connection")) as [Socket];
    expect(readIntoSharedBuffer(accepted, () => {})).toBe(false);
    accepted.destroy();
    client.destroy();
    await new Promise((r) => server.close(r));
  });
});

conformance({ ...fastcgiTransport("keep-conn"), name: "fastcgi (keep-conn), reads through 'data' events" });
conformance({ ...scgiTransport, name: "scgi, reads through 'data' events" });
