import { createHook } from "node:async_hooks";
import { describe, it, expect } from "@jest/globals";
import { ClientError, EventStreamError, Router, SERVER_SENT_EVENTS_DEFAULTS, serverSentEvents, type SendEvent } from "../../../valum/index.js";
import { openEventStream } from "../../helpers/event-stream.js";
import { withServer } from "../util.js";

/** A promise the test settles: what lets a handler go on only when the test says so. */
function gate<T = void>(): { promise: Promise<T>; open(value: T): void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((ok) => (open = ok));
  return { promise, open };
}

/**
 * Watches the timers made with `delay` (the keep-alive interval of a test): how many were made,
 * and how many are still set (not cleared).
 */
function watchTimers(delay: number): { made(): number; live(): number; stop(): void } {
  const live = new Set<number>();
  let made = 0;
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (type === "Timeout" && (resource as { _idleTimeout?: number })._idleTimeout === delay) {
        made++;
        live.add(id);
      }
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return { made: () => made, live: () => live.size, stop: () => hook.disable() };
}

/** Node reports destroyed resources to the hooks from a queue run in the check phase: let it run. */
async function destroyHooksRun(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise((ok) => setImmediate(ok));
}

describe("serverSentEvents", () => {
  it("sends each event as it is sent: the first reaches the client while the handler waits to send the second", async () => {
    const second = gate();
    const third = gate();
    const results: boolean[] = [];
    const app = new Router();
    app.get(
      "/events",
      serverSentEvents(async (req, res, next, ctx, send) => {
        results.push(await send({ event: "first", id: "1", data: "one\ntwo" }));
        await second.promise;
        results.push(await send({ data: "three" }));
        await third.promise;
        return true;
      }),
    );
    await withServer(app, async (c) => {
      const stream = await openEventStream(c.port, "/events");
      expect(stream.status).toBe(200);
      expect(stream.headers["content-type"]).toBe("text/event-stream; charset=UTF-8");
      expect(stream.headers["cache-control"]).toBe("no-cache");
      expect(stream.headers["x-accel-buffering"]).toBe("no");
      expect(stream.headers["content-length"]).toBeUndefined();
      expect(stream.headers["transfer-encoding"]).toBe("chunked");
      // The handler is held before its second send until the test opens the gate.
      expect(await stream.waitEvents(1)).toEqual([{ type: "first", data: "one\ntwo", lastEventId: "1" }]);
      expect(stream.text).toBe("event: first\nid: 1\ndata: one\ndata: two\n\n");
      second.open();
      expect((await stream.waitEvents(2))[1]).toEqual({ type: "message", data: "three", lastEventId: "1" });
      expect(stream.ended).toBe(false);
      third.open();
      await stream.waitEnd();
      expect(results).toEqual([true, true]);
    });
  });

  it("gives the handler Last-Event-ID, the client's signal, and send in ctx.sse", async () => {
    const seen: { lastEventId: string | null; same: boolean; aborted: boolean }[] = [];
    const app = new Router();
    app.get(
      "/events",
      serverSentEvents(async (req, res, next, ctx, send) => {
        seen.push({ lastEventId: send.lastEventId, same: ctx.sse === send, aborted: send.signal.aborted });
        await send({ data: "x" });
        return true;
      }),
    );
    await withServer(app, async (c) => {
      await (await openEventStream(c.port, "/events", { "Last-Event-ID": "41" })).waitEnd();
      await (await openEventStream(c.port, "/events")).waitEnd();
      expect(seen).toEqual([
        { lastEventId: "41", same: true, aborted: false },
        { lastEventId: null, same: true, aborted: false },
      ]);
    });
  });

  it("refuses an event it cannot encode without writing anything, and the stream goes on", async () => {
    const errors: unknown[] = [];
    const app = new Router();
    app.get(
      "/events",
      serverSentEvents(async (req, res, next, ctx, send) => {
        for (const bad of [{ id: "1\n2", data: "x" }, { event: "a\rb" }, { id: "a\0" }, { retry: -5 }]) {
          await send(bad).catch((err: unknown) => errors.push(err));
        }
        await send({ data: "fine" });
        return true;
      }),
    );
    await withServer(app, async (c) => {
      const stream = await openEventStream(c.port, "/events");
      await stream.waitEnd();
      expect(stream.text).toBe("data: fine\n\n");
      expect(errors.map((e) => [e instanceof EventStreamError, (e as EventStreamError).field])).toEqual([
        [true, "id"],
        [true, "event"],
        [true, "id"],
        [true, "retry"],
      ]);
    });
  });

  it("answers HEAD with the event-stream headers without running the handler", async () => {
    let runs = 0;
    const app = new Router();
    app.get(
      "/events",
      serverSentEvents(async (req, res, next, ctx, send) => {
        runs++;
        return send({ data: "x" });
      }),
    );
    await withServer(app, async (c) => {
      const res = await c.send("HEAD", "/events");
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toBe("text/event-stream; charset=UTF-8");
      expect(res.headers["cache-control"]).toBe("no-cache");
      expect(res.body.length).toBe(0);
      expect(runs).toBe(0);
    });
  });

  it("tells the handler when the client goes away: the signal aborts, send resolves false, the keep-alive timer is cleared", async () => {
    const keepAlive = 3_600_017;
    const timers = watchTimers(keepAlive);
    const left = gate<{ afterward: boolean; aborted: boolean }>();
    const app = new Router();
    app.get(
      "/events",
      serverSentEvents(
        async (req, res, next, ctx, send) => {
          await send({ data: "hello" });
          if (!send.signal.aborted) await new Promise((ok) => send.signal.addEventListener("abort", ok, { once: true }));
          left.open({ afterward: await send({ data: "too late" }), aborted: req.aborted });
          return true;
        },
        { keepAlive },
      ),
    );
    try {
      await withServer(app, async (c) => {
        const stream = await openEventStream(c.port, "/events");
        await stream.waitEvents(1);
        expect([timers.made(), timers.live()]).toEqual([1, 1]);
        stream.destroy();
        expect(await left.promise).toEqual({ afterward: false, aborted: true });
        await destroyHooksRun();
        expect(timers.live()).toBe(0);
      });
    } finally {
      timers.stop();
    }
  });

  it("ends the stream when the handler's promise settles, and clears the keep-alive timer", async () => {
    const keepAlive = 3_600_019;
    const timers = watchTimers(keepAlive);
    const done = gate();
    const app = new Router();
    app.get(
      "/events",
      serverSentEvents(
        async (req, res, next, ctx, send) => {
          await send({ data: "only" });
          await done.promise;
          return true;
        },
        { keepAlive },
      ),
    );
    try {
      await withServer(app, async (c) => {
        const stream = await openEventStream(c.port, "/events");
        await stream.waitEvents(1);
        expect(timers.live()).toBe(1);
        done.open();
        await stream.waitEnd();
        expect(stream.parser.events.map((e) => e.data)).toEqual(["only"]);
        await destroyHooksRun();
        expect(timers.live()).toBe(0);
      });
    } finally {
      timers.stop();
    }
  });

  it("writes a keep-alive comment when nothing else is written; the first one opens the stream", async () => {
    const after = gate();
    const app = new Router();
    app.get(
      "/events",
      serverSentEvents(
        async (req, res, next, ctx, send) => {
          await after.promise;
          await send({ data: "after the comments" });
          return true;
        },
        { keepAlive: 5 },
      ),
    );
    await withServer(app, async (c) => {
      // The head comes with the first comment: the handler has sent nothing.
      const stream = await openEventStream(c.port, "/events");
      expect(stream.status).toBe(200);
      await stream.until(() => stream.parser.comments.length >= 2);
      expect(stream.parser.events).toEqual([]);
      after.open();
      await stream.waitEnd();
      expect(stream.parser.events.map((e) => e.data)).toEqual(["after the comments"]);
      expect(stream.text.startsWith(":\n:\n")).toBe(true);
    });
  });

  it("lets the handler refuse before the first event: a thrown status, next(), false, or its own answer", async () => {
    const app = new Router();
    app.get(
      "/events/<name>",
      serverSentEvents(async (req, res, next, ctx, send) => {
        if (ctx.name === "missing") throw ClientError.notFound("no such stream");
        if (ctx.name === "elsewhere") return next();
        if (ctx.name === "stop") {
          // What tells an EventSource to stop reconnecting.
          res.status = 204;
          return res.end();
        }
        if (ctx.name === "decline") return false;
        return send({ data: "ok" });
      }),
    );
    app.get("/events/<name>", (req, res) => res.expandUtf8("the next route"));
    await withServer(app, async (c) => {
      const missing = await c.send("GET", "/events/missing");
      expect(missing.status).toBe(404);
      expect(missing.headers["content-type"]).not.toMatch(/event-stream/);
      const elsewhere = await c.send("GET", "/events/elsewhere");
      expect(elsewhere.text).toBe("the next route");
      expect(elsewhere.headers["cache-control"]).toBeUndefined();
      // false is the handler's result as it is: not handled, the router's 404.
      const declined = await c.send("GET", "/events/decline");
      expect(declined.status).toBe(404);
      expect(declined.headers["cache-control"]).toBeUndefined();
      const stop = await c.send("GET", "/events/stop");
      expect(stop.status).toBe(204);
      expect(stop.headers["content-type"]).toBeUndefined();
      const ok = await c.send("GET", "/events/ok");
      expect([ok.status, ok.text]).toEqual([200, "data: ok\n\n"]);
    });
  });

  it("answers an empty event stream when the handler is done without sending", async () => {
    const app = new Router();
    app.get(
      "/events",
      serverSentEvents((req, res, next, ctx, send: SendEvent) => typeof send === "function"),
    );
    await withServer(app, async (c) => {
      const res = await c.send("GET", "/events");
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toBe("text/event-stream; charset=UTF-8");
      expect(res.text).toBe("");
    });
  });

  it("checks its options at registration", () => {
    const forward = (): boolean => true;
    for (const keepAlive of [-1, 1.5, NaN, 2 ** 31, "1000"]) {
      expect(() => serverSentEvents(forward, { keepAlive: keepAlive as number })).toThrow(
        expect.objectContaining({ code: "ERR_VSGI_INVALID_OPTION", message: expect.stringMatching(/^serverSentEvents: option keepAlive must be an integer/) }),
      );
    }
    expect(() => serverSentEvents("nope" as never)).toThrow(/serverSentEvents: option forward must be a function/);
    expect(serverSentEvents(forward, { keepAlive: 0 }).name).toBe("serverSentEventsHandler");
    expect(SERVER_SENT_EVENTS_DEFAULTS.keepAlive).toBe(15_000);
  });
});
