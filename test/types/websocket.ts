/**
 * Type tests for `websocket`: the forward's value and `ctx.websocket` are ws's `WebSocket`, the
 * rule's parameters stay in the context. Compiled by the main build; each `@ts-expect-error`
 * line must fail to compile.
 */
import type { WebSocket } from "ws";
import { Router, websocket, type HandlerCallback, type WebSocketOptions } from "../../valum/index.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}

const app = new Router();

app.get(
  "/rooms/<int:room>",
  websocket(["chat"], (req, res, next, ctx, ws) => {
    assertType<Equal<typeof ws, WebSocket>>();
    assertType<Equal<typeof ctx.websocket, WebSocket>>();
    const room: number = ctx.room;
    ws.send(`room ${room}`);
    return true;
  }),
);

// the options, each optional
const options: WebSocketOptions = {
  origin: ["https://example.com"],
  nonUpgrade: "next",
  requireProtocol: true,
  perMessageDeflate: { threshold: 1024 },
  maxPayload: 65_536,
};
const handler: HandlerCallback = websocket(["chat"], () => true, options);
app.use(handler);
websocket([], () => true, { origin: (origin, req) => origin === null || origin === `https://${req.header("host")}` });

// @ts-expect-error nonUpgrade is "426" or "next"
websocket([], () => true, { nonUpgrade: "404" });
// @ts-expect-error the forward must answer whether the request is handled
websocket([], (req, res, next, ctx, ws) => undefined);
// @ts-expect-error protocols is a list
websocket("chat", () => true);
