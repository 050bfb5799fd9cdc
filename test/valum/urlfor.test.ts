import { describe, it, expect } from "@jest/globals";
import { Router, Method, RuleError } from "../../valum/index.js";
import { withServer } from "./util.js";

const end = (req: unknown, res: { end(): Promise<true> }) => res.end();

describe("urlFor", () => {
  const app = new Router()
    .registerType("hex", /[0-9a-f]+/, (s) => parseInt(s, 16), (n) => n.toString(16))
    .get("/users/<int:id>", end, "user")
    .get("/users/<int:id>/<name>", end, "user-name")
    .get("/posts(/<int:page>)?", end, "posts")
    .get("/archive(/<int:year>(/<int:month>)?)?", end, "archive")
    .get("/files/<path:p>", end, "file")
    .get("/colou?r/<hex:c>", end, "color")
    .get("/static/*", end, "static")
    .path(Method.GET, "/about us", end, "about")
    .scope("/api/<int:v>", (api) => api.get("/items/<int:id>", end, "item").path(Method.GET, "/status", end, "api-status"));

  it("reverses a rule with its parameters", () => {
    expect(app.urlFor("user", { id: 5 })).toBe("/users/5");
    expect(app.urlFor("user-name", { id: 5, name: "ana" })).toBe("/users/5/ana");
  });

  it("percent-encodes the values", () => {
    expect(app.urlFor("user-name", { id: 1, name: "José" })).toBe("/users/1/Jos%C3%A9");
    expect(app.urlFor("file", { p: "docs/a b/ü.txt" })).toBe("/files/docs/a%20b/%C3%BC.txt");
  });

  it("leaves out optional parts whose parameters are absent", () => {
    expect(app.urlFor("posts")).toBe("/posts");
    expect(app.urlFor("posts", {})).toBe("/posts");
    expect(app.urlFor("posts", { page: 2 })).toBe("/posts/2");
    expect(app.urlFor("archive", {})).toBe("/archive");
    expect(app.urlFor("archive", { year: 2024 })).toBe("/archive/2024");
    expect(app.urlFor("archive", { year: 2024, month: 5 })).toBe("/archive/2024/5");
  });

  it("leaves out optional characters and the * part", () => {
    expect(app.urlFor("color", { c: "ff00aa" })).toBe("/color/ff00aa");
    expect(app.urlFor("color", { c: 255 })).toBe("/color/ff"); // through the type's format
    expect(app.urlFor("static")).toBe("/static/");
  });

  it("reverses exact paths, encoded", () => {
    expect(app.urlFor("about")).toBe("/about%20us");
  });

  it("includes the scope prefix and its parameters", () => {
    expect(app.urlFor("item", { v: 2, id: 9 })).toBe("/api/2/items/9");
    expect(app.urlFor("api-status", { v: 1 })).toBe("/api/1/status");
  });

  it("throws for a missing required parameter, naming it", () => {
    expect(() => app.urlFor("user" as string, {})).toThrow(RuleError);
    expect(() => app.urlFor("user" as string, {})).toThrow(/missing parameter "id"/);
    expect(() => app.urlFor("archive" as string, { month: 5 })).toThrow(/missing parameter "year"/);
  });

  it("throws for a value its type does not match, an unknown parameter or an unknown name", () => {
    expect(() => app.urlFor("user" as string, { id: "five" })).toThrow(/does not match the type int/);
    expect(() => app.urlFor("file" as string, { p: "a/../b" })).toThrow(/does not match the type path/);
    expect(() => app.urlFor("user" as string, { id: 1, other: 2 })).toThrow(/unknown parameter "other"/);
    // the exact message: an unknown name is no rule
    expect(() => app.urlFor("nope")).toThrow(new Error('no route is named "nope"'));
  });

  it("refuses two routes with one name", () => {
    expect(() => app.get("/again", end, "user")).toThrow(/already named "user"/);
  });

  it("builds URLs the router routes back to the same parameters", async () => {
    const router = new Router();
    router.get("/u/<int:id>/<name>/<path:rest>", (req, res, next, ctx) => res.expandUtf8(JSON.stringify([ctx.id, ctx.name, ctx.rest])), "u");
    const url = router.urlFor("u", { id: 42, name: "Zoë", rest: "a b/c+d" });
    await withServer(router, async (c) => {
      expect(JSON.parse((await c.send("GET", url)).text)).toEqual([42, "Zoë", "a b/c+d"]);
    });
  });
});
