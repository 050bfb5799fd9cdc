// The message board: a page served as precompressed static files, a JSON API with CORS, a login
// by HTTP Basic authentication, a form with a file upload, live updates by server-sent events and
// a websocket echo. Every URL the page uses is relative, so the app works under a prefix
// (SCRIPT_NAME = /board behind nginx FastCGI) as at the root. See examples/board/README.md:
//   npm run build && node dist/examples/board/app.js           (http on 127.0.0.1:3003)
//   VSGI_BACKEND=fastcgi node dist/examples/board/app.js -p 9000
// The Router is the module's default export (the tests serve it); run directly, it serves itself.
import { pathToFileURL } from "node:url";
import {
  Router,
  BasicAuthentication,
  ClientError,
  acceptEncoding,
  authenticate,
  cacheControl,
  cors,
  encodeExtValue,
  forward,
  multipart,
  safeFilename,
  sequence,
  serveFromPath,
  serverSentEvents,
  websocket,
  type AuthorizationContext,
  type BasicAuthorization,
  type HandlerCallback,
} from "valum";
import { Server } from "valum/vsgi";
import { Board, view, type Attachment, type Message } from "./messages.js";
import { PUBLIC, precompress } from "./precompress.js";

/** How many messages the board keeps (their files included). */
export const CAPACITY = 100;
/** The largest file a message may carry, in bytes: files are held in memory. */
export const FILE_SIZE = 1024 * 1024;

/**
 * The users, from `BOARD_USERS` (`name:password,name:password`), else one demo user. A real
 * application keeps password hashes in a database (docs/middlewares/authenticate.md).
 */
export const USERS: ReadonlyMap<string, string> = new Map(
  (process.env.BOARD_USERS ?? "ana:open sesame").split(",").map((entry) => {
    const colon = entry.indexOf(":");
    // a user-id cannot hold a colon (RFC 7617): the first one ends the name
    if (colon < 1) throw new Error(`BOARD_USERS: each entry is name:password, separated by commas; got ${JSON.stringify(entry)}`);
    return [entry.slice(0, colon), entry.slice(colon + 1)] as [string, string];
  }),
);

export const board = new Board(CAPACITY);

function check(auth: BasicAuthorization): boolean {
  const password = USERS.get(auth.username);
  // compared even for an unknown user: the time taken does not tell who exists
  const right = auth.challengeWithPassword(password ?? "");
  return right && password !== undefined;
}

// The page logs in with fetch and an Authorization header it builds itself (credentials "omit",
// so that a 401 never opens the browser's own dialog), and sends it again with each post.
const login = new BasicAuthentication("board");

/** `Content-Disposition` for a download: an ASCII fallback, and the name in UTF-8 (RFC 6266). */
function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  return `attachment; filename="${ascii}"; filename*=${encodeExtValue(name)}`;
}

/** Whether `origin` (an Origin header) names this server as the client reached it (`host`). */
function ownOrigin(origin: string, host: string | null): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * Posts from the board's own page only. A form on another site can post here (a multipart form
 * is a "simple" request: no preflight), and the browser would add the Basic credentials it
 * remembers from its own login dialog, had the user opened `api/me` directly. Browsers say
 * where a request comes from (Sec-Fetch-Site, else Origin); other clients send neither.
 */
const fromThisSite: HandlerCallback = (req, res, next) => {
  const site = req.header("sec-fetch-site");
  const origin = req.header("origin");
  if (site === "same-origin" || site === "none" || (site === null && (origin === null || ownOrigin(origin, req.header("host"))))) return next();
  throw ClientError.forbidden("messages are posted from the board's own page");
};

const app = new Router();

app.scope("/api", (api) => {
  // Any page may read the board (the board is public, and no cookie is involved): GET only,
  // posts are for the board's own page (fromThisSite).
  api.use(cors({ origin: "*", methods: ["GET", "HEAD"], maxAge: 600 }));
  api.use(cacheControl("no-store"));

  api.get("/me", authenticate(login, check, (req, res, next, ctx, auth) => res.expandJson({ user: auth.username })));

  // The whole board can be long: compressed for clients that take it (over the threshold).
  api.get(
    "/messages",
    acceptEncoding("br, gzip", (req, res) => {
      const since = Number(req.lookupQuery("since") ?? 0);
      if (!Number.isSafeInteger(since) || since < 0) throw ClientError.badRequest("since: a message id");
      return res.expandJson(board.since(since).map((m) => view(m, req.scriptName)));
    }),
  );

  api.post(
    "/messages",
    sequence(fromThisSite, authenticate(
      login,
      check,
      multipart<AuthorizationContext<BasicAuthorization>>(
        async (req, res, next, ctx, parts) => {
          let text = "";
          let file: Attachment | null = null;
          for await (const part of parts) {
            if (part.name === "text" && part.filename === null) {
              text = (await part.text()).trim();
            } else if (part.name === "file" && part.filename !== null) {
              const chunks: Buffer[] = [];
              for await (const chunk of part) chunks.push(chunk as Buffer);
              const bytes = Buffer.concat(chunks);
              // a form whose file input was left empty sends a part with no name and no bytes
              if (part.filename !== "" || bytes.length > 0) file = { name: safeFilename(part.filename) ?? "file", type: part.type, bytes };
            }
            // any other part is skipped: multipart drains it
          }
          if (text === "") throw ClientError.badRequest("a message needs a text field");
          const message = board.add(ctx.authorization.username, text, file);
          res.status = 201;
          res.headers.set("Location", `messages/${message.id}`);
          return res.expandJson(view(message, req.scriptName));
        },
        { limits: { parts: 4, fields: 2, files: 1, fileSize: FILE_SIZE, fieldSize: 4096 } },
      ),
    )),
  );

  api.get("/messages/<int:id>", (req, res, next, ctx) => {
    const message = board.get(ctx.id);
    if (message === undefined) throw ClientError.notFound(`no message ${ctx.id}`);
    return res.expandJson(view(message, req.scriptName));
  });

  api.get("/messages/<int:id>/file", (req, res, next, ctx) => {
    const file = board.get(ctx.id)?.file;
    if (file === undefined || file === null) throw ClientError.notFound(`no file in message ${ctx.id}`);
    // Served as bytes to save, whatever type the client declared: an uploaded page or SVG is
    // never rendered under the board's origin.
    res.headers.set("Content-Type", "application/octet-stream");
    res.headers.set("Content-Disposition", attachment(file.name));
    res.headers.set("X-Content-Type-Options", "nosniff");
    return res.expand(file.bytes);
  });
});

// The live list: the messages after the client's Last-Event-ID (all of them on the first
// connection), then each new one as it is posted. The event id is the message id, so a
// reconnecting EventSource gets exactly what it missed.
app.get(
  "/events",
  serverSentEvents(async (req, res, next, ctx, send) => {
    const after = Number(send.lastEventId ?? 0);
    const publish = (message: Message): void => {
      // Not awaited: send queues the events in order; it resolves false once the client is gone.
      void send({ id: String(message.id), data: JSON.stringify(view(message, req.scriptName)) });
    };
    // The backlog and the subscription in the same turn: no message falls between them.
    // The retry field writes the head even on an empty board, which opens the EventSource.
    void send({ retry: 2000 });
    for (const message of board.since(Number.isSafeInteger(after) && after > 0 ? after : 0)) publish(message);
    const unsubscribe = board.subscribe(publish);
    if (!send.signal.aborted) await new Promise((gone) => send.signal.addEventListener("abort", gone, { once: true }));
    unsubscribe();
    return true;
  }),
);

// The echo: on the http backend only (the gateway protocols cannot hand a connection over; the
// middleware answers 501 there). Pages of this server only: a browser sends Origin.
app.get(
  "/echo",
  websocket(
    ["echo"],
    (req, res, next, ctx, ws) => {
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
      return true;
    },
    { origin: (origin, req) => origin === null || ownOrigin(origin, req.header("host")) },
  ),
);

// The page: precompressed siblings for clients that accept them, revalidated on each load
// (ETag, Last-Modified) since the names do not change with the content.
// The files with their siblings are written at each start, before serveFromPath checks its root:
// what is served is always what examples/board/public/ holds.
precompress();
const files = serveFromPath(PUBLIC, { cacheControl: "no-cache" });
app.get("/", sequence(forward({ path: "index.html" }), files));
app.get("/<path:path>", files);

export default app;

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await Server.new(process.env.VSGI_BACKEND ?? "http", { handler: app }).run(process.argv);
}
