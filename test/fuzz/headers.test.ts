// Random header values against the pure parsers of valum/http (Cache-Control, Content-Encoding,
// Content-Length, Vary) and, through decode, cors and contentLength, against a live server:
// never an exception, what parses serialises back to the same thing, and only the statuses the
// RFCs name. Seeded, bounded iterations.
import { describe, it, expect } from "@jest/globals";
import { gzipSync } from "node:zlib";
import {
  Router,
  Method,
  checkCacheDirectives,
  contentLength,
  cors,
  decode,
  mergeVary,
  parseCacheControl,
  parseContentCoding,
  parseContentLength,
  parseVary,
  serializeCacheControl,
  serializeContentCoding,
} from "../../valum/index.js";
import { send } from "../helpers/http.js";
import { withServer } from "../valum/util.js";
import { random, int } from "../helpers/random.js";

const PIECES = ["gzip", "br", "deflate", "identity", "x-gzip", "max-age", "no-cache", "private", "public", "=", ",", " ", "\t", '"', "\\", ";", "0", "9", "é", "*", "a", "-"];

/** Printable text made of header-ish pieces and random printable characters. */
function value(rand: () => number): string {
  let text = "";
  for (let n = int(rand, 10); n > 0; n--) text += rand() < 0.7 ? PIECES[int(rand, PIECES.length)] : String.fromCharCode(0x20 + int(rand, 0x5f));
  return text;
}

describe("header parsers on random input", () => {
  it("never throw, and round-trip what they accept", () => {
    const rand = random(20261204);
    for (let i = 0; i < 3000; i++) {
      const text = value(rand);
      const directives = parseCacheControl(text);
      if (directives !== null && checkCacheDirectives(directives) === null) {
        expect(parseCacheControl(serializeCacheControl(directives))).toEqual(directives);
      }
      const codings = parseContentCoding(text);
      if (codings !== null) expect(parseContentCoding(serializeContentCoding(codings))).toEqual(codings);
      const length = parseContentLength(text);
      if (length !== null) expect(Number.isSafeInteger(length) && length >= 0).toBe(true);
      const names = parseVary(text);
      const merged = mergeVary(text, ["Origin"]);
      expect(names.includes("*") ? merged === "*" : parseVary(merged).some((n) => n.toLowerCase() === "origin")).toBe(true);
    }
  });
});

describe("body and CORS middlewares on random headers", () => {
  it("answer only 200, 204, 400, 413 or 415, and keep serving", async () => {
    const app = new Router();
    app.use(cors({ origin: ["https://a.example"], credentials: true }));
    app.use(contentLength(1000));
    app.use(decode({ limit: 1000 }));
    app.rule(Method.ANY, "/", async (req, res) => res.expandUtf8(String((await req.flatten()).length)));
    const rand = random(4);
    const body = gzipSync("x".repeat(500));
    const bodies = [body, gzipSync("x".repeat(5000)), Buffer.alloc(2000)];
    const seen = new Set<number>();
    await withServer(app, async (c) => {
      for (let i = 0; i < 200; i++) {
        const headers: Record<string, string> = { "Content-Encoding": value(rand).trim() || "gzip", Origin: value(rand).trim() || "null" };
        if (rand() < 0.3) headers["Access-Control-Request-Method"] = "PUT";
        if (rand() < 0.3) headers["Access-Control-Request-Headers"] = value(rand);
        const res = await send(c.port, rand() < 0.2 ? "OPTIONS" : "POST", "/", headers, rand() < 0.5 ? bodies[int(rand, bodies.length)] : Buffer.from(value(rand)));
        expect([200, 204, 400, 413, 415]).toContain(res.status);
        seen.add(res.status);
      }
      // the input reaches every branch, not just the first refusal
      expect([...seen].sort()).toEqual([200, 204, 400, 413, 415]);
      expect((await send(c.port, "POST", "/", { "Content-Encoding": "gzip" }, body)).body.toString()).toBe("500");
    });
  });
});
