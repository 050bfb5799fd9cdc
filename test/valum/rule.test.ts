import { describe, it, expect } from "@jest/globals";
import { Router, Method, compileRule, parseRule, RuleError, createType, builtinTypes } from "../../valum/index.js";
import { withServer } from "./util.js";

describe("rule grammar", () => {
  it("spells a literal as this runtime's URL parser spells the request path (^ is encoded from Node 24 on)", async () => {
    const app = new Router();
    app.get("/a^b c|d", (req, res) => res.expandUtf8("literal"));
    await withServer(app, async (c) => {
      // Sent as a client would: node:http's client leaves ^ and | as they are, the space encoded.
      const res = await c.send("GET", "/a^b%20c|d");
      expect(res.status).toBe(200);
      expect(res.text).toBe("literal");
    });
  });

  it("matches literal text exactly", () => {
    const rule = compileRule("/about/team");
    expect(rule.isStatic).toBe(true);
    expect(rule.match("/about/team")).toEqual({});
    expect(rule.match("/about/team/")).toBeNull();
    expect(rule.match("/about")).toBeNull();
  });

  it("<name> is a string parameter of word characters", () => {
    const rule = compileRule("/hello/<name>");
    expect(rule.match("/hello/world_1")).toEqual({ name: "world_1" });
    expect(rule.match("/hello/a-b")).toBeNull();
    expect(rule.match("/hello/")).toBeNull();
    expect(rule.match("/hello/a/b")).toBeNull();
  });

  it("<type:name> uses the named type", () => {
    const rule = compileRule("/users/<int:id>");
    expect(rule.match("/users/42")).toEqual({ id: 42 });
    expect(rule.match("/users/abc")).toBeNull();
  });

  it("int converts to a number", () => {
    const params = compileRule("/n/<int:n>").match("/n/007");
    expect(params).toEqual({ n: 7 });
    expect(typeof params!.n).toBe("number");
    expect(compileRule("/n/<int:n>").match("/n/-1")).toBeNull();
  });

  it("path matches segments separated by /, never . or ..", () => {
    const rule = compileRule("/files/<path:p>");
    expect(rule.match("/files/a/b/c.txt")).toEqual({ p: "a/b/c.txt" });
    expect(rule.match("/files/.hidden/x")).toEqual({ p: ".hidden/x" });
    expect(rule.match("/files/a/../b")).toBeNull();
    expect(rule.match("/files/./b")).toBeNull();
    expect(rule.match("/files/..")).toBeNull();
    expect(rule.match("/files/a/%2e%2E/b")).toBeNull(); // encoded dots are dots
    expect(rule.match("/files/a%2F..%2Fb")).toBeNull(); // an encoded slash is no separator
    expect(rule.match("/files/a//b")).toBeNull();
    expect(rule.match("/files/")).toBeNull();
  });

  it("path does not let a literal after it carve out a .. segment", () => {
    const rule = compileRule("/files/<path:p>.html");
    expect(rule.match("/files/a/b.html")).toEqual({ p: "a/b" });
    expect(rule.match("/files/...html")).toBeNull();
  });

  it("groups with ? are optional as a whole", () => {
    const rule = compileRule("/users(/<int:id>(/<name>)?)?");
    expect(rule.match("/users")).toEqual({});
    expect(rule.match("/users/5")).toEqual({ id: 5 });
    expect(rule.match("/users/5/ana")).toEqual({ id: 5, name: "ana" });
    expect(rule.match("/users/ana")).toBeNull();
    expect(rule.match("/users/")).toBeNull();
  });

  it("? makes the previous character optional", () => {
    const rule = compileRule("/colou?r/?");
    for (const path of ["/color", "/colour", "/color/", "/colour/"]) expect(rule.match(path)).toEqual({});
    expect(rule.match("/colouur")).toBeNull();
  });

  it("? makes the previous parameter optional", () => {
    const rule = compileRule("/page/<int:n>?");
    expect(rule.match("/page/")).toEqual({});
    expect(rule.match("/page/3")).toEqual({ n: 3 });
  });

  it("a group without ? is just a group", () => {
    expect(compileRule("/(a)/<x>").match("/a/b")).toEqual({ x: "b" });
  });

  it("* matches anything, slashes included", () => {
    const rule = compileRule("/static/*");
    expect(rule.match("/static/")).toEqual({});
    expect(rule.match("/static/css/site.css")).toEqual({});
    expect(rule.match("/stati")).toBeNull();
    expect(compileRule("*").match("/anything/at/all")).toEqual({});
  });

  it("several parameters within one segment", () => {
    expect(compileRule("/<int:y>-<int:m>-<int:d>.json").match("/2024-05-17.json")).toEqual({ y: 2024, m: 5, d: 17 });
  });

  it("matches the encoded path and decodes captured values", () => {
    const rule = compileRule("/hello/<name>");
    expect(rule.match("/hello/Jos%C3%A9")).toEqual({ name: "José" });
    expect(compileRule("/f/<path:p>").match("/f/a%20b/c")).toEqual({ p: "a b/c" });
  });

  it("encodes non-ASCII literals to match the encoded path", () => {
    const rule = compileRule("/café/<int:n>");
    expect(rule.prefix).toBe("/caf%C3%A9/");
    expect(rule.match("/caf%C3%A9/1")).toEqual({ n: 1 });
  });

  it("refuses bad syntax with an error naming the rule", () => {
    expect(() => parseRule("/a(b")).toThrow(/unclosed "\(".*"\/a\(b"/);
    expect(() => parseRule("/a)b")).toThrow(/unbalanced "\)"/);
    expect(() => parseRule("/<a")).toThrow(/unclosed "<"/);
    expect(() => parseRule("?a")).toThrow(/nothing to make optional/);
    expect(() => parseRule("/a??")).toThrow(/nothing to make optional/);
    expect(() => parseRule("/<a-b>")).toThrow(RuleError);
    expect(() => compileRule("/<a>/<a>")).toThrow(/appears twice/);
  });

  it("an unknown type is an error at registration, naming the rule", () => {
    const app = new Router();
    expect(() => app.get("/x/<uuid:id>", (req, res) => res.end())).toThrow(
      /unknown type "uuid" for parameter "id" in rule "\/x\/<uuid:id>"/,
    );
  });
});

describe("registered types", () => {
  it("registerType adds a type with a converter, for rules registered after it", async () => {
    const app = new Router().registerType("hex", /[0-9a-fA-F]+/, (s) => parseInt(s, 16));
    app.get("/color/<hex:rgb>", (req, res, next, ctx) => res.expandUtf8(String(ctx.rgb + 1)));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/color/ff")).text).toBe("256");
      expect((await c.send("GET", "/color/zz")).status).toBe(404);
    });
  });

  it("without a converter a registered type gives the decoded text", async () => {
    const app = new Router().registerType("slug", /(?:[a-z0-9-]|%[0-9A-F]{2})+/);
    app.get("/posts/<slug:s>", (req, res, next, ctx) => res.expandUtf8(JSON.stringify(ctx.s)));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/posts/hello-world")).text).toBe('"hello-world"');
      expect((await c.send("GET", "/posts/caf%C3%A9")).text).toBe('"café"');
      expect((await c.send("GET", "/posts/Upper")).status).toBe(404);
    });
  });

  it("types with capturing groups do not shift the other parameters", () => {
    const lookup = (name: string) => (name === "pair" ? createType(/(\d+)x(\d+)/) : builtinTypes[name as "string"]);
    const rule = compileRule("/img/<pair:size>/<name>", lookup);
    expect(rule.match("/img/10x20/logo")).toEqual({ size: "10x20", name: "logo" });
  });

  it("a type cannot use flags that would not survive being embedded", () => {
    expect(() => createType(/abc/i)).toThrow(/flags/);
  });

  it("a type registered later does not apply to earlier rules (compiled once)", () => {
    const app = new Router();
    expect(() => app.get("/a/<later:x>", (req, res) => res.end())).toThrow(/unknown type "later"/);
    app.registerType("later", /x+/);
    expect(() => app.get("/a/<later:x>", (req, res) => res.end())).not.toThrow();
  });
});

describe("rule types through the router", () => {
  it("puts int, string and path parameters into the context, converted", async () => {
    const app = new Router();
    app.get("/t/<int:i>/<s>/<path:p>", (req, res, next, ctx) =>
      res.expandUtf8(JSON.stringify({ i: ctx.i, s: ctx.s, p: ctx.p, types: [typeof ctx.i, typeof ctx.s] })),
    );
    await withServer(app, async (c) => {
      const res = await c.send("GET", "/t/12/ab_c/x/y%20z.txt");
      expect(JSON.parse(res.text)).toEqual({ i: 12, s: "ab_c", p: "x/y z.txt", types: ["number", "string"] });
      // the path is normalized before routing: the dot segments are gone by then
      expect(JSON.parse((await c.send("GET", "/t/12/ab_c/x/../y")).text).p).toBe("y");
    });
  });

  it("answers 400 for a malformed percent-encoding in a parameter", async () => {
    const app = new Router();
    app.get("/f/<path:p>", (req, res, next, ctx) => res.expandUtf8(String(ctx.p)));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/f/%C3")).status).toBe(400);
    });
  });
});

describe("int and big identifiers", () => {
  it("int matches only what fits a safe integer, so the number is the one written", () => {
    const rule = compileRule("/n/<int:n>");
    expect(rule.match("/n/9007199254740991")).toEqual({ n: Number.MAX_SAFE_INTEGER });
    expect(rule.match("/n/0009007199254740991")).toEqual({ n: Number.MAX_SAFE_INTEGER });
    expect(rule.match("/n/9007199254740992")).toBeNull();
    expect(rule.match("/n/9007199254740993")).toBeNull();
    expect(rule.match("/n/12345678901234567890123")).toBeNull();
  });

  it("an int too large is a 404 (never a rounded number, never a 500), and the following routes may take it", async () => {
    const app = new Router().registerType("bigint", /\d+/, BigInt);
    app.get("/big/<int:id>", (req, res, next, ctx) => res.expandUtf8(`int ${ctx.id}`), "big");
    app.get("/huge/<int:id>", (req, res, next, ctx) => res.expandUtf8(`int ${ctx.id}`));
    app.get("/huge/<bigint:id>", (req, res, next, ctx) => res.expandUtf8(`bigint ${ctx.id + 1n}`));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/big/9007199254740991")).text).toBe("int 9007199254740991");
      expect((await c.send("GET", "/big/9007199254740993")).status).toBe(404);
      expect((await c.send("GET", "/big/12345678901234567890123")).status).toBe(404);
      expect((await c.send("GET", "/huge/42")).text).toBe("int 42");
      expect((await c.send("GET", "/huge/9007199254740993")).text).toBe("bigint 9007199254740994");
    });
    // urlFor refuses what the route would not match
    expect(() => app.urlFor("big", { id: 2 ** 60 })).toThrow(/does not match the type int/);
    expect(() => app.urlFor("big", { id: "12345678901234567890123" })).toThrow(/does not match the type int/);
  });

  it("a bigint type keeps big identifiers exact, and urlFor takes the bigint back", async () => {
    const app = new Router().registerType("bigint", /\d+/, BigInt).get(
      "/orders/<bigint:id>",
      (req, res, next, ctx) => res.expandUtf8(`${typeof ctx.id} ${ctx.id}`),
      "order",
    );
    const url = app.urlFor("order", { id: 12345678901234567890123n });
    expect(url).toBe("/orders/12345678901234567890123");
    await withServer(app, async (c) => {
      expect((await c.send("GET", url)).text).toBe("bigint 12345678901234567890123");
    });
  });
});

describe("where a rule starts", () => {
  const h = (req: unknown, res: { end(): Promise<true> }) => res.end();

  it("a rule without a leading / is an error at registration, naming the rule", () => {
    const app = new Router();
    expect(() => app.get("users/<int:id>", h)).toThrow(RuleError);
    expect(() => app.get("users/<int:id>", h)).toThrow(/must start with "\/".*write "\/users\/<int:id>" in rule "users\/<int:id>"/);
    expect(() => app.rule(Method.POST, "<id>", h)).toThrow(/must start with "\/"/);
    expect(() => app.get("/?x", h)).toThrow(/must start with "\/"/); // "x" alone would be a path
    expect(() => app.get("(<lang>/)?about", h)).toThrow(/must start with "\/"/);
    expect(() => app.get("", h)).toThrow(/empty rule matches no path/);
    expect(() => app.path(Method.GET, "robots.txt", h)).toThrow(/a path must start with "\/"/);
  });

  it("accepts rules that start with /, an optional part that does, or *", async () => {
    const app = new Router();
    app.get("(/<lang>)?/about", (req, res, next, ctx) => res.expandUtf8(`about ${String(ctx.lang)}`));
    app.get("/?", (req, res) => res.expandUtf8("root"));
    app.path(Method.OPTIONS, "*", (req, res) => res.expandUtf8("asterisk"));
    app.get("*", (req, res) => res.expandUtf8("anything"));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/about")).text).toBe("about undefined");
      expect((await c.send("GET", "/fr/about")).text).toBe("about fr");
      expect((await c.send("GET", "/")).text).toBe("root");
      expect((await c.send("GET", "/x/y")).text).toBe("anything");
      expect(await c.raw("OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).toMatch(/\r\n\r\nasterisk$/);
    });
  });

  it("in a scope a rule starts with / or is empty, and the prefix does not end with /", async () => {
    const app = new Router();
    expect(() => app.scope("/admin", (admin) => admin.get("users", h))).toThrow(/must start with "\/" \(it follows the scope prefix "\/admin"\)/);
    expect(() => app.scope("/admin", (admin) => admin.path(Method.GET, "users", h))).toThrow(/a path must start with "\/"/);
    expect(() => app.scope("/admin", (admin) => admin.get("*", h))).toThrow(/leading "\*".*write "\/\*" or "\(\/\*\)\?"/);
    expect(() => app.scope("admin", () => {})).toThrow(/must start with "\/"/);
    expect(() => app.scope("/admin", (admin) => admin.scope("deep", () => {}))).toThrow(/must start with "\/"/);
    expect(() => app.scope("/admin/", () => {})).toThrow(/cannot end with "\/".*write "\/admin"/);
    app.scope("/files", (files) => {
      files.get("", (req, res) => res.expandUtf8("index"));
      files.get("(/*)?", (req, res) => res.expandUtf8(`under ${req.path}`));
      files.path(Method.POST, "", (req, res) => res.expandUtf8("posted"));
    });
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/files")).text).toBe("index");
      expect((await c.send("GET", "/files/a/b")).text).toBe("under /files/a/b");
      expect((await c.send("POST", "/files")).text).toBe("posted");
      expect((await c.send("GET", "/filesx")).status).toBe(404);
    });
  });
});
