// Server-Sent Events through the front servers (docs/middlewares/sse.md): each event must reach
// the client while the app still waits to send the next one, which only the test allows
// (the echo app's /sse and /sse-next): a buffer anywhere on the way holds event 1 back and the
// test fails instead of seeing it.
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import type { Backend } from "../../examples/deploy/templates.js";
import { openEventStream, type EventStreamClient } from "../helpers/event-stream.js";
import { HttpClient } from "./checks.js";
import type { FrontName } from "./harness.js";
import { frontServerAvailable, startPair, type PairOptions } from "./pairs.js";

/** The template's text with `from` replaced: throws when it is not there (the variant would test nothing). */
function replacing(from: RegExp, to: string): (config: string) => string {
  return (config) => {
    if (!from.test(config)) throw new Error(`the config has no ${from}:\n${config}`);
    return config.replace(from, to);
  };
}

const PAIRS: [FrontName, Backend, PairOptions, string][] = [
  ["nginx", "fastcgi", {}, "nginx + fastcgi"],
  ["lighttpd", "scgi", { spawn: true }, "lighttpd + scgi, spawned by bin-path"],
  // The ajp backend's res.flush() (an empty SEND_BODY_CHUNK) makes Apache pass each event on.
  ["apache", "ajp", { secret: "s3cr3t-sse" }, "apache + ajp"],
  // The settings docs/middlewares/sse.md gives, other than the templates' own:
  // nginx buffering on (its default): the X-Accel-Buffering: no the middleware sends turns it off.
  ["nginx", "scgi", { edit: replacing(/scgi_buffering off;/, "scgi_buffering on;") }, "nginx + scgi with scgi_buffering on"],
  ["nginx", "fastcgi", { edit: replacing(/fastcgi_buffering off;/, "fastcgi_buffering on;") }, "nginx + fastcgi with fastcgi_buffering on"],
  // lighttpd streams responses only with server.stream-response-body 1 or 2: here for the events' URL only.
  [
    "lighttpd",
    "scgi",
    { spawn: true, edit: replacing(/^server\.stream-response-body = 2$/m, '$HTTP["url"] =~ "^/sse" {\n  server.stream-response-body = 1\n}') },
    "lighttpd + scgi with stream-response-body for the events' URL only",
  ],
  // Apache's mod_proxy_fcgi holds the response without flushpackets=on.
  ["apache", "fastcgi", { edit: replacing(/ enablereuse=on$/m, " enablereuse=on flushpackets=on") }, "apache + fastcgi with flushpackets=on"],
];

let streams = 0;

function json(body: Buffer): any {
  return JSON.parse(body.toString());
}

for (const [front, backend, options, title] of PAIRS) {
  if (!frontServerAvailable(front)) {
    describe(title, () => it.skip(`${front} is not installed`, () => undefined));
    continue;
  }
  describe(`${title}: server-sent events`, () => {
    let running: Awaited<ReturnType<typeof startPair>> | undefined;
    let client: HttpClient;
    const open: EventStreamClient[] = [];

    beforeAll(async () => {
      running = await startPair(front, backend, "", options);
      client = new HttpClient(running.port);
    });
    afterAll(async () => {
      for (const s of open) s.destroy();
      client?.close();
      await running?.stop();
    });

    async function withLog(f: () => Promise<void>): Promise<void> {
      try {
        await f();
      } catch (err) {
        const log = running?.log().trim();
        if (log) (err as Error).message += `\n--- front server and app output ---\n${log.slice(-4000)}`;
        throw err;
      }
    }

    async function stream(headers: Record<string, string> = {}): Promise<{ name: string; events: EventStreamClient }> {
      const name = `${front}-${backend}-${++streams}`;
      const events = await openEventStream(running!.port, `/sse?stream=${name}`, headers);
      open.push(events);
      return { name, events };
    }

    it("delivers each event while the app waits to send the next, with the event-stream headers", () =>
      withLog(async () => {
        const { name, events } = await stream();
        expect(events.status).toBe(200);
        expect(events.headers["content-type"]).toBe("text/event-stream; charset=UTF-8");
        expect(events.headers["cache-control"]).toBe("no-cache");
        expect(events.headers["content-length"]).toBeUndefined();
        for (let n = 1; n <= 3; n++) {
          // The app sent event n and waits for /sse-next: if it is not here, something holds it back.
          const got = await events.waitEvents(n);
          expect(got.length).toBe(n);
          expect(got[n - 1]).toEqual({ type: "tick", data: `event ${n}\nline two`, lastEventId: String(n) });
          expect(json((await client.get(`/sse-next?stream=${name}`)).body).permits).toBeGreaterThanOrEqual(0);
        }
        await events.waitEvents(4);
        await client.get(`/sse-next?stream=${name}&end=1`);
        await events.waitEnd();
        expect(events.parser.events.map((e) => e.lastEventId)).toEqual(["1", "2", "3", "4"]);
      }));

    it("passes Last-Event-ID to the handler", () =>
      withLog(async () => {
        const { name, events } = await stream({ "Last-Event-ID": "41" });
        expect((await events.waitEvents(1))[0]!.lastEventId).toBe("42");
        await client.get(`/sse-next?stream=${name}&end=1`);
        await events.waitEnd();
      }));

    it("answers HEAD with the event-stream headers, without running the handler", () =>
      withLog(async () => {
        const before = json((await client.get("/seen")).body).eventStreams;
        const res = await client.request({ method: "HEAD", target: "/sse?stream=head" });
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toEqual(["text/event-stream; charset=UTF-8"]);
        expect(res.body.length).toBe(0);
        expect(json((await client.get("/seen")).body).eventStreams).toBe(before);
      }));

    it("tells the handler when the client goes away", () =>
      withLog(async () => {
        const before = json((await client.get("/seen")).body).eventStreamsLeft;
        const { name, events } = await stream();
        await events.waitEvents(1);
        events.destroy();
        // The front server notices a closed client when it writes to it: let the app send.
        let left = before;
        for (let i = 0; i < 200 && left === before; i++) {
          await client.get(`/sse-next?stream=${name}`);
          await new Promise((r) => setTimeout(r, 25));
          left = json((await client.get("/seen")).body).eventStreamsLeft;
        }
        expect(left).toBe(before + 1);
      }));
  });
}
