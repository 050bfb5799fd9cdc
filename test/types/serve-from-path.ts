/**
 * Type tests for serveFromPath: compiled by the main build. Each `@ts-expect-error` line proves
 * a wrong use fails to compile.
 */
import { Router, serveFromPath, SERVE_FROM_PATH_DEFAULTS, type HandlerCallback, type ServeFromPathOptions } from "../../valum/index.js";

declare const root: string;
const app = new Router();

// composes with a route (the capture feeds it), with use, and is a HandlerCallback
app.get("/static/<path:path>", serveFromPath(root));
app.use(serveFromPath(root, { maxAge: 3600, immutable: true, dotfiles: "deny" }));
const handler: HandlerCallback = serveFromPath(root, { sendfile: "x-accel-redirect", accelRedirectPrefix: "/internal/" });
const options: ServeFromPathOptions = { etag: false, lastModified: false, precompressed: false, cacheControl: "no-cache", sendfile: null, maxRanges: 4 };
void handler;
void options;

// the defaults are typed by their literals
const dotfiles: "ignore" = SERVE_FROM_PATH_DEFAULTS.dotfiles;
void dotfiles;

// @ts-expect-error sendfile is one of two header names or null
serveFromPath(root, { sendfile: "x-lighttpd-send-file" });
// @ts-expect-error dotfiles is ignore, deny or allow
serveFromPath(root, { dotfiles: "hide" });
// @ts-expect-error maxAge is seconds, a number
serveFromPath(root, { maxAge: "1h" });
// @ts-expect-error no index signature: a misspelt option is an error
serveFromPath(root, { maxage: 5 });
