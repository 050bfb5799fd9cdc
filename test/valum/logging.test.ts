import { readFileSync } from "node:fs";
import { describe, it, expect } from "@jest/globals";
import { Router, ClientError, toStatus, type HandlerCallback } from "../../valum/index.js";
import { withServer } from "./util.js";
import { capturingErrors } from "../helpers/log.js";

/** The first `ts` block of the section `heading` of docs/router.md, as written there. */
function docsBlock(heading: string): string {
  const page = readFileSync(new URL("../../../docs/router.md", import.meta.url), "utf8");
  const start = page.indexOf(`\n### ${heading}\n`);
  expect(start).toBeGreaterThan(-1);
  const open = page.indexOf("```ts\n", start);
  const close = page.indexOf("\n```\n", open);
  return page.slice(open + "```ts\n".length, close + 1);
}

/** Routes answering 200, a thrown 404, a thrown 405 (wrong method), a failure (500) and a 201. */
function routes(app: Router): void {
  app.get("/ok", (req, res) => res.expandUtf8("ok"));
  app.get("/missing", () => {
    throw ClientError.notFound("no such thing");
  });
  app.get("/boom", () => {
    throw new Error("the database is gone");
  });
  app.post("/made", (req, res) => {
    res.status = 201;
    return res.expandUtf8("made");
  });
}

async function requests(app: Router): Promise<number[]> {
  const seen: number[] = [];
  await withServer(app, async (c) => {
    for (const [method, path] of [["GET", "/ok"], ["GET", "/missing"], ["GET", "/nowhere"], ["GET", "/boom"], ["POST", "/made"], ["DELETE", "/ok"]]) {
      seen.push((await c.send(method!, path!)).status);
    }
  });
  return seen;
}

describe("the logging example of docs/router.md", () => {
  it("logs the status the client gets, thrown statuses and failures included", async () => {
    const code = docsBlock("Logging the status the client gets");
    expect(code).toContain("toStatus(error)");
    const lines: unknown[][] = [];
    const console = { log: (...args: unknown[]) => lines.push(args) };
    const app = new Router();
    // the block is plain JavaScript as well as TypeScript: run it as written
    new Function("app", "toStatus", "console", code)(app, toStatus, console);
    routes(app);
    let statuses: number[] = [];
    const errors = await capturingErrors(async () => {
      statuses = await requests(app);
    });
    expect(statuses).toEqual([200, 404, 404, 500, 201, 405]);
    expect(lines.map((line) => line.slice(0, 3))).toEqual([
      ["GET", "/ok", 200],
      ["GET", "/missing", 404],
      ["GET", "/nowhere", 404],
      ["GET", "/boom", 500],
      ["POST", "/made", 201],
      ["DELETE", "/ok", 405],
    ]);
    for (const line of lines) expect(line[3]).toMatch(/^\d+ ms$/);
    expect(errors).toEqual(["GET /boom: unhandled error the database is gone"]);
  });

  it("reading res.status alone would log 200 for a thrown status (why the example catches)", async () => {
    const logged: number[] = [];
    const naive: HandlerCallback = async (req, res, next) => {
      try {
        return await next();
      } finally {
        logged.push(res.status);
      }
    };
    const app = new Router().use(naive);
    routes(app);
    let statuses: number[] = [];
    const errors = await capturingErrors(async () => {
      statuses = await requests(app);
    });
    expect(statuses).toEqual([200, 404, 404, 500, 201, 405]);
    expect(errors).toEqual(["GET /boom: unhandled error the database is gone"]);
    expect(logged).toEqual([200, 200, 200, 200, 201, 200]);
  });
});
