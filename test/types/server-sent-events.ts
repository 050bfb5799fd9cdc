/**
 * Type tests for serverSentEvents: compiled by the main build. Each `@ts-expect-error` line proves
 * a wrong use fails to compile.
 */
import { Router, serverSentEvents, type SendEvent, type ServerSentEvent } from "../../valum/index.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}

assertType<Equal<ReturnType<SendEvent>, Promise<boolean>>>();
assertType<Equal<SendEvent["lastEventId"], string | null>>();

const app = new Router();

// The route's captures reach the forward typed, and send takes the event's fields.
app.get(
  "/rooms/<int:id>/events",
  serverSentEvents(async (req, res, next, ctx, send) => {
    const id: number = ctx.id;
    const signal: AbortSignal = send.signal;
    await send({ event: "joined", id: String(id), data: "x", retry: 1000, comment: "c" });
    // @ts-expect-error data is text: encode objects yourself (JSON.stringify)
    await send({ data: { a: 1 } });
    // @ts-expect-error retry is a number of milliseconds
    await send({ retry: "1000" });
    // @ts-expect-error no such field
    await send({ name: "x" });
    return !signal.aborted;
  }),
);

const event: ServerSentEvent = { data: "only data" };
app.get("/once", serverSentEvents((req, res, next, ctx, send) => send(event), { keepAlive: 0 }));

// @ts-expect-error keepAlive is a number of milliseconds
serverSentEvents(() => true, { keepAlive: "15s" });
// @ts-expect-error no such option
serverSentEvents(() => true, { keepalive: 1000 });
