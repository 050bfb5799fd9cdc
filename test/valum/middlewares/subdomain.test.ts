import { describe, it, expect } from "@jest/globals";
import { Router, subdomain, hostLabels, SUBDOMAIN_DEFAULTS, type HandlerCallback } from "../../../valum/index.js";
import { ERR_INVALID_OPTION } from "../../../vsgi/index.js";
import { withServer, type Client } from "../util.js";

/** Names the route that answered, with the subdomains it was given. */
const answer =
  (name: string): HandlerCallback =>
  (req, res, next, ctx) =>
    res.expandUtf8(`${name} ${JSON.stringify(ctx.subdomains)}`);

async function on(c: Client, host: string | null, target = "/"): Promise<string> {
  if (host === null) {
    // node:http always sends a Host: an HTTP/1.0 request without one, by hand
    const raw = await c.raw(`GET ${target} HTTP/1.0\r\n\r\n`);
    return raw.slice(raw.indexOf("\r\n\r\n") + 4);
  }
  return (await c.send("GET", target, { Host: host })).text;
}

describe("subdomain", () => {
  const app = new Router();
  app.use(subdomain("api", answer("api")));
  app.use(subdomain("*.users", answer("user"), { strict: true }));
  app.use(subdomain("bücher", answer("books")));
  app.use(subdomain("shop", answer("shop"), { skip: 3 }));
  app.get("/", (req, res) => res.expandUtf8("main"));

  it("matches a label, case folded, the port aside", async () => {
    await withServer(app, async (c) => {
      expect(await on(c, "api.example.com", "/")).toBe('api ["api"]');
      expect(await on(c, "API.Example.COM:8080")).toBe('api ["api"]');
      expect(await on(c, "api.example.com.")).toBe('api ["api"]');
      expect(await on(c, "apix.example.com")).toBe("main");
      expect(await on(c, "example.com")).toBe("main");
    });
  });

  it("lets more labels stand on the left unless strict", async () => {
    await withServer(app, async (c) => {
      expect(await on(c, "v1.api.example.com")).toBe('api ["v1","api"]');
      expect(await on(c, "ana.users.example.com")).toBe('user ["ana","users"]');
      expect(await on(c, "x.ana.users.example.com")).toBe("main"); // strict: one label too many
      expect(await on(c, "users.example.com")).toBe("main"); // `*` needs a label
    });
  });

  it("skips the labels of the domain", async () => {
    await withServer(app, async (c) => {
      expect(await on(c, "shop.example.co.uk")).toBe('shop ["shop"]');
      expect(await on(c, "shop.co.uk")).toBe("main"); // with skip 3, co.uk has no subdomain
    });
  });

  it("compares an internationalized label as the Host carries it (punycode)", async () => {
    await withServer(app, async (c) => {
      expect(await on(c, "xn--bcher-kva.example.com")).toBe('books ["xn--bcher-kva"]');
    });
  });

  it("never matches an IP address, an IPv6 literal, a malformed or missing Host", async () => {
    const any = new Router();
    any.use(subdomain("*", answer("sub"), { skip: 0 }));
    any.get("/", (req, res) => res.expandUtf8("main"));
    await withServer(any, async (c) => {
      expect(await on(c, "example")).toBe('sub ["example"]'); // skip 0: every label counts
      expect(await on(c, "127.0.0.1:8080")).toBe("main");
      expect(await on(c, "10.1")).toBe("main");
      expect(await on(c, "0x7f.1")).toBe("main");
      expect(await on(c, "[::1]:8080")).toBe("main");
      expect(await on(c, "a..b")).toBe("main");
      expect(await on(c, "a_b-.example")).toBe("main");
      expect(await on(c, "api.example.com:port")).toBe("main");
      expect(await on(c, null)).toBe("main");
    });
  });

  it("takes the host of an absolute-form target over the Host header", async () => {
    await withServer(app, async (c) => {
      const raw = await c.raw("GET http://api.example.com/ HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n");
      expect(raw.slice(raw.indexOf("\r\n\r\n") + 4)).toBe('api ["api"]');
    });
  });

  it("hands the request to a Router, which answers all of it", async () => {
    const api = new Router();
    api.get("/users", (req, res) => res.expandUtf8("api users"));
    const site = new Router();
    site.use(subdomain("api", api));
    site.get("/users", (req, res) => res.expandUtf8("site users"));
    await withServer(site, async (c) => {
      expect(await on(c, "api.example.com", "/users")).toBe("api users");
      expect((await c.send("GET", "/other", { Host: "api.example.com" })).status).toBe(404);
      expect(await on(c, "www.example.com", "/users")).toBe("site users");
    });
  });

  it("reads the host's labels (pure)", () => {
    expect(hostLabels("A.b.C:1")).toEqual(["a", "b", "c"]);
    expect(hostLabels("[::1]")).toBeNull();
    expect(hostLabels("1.2.3.4")).toBeNull();
    expect(hostLabels(null)).toBeNull();
  });

  it("checks its options at registration", () => {
    const fails = (f: () => unknown, option: string) =>
      expect(f).toThrow(expect.objectContaining({ code: ERR_INVALID_OPTION, message: expect.stringContaining(`subdomain: option ${option}`) }));
    const h = answer("x");
    fails(() => subdomain("", h), "pattern");
    fails(() => subdomain("a..b", h), "pattern");
    fails(() => subdomain("a b", h), "pattern");
    fails(() => subdomain("-a", h), "pattern");
    fails(() => subdomain("a", h, { strict: "yes" as never }), "strict");
    fails(() => subdomain("a", h, { skip: -1 }), "skip");
    fails(() => subdomain("a", h, { skip: 1.5 }), "skip");
    fails(() => subdomain("a", null as never), "handler");
    expect(subdomain("a", h).name).toBe("subdomain");
    expect(SUBDOMAIN_DEFAULTS).toEqual({ strict: false, skip: 2 });
  });
});
