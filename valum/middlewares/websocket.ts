/**
 * `websocket(protocols, forward)`: the WebSocket opening handshake (RFC 6455 §4) checked by the
 * router, then the connection handed to `ws`. The handshake's header grammar lives in
 * `valum/http/websocket.ts`; the frames are `ws`'s; the connection comes from
 * `res.takeConnection()`, which only the http backend provides.
 */
import { IncomingMessage } from "node:http";
import { WebSocketServer, type PerMessageDeflateOptions, type WebSocket } from "ws";
import type { Request, Response } from "../../vsgi/index.js";
import type { Context } from "../context.js";
import type { ForwardCallback, HandlerCallback, NextCallback } from "../handler.js";
import { chooseProtocol, isWebSocketKey, listHasToken, normalizeOrigin, parseProtocols, WebSocketSyntaxError } from "../http/websocket.js";
import { isToken } from "../http/tokens.js";
import { ClientError, ServerError } from "../status.js";
import { checkKnownOptions } from "./authenticate.js";
import { invalidOption } from "./options.js";

/**
 * Which origins may open a websocket: one serialized origin (`"https://example.com"`), a list of
 * them, or a function deciding from the `Origin` header (`null` when the client sent none).
 */
export type OriginCheck = string | readonly string[] | ((origin: string | null, req: Request) => boolean);

/** The options of `websocket`; each default is in `WEBSOCKET_DEFAULTS`. */
export interface WebSocketOptions {
  /** Origins allowed to connect; others get a 403 before the upgrade. `null`: any. */
  origin?: OriginCheck | null;
  /** A request that is not a websocket handshake: `"426"` (Upgrade Required) or `"next"` (the following routes). */
  nonUpgrade?: "426" | "next";
  /** Refuse (400) a client that offers none of `protocols`, instead of connecting it without a subprotocol. */
  requireProtocol?: boolean;
  /** The permessage-deflate extension (RFC 7692): `true`, or `ws`'s options for it. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** The largest message accepted, in bytes; a larger one closes the connection with 1009. */
  maxPayload?: number;
}

/** The defaults of `websocket`'s options. */
export const WEBSOCKET_DEFAULTS = {
  /**
   * Any origin may connect. A page on another site can open a websocket to this server with
   * the user's cookies (cross-site websocket hijacking): set `origin` when cookies authenticate.
   * @default null
   */
  origin: null as OriginCheck | null,
  /**
   * A request that is not a websocket handshake is answered 426 with `Upgrade: websocket`.
   * @default "426"
   */
  nonUpgrade: "426" as "426" | "next",
  /**
   * A client offering none of the server's subprotocols is connected without one, and the
   * answer carries no `Sec-WebSocket-Protocol` (RFC 6455 §4.2.2).
   * @default false
   */
  requireProtocol: false,
  /**
   * No compression: permessage-deflate costs memory per connection and CPU per message, and
   * compressing secrets next to attacker-chosen data leaks them (CRIME, BREACH).
   * @default false
   */
  perMessageDeflate: false as boolean | PerMessageDeflateOptions,
  /**
   * 1 MiB (`ws`'s own default is 100 MiB).
   * @default 1_048_576
   */
  maxPayload: 1_048_576,
} as const;

/** The context of the forward: `ctx.websocket` is the connected `WebSocket`. */
export type WebSocketContext = Context & { websocket: WebSocket };

const KNOWN = Object.keys(WEBSOCKET_DEFAULTS);

type OriginTest = ((origin: string | null, req: Request) => boolean) | ReadonlySet<string> | null;

function checkOrigin(origin: unknown): OriginTest {
  if (origin === null || origin === undefined) return null;
  if (typeof origin === "function") return origin as (origin: string | null, req: Request) => boolean;
  const list = typeof origin === "string" ? [origin] : origin;
  const wanted = "an origin such as \"https://example.com\", a non-empty list of them, a function (origin, req) => boolean or null";
  if (!Array.isArray(list) || list.length === 0) throw invalidOption("websocket", "origin", wanted, origin);
  const set = new Set<string>();
  for (const item of list) {
    const normal = typeof item === "string" ? normalizeOrigin(item) : null;
    if (normal === null) throw invalidOption("websocket", "origin", wanted, item);
    set.add(normal);
  }
  return set;
}

function ignore(): void {}

function hasBody(req: Request): boolean {
  const length = req.header("content-length");
  return (length !== null && length !== "0") || req.header("transfer-encoding") !== null;
}

class WebSocketUpgrade {
  private readonly server: WebSocketServer;
  private readonly spoken: string;

  constructor(
    private readonly protocols: readonly string[],
    private readonly forward: ForwardCallback<WebSocket, WebSocketContext>,
    private readonly origin: OriginTest,
    private readonly passOn: boolean,
    private readonly requireProtocol: boolean,
    perMessageDeflate: boolean | PerMessageDeflateOptions,
    maxPayload: number,
  ) {
    this.spoken = protocols.join(", ");
    this.server = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate,
      maxPayload,
      // ws parses the offer itself; its choice must be ours (by default it takes the client's first).
      handleProtocols: (offered) => chooseProtocol(protocols, offered) ?? false,
    });
  }

  handle(req: Request, res: Response, next: NextCallback, ctx: Context): boolean | Promise<boolean> {
    const upgrade = req.header("upgrade");
    if (req.method !== "GET" || !listHasToken(upgrade, "websocket")) {
      if (this.passOn) return next();
      throw new ClientError(426, "websocket", { headers: { Connection: "Upgrade" } });
    }
    if (upgrade!.trim().toLowerCase() !== "websocket") throw ClientError.badRequest("websocket: Upgrade must name websocket alone");
    if (hasBody(req)) throw ClientError.badRequest("websocket: a handshake has no body");
    const version = req.header("sec-websocket-version");
    if (version === null) throw ClientError.badRequest("websocket: Sec-WebSocket-Version is missing");
    if (version !== "13" && version !== "8") {
      throw new ClientError(426, "websocket", { headers: { Connection: "Upgrade", "Sec-WebSocket-Version": "13, 8" } });
    }
    if (!isWebSocketKey(req.header("sec-websocket-key"))) throw ClientError.badRequest("websocket: Sec-WebSocket-Key must be the base64 of 16 bytes");
    if (this.origin !== null) {
      // Version 8 (hybi drafts) named it Sec-WebSocket-Origin.
      const origin = req.header(version === "8" ? "sec-websocket-origin" : "origin");
      if (!this.allows(origin, req)) throw ClientError.forbidden("websocket: this origin may not connect");
    }
    const offer = req.header("sec-websocket-protocol");
    let chosen: string | null = null;
    if (offer !== null) {
      try {
        chosen = chooseProtocol(this.protocols, parseProtocols(offer));
      } catch (error) {
        if (error instanceof WebSocketSyntaxError) throw ClientError.badRequest(`websocket: malformed Sec-WebSocket-Protocol: ${error.message}`);
        throw error;
      }
    }
    if (chosen === null && this.requireProtocol) {
      throw ClientError.badRequest(`websocket: no subprotocol in common; this endpoint speaks ${this.spoken}`);
    }
    return this.upgrade(req, res, next, ctx);
  }

  private allows(origin: string | null, req: Request): boolean {
    const test = this.origin!;
    if (typeof test === "function") return test(origin, req) === true;
    // A client that sends no Origin is not a browser, which is what an origin check guards.
    return origin === null || test.has(origin.toLowerCase());
  }

  private upgrade(req: Request, res: Response, next: NextCallback, ctx: Context): boolean | Promise<boolean> {
    const taken = res.takeConnection();
    if (taken === null) {
      // node:http hands the connection over only for `Connection: upgrade`; front servers before
      // the other backends drop that hop-by-hop header, so it is not asked of them.
      if (req.gatewayInterface.startsWith("HTTP/") && !listHasToken(req.header("connection"), "upgrade")) {
        throw ClientError.badRequest("websocket: the Connection header must list upgrade");
      }
      if (this.passOn) return next();
      throw ServerError.notImplemented(
        "websocket: this server cannot hand the connection over; websocket needs the http backend (behind a front server that proxies websockets to it)",
      );
    }
    const native = taken.nativeRequest;
    if (!(native instanceof IncomingMessage)) {
      taken.socket.destroy();
      throw new Error("websocket: the backend handed over a connection without node:http's IncomingMessage, which ws needs");
    }
    let result: boolean | Promise<boolean> = true;
    // ws answers 101 and calls back at once, or not at all when the client already left (the
    // socket is then destroyed): nothing is left waiting either way.
    this.server.handleUpgrade(native, taken.socket, taken.head, (ws) => {
      // ws reports a client's protocol errors (a frame too large, bad UTF-8) as 'error' after
      // closing the connection itself; unheard, that event would crash the process.
      ws.on("error", ignore);
      const context = ctx as WebSocketContext;
      context.websocket = ws;
      result = this.forward(req, res, next, context, ws);
    });
    return result;
  }
}

/**
 * Accepts a WebSocket handshake and hands the connected `ws` `WebSocket` to `forward` (and to
 * `ctx.websocket`). Routes and middlewares before it run first (an authentication refusing is a
 * 401 on the handshake); the subprotocol is the first of `protocols` the client offers; a request
 * that is not a handshake is a 426 with `Upgrade: websocket` (or goes on, `nonUpgrade: "next"`);
 * a refused origin is a 403. Needs the http backend.
 *
 * @example
 * app.get("/echo", websocket(["echo"], (req, res, next, ctx, ws) => {
 *   ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
 *   return true;
 * }, { origin: "https://example.com" }));
 */
export function websocket<C extends Context = Context>(
  protocols: readonly string[],
  forward: ForwardCallback<WebSocket, NoInfer<C> & { websocket: WebSocket }>,
  options: WebSocketOptions = {},
): HandlerCallback<C> {
  if (!Array.isArray(protocols) || protocols.some((p, i) => typeof p !== "string" || !isToken(p) || protocols.indexOf(p) !== i)) {
    throw invalidOption("websocket", "protocols", "an array of distinct subprotocol names (tokens), possibly empty", protocols);
  }
  if (typeof forward !== "function") throw invalidOption("websocket", "forward", "a function (req, res, next, ctx, ws) => boolean", forward);
  checkKnownOptions("websocket", options, KNOWN);
  const o = { ...WEBSOCKET_DEFAULTS, ...options };
  const origin = checkOrigin(o.origin);
  if (o.nonUpgrade !== "426" && o.nonUpgrade !== "next") throw invalidOption("websocket", "nonUpgrade", '"426" or "next"', o.nonUpgrade);
  if (typeof o.requireProtocol !== "boolean") throw invalidOption("websocket", "requireProtocol", "a boolean", o.requireProtocol);
  if (o.requireProtocol && protocols.length === 0) {
    throw invalidOption("websocket", "requireProtocol", "false when protocols is empty (no client could connect)", o.requireProtocol);
  }
  const deflate = o.perMessageDeflate;
  if (typeof deflate !== "boolean" && (typeof deflate !== "object" || deflate === null || Array.isArray(deflate))) {
    throw invalidOption("websocket", "perMessageDeflate", "a boolean or ws's permessage-deflate options", deflate);
  }
  if (!Number.isSafeInteger(o.maxPayload) || o.maxPayload < 1) {
    throw invalidOption("websocket", "maxPayload", "a positive integer number of bytes", o.maxPayload);
  }
  const upgrade = new WebSocketUpgrade(
    [...protocols],
    forward as ForwardCallback<WebSocket, WebSocketContext>,
    origin,
    o.nonUpgrade === "next",
    o.requireProtocol,
    deflate,
    o.maxPayload,
  );
  return function websocket(req, res, next, ctx) {
    return upgrade.handle(req, res, next, ctx);
  };
}
