/**
 * Type tests for the middlewares of valum/middlewares: compiled by the main build. Each
 * `@ts-expect-error` line proves a wrong use fails to compile.
 */
import {
  Router,
  Status,
  cacheControl,
  contentLength,
  cors,
  decode,
  forward,
  respondWith,
  safely,
  sequence,
  type CorsOptions,
  type ForwardCallback,
  type HandlerCallback,
} from "../../valum/index.js";

const app = new Router();

// --- every middleware is a HandlerCallback --------------------------------------------------
const all: HandlerCallback[] = [
  cacheControl("public", 60),
  cacheControl({ public: true, immutable: true, extensions: [["community", "UCI"]] }),
  contentLength(1024),
  cors({ origin: /^https:\/\/a\.example$/, credentials: true }),
  cors({ origin: async (origin, req) => origin.endsWith(req.uri.hostname) }),
  decode({ limit: Infinity }),
  forward({ a: 1 }),
  respondWith(204),
  respondWith(new Status(418)),
  respondWith("text"),
  respondWith(new Uint8Array(1)),
  safely((req, res) => res.end()),
  sequence(cors(), (req, res) => res.end()),
];
all.forEach((handler) => app.use(handler));

// --- forward is also Valum's ForwardCallback --------------------------------------------------
const asCallback: ForwardCallback<string> = forward;
const asNumberCallback: ForwardCallback<number> = forward;
void asCallback;
void asNumberCallback;

// --- sequence and safely keep the route's typed context ---------------------------------------
app.get(
  "/users/<int:id>",
  sequence(cacheControl("no-store"), (req, res, next, ctx) => {
    const id: number = ctx.id;
    return res.expandUtf8(String(id + 1));
  }),
);
app.get(
  "/items/<int:id>",
  safely((req, res, next, ctx) => {
    const id: number = ctx.id;
    // @ts-expect-error an int parameter is a number
    const wrong: string = ctx.id;
    return res.expandUtf8(`${id} ${wrong}`);
  }),
);

// --- safely wraps a forward callback too, keeping its value's type ---------------------------
const guardedForward: ForwardCallback<number> = safely((req, res, next, ctx, value: number) => res.expandUtf8(String(value + 1)));
void guardedForward;

// --- wrong options do not compile --------------------------------------------------------------
// @ts-expect-error options are named as documented (origin, not origins)
cors({ origins: ["https://a.example"] });
// @ts-expect-error credentials is a boolean
const badCors: CorsOptions = { credentials: "true" };
void badCors;
// @ts-expect-error directives are camel-cased fields
cacheControl({ "max-age": 60 });
// @ts-expect-error max-age is a number of seconds
cacheControl({ maxAge: "60" });
// @ts-expect-error decode takes an options object
decode(1024);
// @ts-expect-error respondWith takes a code, a Status, text or bytes
respondWith(true);
// @ts-expect-error forward(values) takes an object
forward("value");
