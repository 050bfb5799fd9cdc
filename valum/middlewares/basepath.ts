/**
 * `basepath(prefix, handler)`: mounts a handler (or a whole Router) under a path prefix. The
 * sub-handler sees the path without the prefix, and `req.scriptName` with it; the Locations it
 * produces go back under the prefix.
 */
import type { Handler, HeadListener, Request, Response } from "../../vsgi/index.js";
import type { Context } from "../context.js";
import type { HandlerCallback, NextCallback } from "../handler.js";
import { encodeLiteral } from "../rule.js";
import { Status } from "../status.js";
import { handlerOption, invalidOption } from "./options.js";

/** What `basepath` mounts: a handler, or anything with `handle(req, res)` such as a Router. */
export type BasepathHandler = HandlerCallback | Handler;

/**
 * Whether a Location is a path of this origin (`/x`), the only kind that moves with the mount:
 * not `//host/x` nor `/\host/x` (which browsers read as another host), nor an absolute URL, nor
 * a relative reference (already relative to where the client is).
 *
 * @example isOriginPath("/x"); // true
 * @example isOriginPath("//evil.example/x"); // false
 */
export function isOriginPath(location: string): boolean {
  if (location.charCodeAt(0) !== 47) return false;
  const second = location.charCodeAt(1);
  return second !== 47 && second !== 92; // neither `/` nor `\`
}

/**
 * The prefix as the router compares it with `req.path`: encoded as a rule's literal text
 * (non-ASCII and the characters a URL encodes are percent-encoded, `%XX` kept as written), so
 * `/café` and `/caf%C3%A9` are the same prefix. `""` for the root.
 */
function checkPrefix(prefix: unknown): string {
  const wanted = 'a path starting with "/", without a trailing "/" (except "/" itself), empty, "." or ".." segments, "\\", "?", "#", control characters or malformed %-escapes';
  if (typeof prefix !== "string" || prefix.charCodeAt(0) !== 47) throw invalidOption("basepath", "prefix", wanted, prefix);
  if (prefix === "/") return "";
  if (/[\\?#\u0000-\u001f\u007f]/.test(prefix) || /%(?![0-9A-Fa-f]{2})/.test(prefix)) throw invalidOption("basepath", "prefix", wanted, prefix);
  const encoded = encodeLiteral(prefix);
  for (const segment of encoded.slice(1).split("/")) {
    // dot segments, also encoded (`%2e`): the request path never has them once normalized
    const dots = segment.replace(/%2e/gi, ".");
    if (segment === "" || dots === "." || dots === "..") throw invalidOption("basepath", "prefix", wanted, prefix);
  }
  try {
    decodeURIComponent(encoded);
  } catch {
    throw invalidOption("basepath", "prefix", wanted, prefix); // %FF alone is no UTF-8
  }
  return encoded;
}

/** One `basepath(...)`: what is precomputed at registration. */
class Layer {
  readonly prefix: string;
  readonly handler: HandlerCallback;

  constructor(prefix: string, handler: HandlerCallback) {
    this.prefix = prefix;
    this.handler = handler;
  }
}

/**
 * The innermost basepath a request is in: so that a nested basepath knows its parent, and the
 * Location is moved under the inner prefix before the outer one.
 */
const innermost = new WeakMap<Request, Mount>();

function locationOf(res: Response): string | null {
  return res.headers.get("location");
}

/**
 * One request through one basepath. While `inside`, the request's path is the stripped one and
 * a change of the response's Location (from `seen`) was made by the sub-handler: it is moved
 * under the prefix at the next way out (`next`, return, throw) or just before the head is sent,
 * whichever comes first, and then never again.
 */
class Mount implements HeadListener {
  readonly layer: Layer;
  readonly req: Request;
  readonly res: Response;
  readonly outerPath: string;
  readonly outerScript: string;
  readonly innerPath: string;
  readonly innerScript: string;
  readonly parent: Mount | null;
  private readonly outerNext: NextCallback;
  inside = false;
  /** The sub-handler has finished: a late `next` (from a timer) must not strip the path again. */
  done = false;
  seen: string | null = null;
  /** Errors that came out of the outer `next`: thrown outside the mount, so not moved. */
  private outside: unknown[] | null = null;
  readonly next: NextCallback;

  constructor(layer: Layer, req: Request, res: Response, outerNext: NextCallback, path: string) {
    this.layer = layer;
    this.req = req;
    this.res = res;
    this.outerNext = outerNext;
    this.outerPath = path;
    this.outerScript = req.scriptName;
    const n = layer.prefix.length;
    this.innerPath = path.length === n ? "/" : path.slice(n);
    this.innerScript = req.scriptName + layer.prefix;
    this.parent = innermost.get(req) ?? null;
    this.next = () => this.callNext();
    if (!res.headWritten) res.onHead(this);
  }

  /** Moves a Location the sub-handler set (since `seen`) under the prefix. */
  claim(): void {
    const res = this.res;
    if (res.headWritten) return;
    const location = locationOf(res);
    if (location === null || location === this.seen) return;
    const moved = isOriginPath(location) ? this.layer.prefix + location : location;
    if (moved !== location) res.headers.set("Location", moved);
    this.seen = moved;
  }

  enter(): void {
    const parent = this.parent;
    // what changed before this point was the parent's doing
    if (parent !== null && parent.inside) parent.claim();
    const req = this.req;
    req.path = this.innerPath;
    req.scriptName = this.innerScript;
    innermost.set(req, this);
    this.inside = true;
    this.seen = locationOf(this.res);
  }

  leave(): void {
    // once out (in `next`), the path may already be another mount's: leave it to that one
    if (!this.inside) return;
    this.claim();
    this.inside = false;
    const req = this.req;
    req.path = this.outerPath;
    req.scriptName = this.outerScript;
    if (this.parent !== null) innermost.set(req, this.parent);
    else innermost.delete(req);
  }

  finish(): void {
    this.leave();
    this.done = true;
  }

  /** Just before the head: every basepath the request is in, innermost first. */
  headWillBeSent(): void {
    let mount = innermost.get(this.req) ?? null;
    if (mount === null) return;
    const chain: Mount[] = [];
    for (; mount !== null; mount = mount.parent) if (mount.inside) chain.push(mount);
    for (const m of chain) m.claim();
    // each prefix is in now: none may add it again
    const final = locationOf(this.res);
    for (const m of chain) m.seen = final;
  }

  private callNext(): boolean | Promise<boolean> {
    if (this.done) return this.outerNext();
    this.leave();
    let result: boolean | Promise<boolean>;
    try {
      result = this.outerNext();
    } catch (error) {
      this.resume();
      (this.outside ??= []).push(error);
      throw error;
    }
    if (result === true || result === false) {
      this.resume();
      return result;
    }
    return Promise.resolve(result).then(
      (value) => {
        this.resume();
        return value;
      },
      (error: unknown) => {
        this.resume();
        (this.outside ??= []).push(error);
        throw error;
      },
    );
  }

  /** Back from `next` into the sub-handler, unless it has finished meanwhile (it did not wait). */
  private resume(): void {
    if (!this.done) this.enter();
  }

  /** Leaves the mount on the way out of the sub-handler; a thrown Location is moved as well. */
  exit(error: unknown): unknown {
    this.finish();
    if (!(error instanceof Status) || (this.outside !== null && this.outside.includes(error))) return error;
    return moveStatus(error, this.layer.prefix);
  }

  run(ctx: Context): boolean | Promise<boolean> {
    this.enter();
    let result: boolean | Promise<boolean>;
    try {
      result = this.layer.handler(this.req, this.res, this.next, ctx);
    } catch (error) {
      throw this.exit(error);
    }
    if (result === true || result === false) {
      this.finish();
      return result;
    }
    return Promise.resolve(result).then(
      (value) => {
        this.finish();
        return value;
      },
      (error: unknown) => {
        throw this.exit(error);
      },
    );
  }
}

/**
 * A copy of a thrown status with its Location under `prefix`; the status itself is left as it
 * is, since one may be thrown again (a constant `Redirection.found("/login")`) and must not grow
 * a prefix per request.
 */
function moveStatus(status: Status, prefix: string): Status {
  let key: string | null = null;
  for (const name in status.headers) if (name.toLowerCase() === "location") key = name;
  if (key === null) return status;
  const location = status.headers[key]!;
  // several Locations are no valid response (RFC 9110 10.2.2): nothing to move there
  if (typeof location !== "string" || !isOriginPath(location)) return status;
  const moved = prefix + location;
  const copy = Object.create(Object.getPrototypeOf(status) as object, Object.getOwnPropertyDescriptors(status)) as Status;
  Object.defineProperty(copy, "headers", { value: { ...status.headers, [key]: moved }, writable: true, enumerable: true, configurable: true });
  if (status.messageIsHeader && status.message === location) copy.message = moved;
  return copy;
}

/**
 * Mounts `handler` under `prefix`: requests for the prefix itself or below it (on a segment
 * boundary: `/api` takes `/api` and `/api/x`, not `/apix`) reach it with `req.path` stripped of
 * the prefix and `req.scriptName` extended by it; others go to `next`. Both are restored when the
 * sub-handler calls `next` and when it finishes, however it finishes. A `Location` the
 * sub-handler sets, and the Location of a status it throws, that is a path of this origin (`/x`)
 * is moved under the prefix, once. `handler` may be a Router (or anything with `handle`).
 *
 * @example
 * const api = new Router();
 * api.get("/users/<int:id>", (req, res, next, ctx) => res.expandUtf8(`user ${ctx.id}`));
 * app.use(basepath("/api/v1", api)); // GET /api/v1/users/5
 */
export function basepath(prefix: string, handler: BasepathHandler): HandlerCallback {
  const encoded = checkPrefix(prefix);
  const layer = new Layer(encoded, handlerOption("basepath", "handler", handler));
  const n = encoded.length;
  return function basepath(req: Request, res: Response, next: NextCallback, ctx: Context): boolean | Promise<boolean> {
    const path = req.path;
    if (!path.startsWith(encoded) || (path.length !== n && path.charCodeAt(n) !== 47)) return next();
    return new Mount(layer, req, res, next, path).run(ctx);
  };
}
