import { describe, it, expect } from "@jest/globals";
import { Router, forward, type ForwardCallback, type HandlerCallback } from "../../../valum/index.js";
import { ERR_INVALID_OPTION } from "../../../vsgi/index.js";
import { withServer } from "../util.js";

/** A middleware producing a value the way every valued middleware does: ctx.found, then forward. */
function find(value: string, then: ForwardCallback<string>): HandlerCallback {
  return (req, res, next, ctx) => {
    ctx.found = value;
    return then(req, res, next, ctx, value);
  };
}

describe("forward", () => {
  it("forward(values) stores the values in the context and calls next", async () => {
    const app = new Router();
    app.use(forward({ site: "docs", version: 2 }));
    app.get("/", (req, res, next, ctx) => res.expandUtf8(`${String(ctx.site)} ${String(ctx.version)}`));
    await withServer(app, async (c) => expect((await c.send("GET", "/")).text).toBe("docs 2"));
  });

  it("forward itself is a ForwardCallback that calls next, the value left in the context", async () => {
    const app = new Router();
    app.get("/", find("it", forward));
    app.get("/", (req, res, next, ctx) => res.expandUtf8(`found ${String(ctx.found)}`));
    await withServer(app, async (c) => expect((await c.send("GET", "/")).text).toBe("found it"));
  });

  it("refuses anything but one object of values", () => {
    for (const bad of [null, 5, "x", ["a"]]) {
      expect(() => forward(bad as never)).toThrow(expect.objectContaining({ code: ERR_INVALID_OPTION, message: expect.stringContaining("forward: option values") }));
    }
  });
});
