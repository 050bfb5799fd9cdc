import { describe, it, expect } from "@jest/globals";
import { Router, sequence, type HandlerCallback } from "../../../valum/index.js";
import { ERR_INVALID_OPTION } from "../../../vsgi/index.js";
import { withServer } from "../util.js";

describe("sequence", () => {
  it("runs each handler with the following one as next, the last with the route's next", async () => {
    const order: string[] = [];
    const step =
      (name: string): HandlerCallback =>
      (req, res, next, ctx) => {
        order.push(name);
        ctx[name] = true;
        return next();
      };
    const app = new Router();
    app.get("/", sequence(step("a"), step("b"), step("c")));
    app.get("/", (req, res, next, ctx) => res.expandUtf8(["a", "b", "c"].filter((k) => ctx[k] === true).join("")));
    await withServer(app, async (c) => {
      expect((await c.send("GET", "/")).text).toBe("abc");
    });
    expect(order).toEqual(["a", "b", "c"]);
  });

  it("shares the route's context: what one stores, the next ones and the following routes read", async () => {
    const app = new Router();
    app.get(
      "/",
      sequence(
        (req, res, next, ctx) => {
          ctx.user = "ana";
          return next();
        },
        (req, res, next, ctx) => {
          ctx.greeting = `hello ${String(ctx.user)}`;
          return next();
        },
      ),
    );
    app.get("/", (req, res, next, ctx) => res.expandUtf8(String(ctx.greeting)));
    await withServer(app, async (c) => expect((await c.send("GET", "/")).text).toBe("hello ana"));
  });

  it("stops where a handler answers without calling next", async () => {
    let reached = false;
    const app = new Router();
    app.get(
      "/",
      sequence(
        (req, res) => res.expandUtf8("early"),
        () => {
          reached = true;
          return true;
        },
      ),
    );
    await withServer(app, async (c) => expect((await c.send("GET", "/")).text).toBe("early"));
    expect(reached).toBe(false);
  });

  it("refuses no handler, or something else", () => {
    expect(() => sequence()).toThrow(expect.objectContaining({ code: ERR_INVALID_OPTION }));
    expect(() => sequence((req, res) => true, 5 as never)).toThrow(expect.objectContaining({ message: expect.stringContaining("sequence: option handlers[1]") }));
  });
});
