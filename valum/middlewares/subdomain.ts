/**
 * `subdomain(pattern, handler, options)`: routes on the labels of the Host left of the domain
 * (`api` in `api.example.com`), as Valum's `subdomain`.
 */
import { domainToASCII } from "node:url";
import type { Handler, Request, Response } from "../../vsgi/index.js";
import type { Context } from "../context.js";
import type { HandlerCallback, NextCallback } from "../handler.js";
import { handlerOption, invalidOption } from "./options.js";

/** The options of `subdomain`. */
export interface SubdomainOptions {
  /**
   * The host must have exactly the pattern's labels left of the domain; otherwise more labels
   * may be further left (`api` then matches `v1.api.example.com`).
   * @default false
   */
  strict?: boolean;
  /** How many labels on the right are the domain itself (`example.com`: 2, `example.co.uk`: 3). @default 2 */
  skip?: number;
}

/** The context `subdomain` gives its handler: `subdomains`, the host's labels left of the domain. */
export type SubdomainContext = Context & { subdomains: string[] };

/** The defaults of `subdomain`'s options. */
export const SUBDOMAIN_DEFAULTS: Required<SubdomainOptions> = Object.freeze({ strict: false, skip: 2 });

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * The labels of a request's host, lower-case, port and trailing dot dropped; `null` when the
 * host is missing, malformed, or an IP address (which has no subdomains). The host is the
 * absolute-form target's when there is one (RFC 9112 3.2.2), else the Host header's.
 *
 * @example hostLabels("API.Example.com:8080"); // ["api", "example", "com"]
 */
export function hostLabels(host: string | null): string[] | null {
  if (host === null || host.length === 0 || host.charCodeAt(0) === 91 /* [ IPv6 */) return null;
  let name = host.toLowerCase();
  const colon = name.indexOf(":");
  if (colon !== -1) {
    if (!/^\d*$/.test(name.slice(colon + 1))) return null;
    name = name.slice(0, colon);
  }
  if (name.endsWith(".")) name = name.slice(0, -1);
  const labels = name.split(".");
  for (const label of labels) if (!LABEL.test(label)) return null;
  // a numeric last label makes the host an IPv4 address for a URL parser (WHATWG), `0x7f.1` too
  if (/^(?:\d+|0x[0-9a-f]*)$/.test(labels[labels.length - 1]!)) return null;
  return labels;
}

function requestHost(req: Request): string | null {
  const target = req.target;
  if (target.charCodeAt(0) !== 47 && target !== "*") {
    try {
      return new URL(target).host;
    } catch {
      return null;
    }
  }
  return req.header("host");
}

function checkPattern(pattern: unknown): string[] {
  const wanted = 'dot-separated host labels or "*", such as "api" or "*.users"';
  if (typeof pattern !== "string" || pattern.length === 0) throw invalidOption("subdomain", "pattern", wanted, pattern);
  return pattern.split(".").map((label) => {
    if (label === "*") return label;
    // internationalized labels as the Host carries them (punycode)
    const ascii = /^[\x00-\x7f]*$/.test(label) ? label.toLowerCase() : domainToASCII(label);
    if (!LABEL.test(ascii)) throw invalidOption("subdomain", "pattern", wanted, pattern);
    return ascii;
  });
}

/**
 * Passes requests whose host's subdomain labels match `pattern` to `handler`, others to `next`.
 * The labels left of the `skip` rightmost ones (the domain) are the subdomains; `*` matches any
 * one label; labels compare case-insensitively, the port aside. The pattern is aligned on the
 * right: unless `strict`, more labels may stand on its left. The subdomains, in host order, go to
 * `ctx.subdomains`. A request without Host, or for an IP address, never matches. `handler` may be
 * a Router (or anything with `handle`).
 *
 * @example
 * app.use(subdomain("api", api)); // api.example.com, v1.api.example.com
 * app.use(subdomain("*", (req, res, next, ctx) => res.expandUtf8(`tenant ${ctx.subdomains[0]}`), { strict: true }));
 */
export function subdomain(pattern: string, handler: HandlerCallback<SubdomainContext> | Handler, options: SubdomainOptions = {}): HandlerCallback {
  const labels = checkPattern(pattern);
  const forward = handlerOption("subdomain", "handler", handler);
  if (options === null || typeof options !== "object") throw invalidOption("subdomain", "options", "an object", options);
  const strict = options.strict ?? SUBDOMAIN_DEFAULTS.strict;
  const skip = options.skip ?? SUBDOMAIN_DEFAULTS.skip;
  if (typeof strict !== "boolean") throw invalidOption("subdomain", "strict", "a boolean", strict);
  if (!Number.isSafeInteger(skip) || skip < 0) throw invalidOption("subdomain", "skip", "a non-negative integer", skip);
  const count = labels.length;
  return function subdomain(req: Request, res: Response, next: NextCallback, ctx: Context): boolean | Promise<boolean> {
    const host = hostLabels(requestHost(req));
    if (host === null) return next();
    const have = host.length - skip;
    if (have < count || (strict && have !== count)) return next();
    const offset = have - count;
    for (let i = 0; i < count; i++) {
      const want = labels[i]!;
      if (want !== "*" && want !== host[offset + i]) return next();
    }
    host.length = have;
    ctx.subdomains = host;
    return forward(req, res, next, ctx as SubdomainContext);
  };
}
