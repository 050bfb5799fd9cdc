// A tampered signed cookie is refused: each byte of the value or of the signature changed, the
// signature cut at every length, dropped, re-padded, in base64url, moved to another value, made
// with another secret; rotation accepts an old secret only while it is listed. Through the http
// backend, the cookie in a real request.
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { createHmac } from "node:crypto";
import { Server, serializeCookie, unsignCookie, type Request, type Response } from "../../vsgi/index.js";
import { send } from "../helpers/http.js";

const SECRET = "a long random secret, 32+ chars!";
const OLD = "the previous secret, still valid";

/** The cookie value (`s:` + value + `.` + signature, not percent-encoded) as setCookie writes it. */
function signed(value: string, secret = SECRET): string {
  const header = serializeCookie("session", value, { signed: secret });
  return decodeURIComponent(header.slice("session=".length));
}

let server: Server;
let port: number;
let secrets: string[] = [SECRET];
beforeAll(async () => {
  server = await Server.load("http", {
    handler: (req: Request, res: Response) => res.expandUtf8(JSON.stringify(req.lookupSignedCookie("session", secrets))),
  });
  await server.listen({ port: 0, host: "127.0.0.1" });
  port = Number(server.uris[0]!.port);
});
afterAll(() => server.stop());

/** What the application reads for a Cookie header carrying `raw` (percent-encoded as a browser sends it back). */
async function read(raw: string, encode = true): Promise<string | null> {
  const res = await send(port, "GET", "/", { Cookie: `session=${encode ? encodeURIComponent(raw) : raw}` });
  return JSON.parse(res.body.toString()) as string | null;
}

/** Every other character at position `i`: a base64 digit for a base64 digit, else a printable one. */
function flips(text: string, i: number): string[] {
  const base64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const c = text[i]!;
  const pool = base64.includes(c) ? [base64[(base64.indexOf(c) + 1) % 64]!, base64[(base64.indexOf(c) + 32) % 64]!] : [String.fromCharCode(c.charCodeAt(0) ^ 1)];
  return pool.map((d) => text.slice(0, i) + d + text.slice(i + 1));
}

describe("a signed cookie", () => {
  const value = "user=alice;role=user.v1";
  const good = signed(value);
  const dot = good.lastIndexOf(".");
  const signature = good.slice(dot + 1);

  it("reads back as written (the test can fail)", async () => {
    expect(good.startsWith("s:")).toBe(true);
    expect(signature).toMatch(/^[A-Za-z0-9+/]{43}$/);
    expect(await read(good)).toBe(value);
  });

  it("is refused with any byte of its value changed", async () => {
    const seen: (string | null)[] = [];
    for (let i = 2; i < dot; i++) for (const forged of flips(good, i)) seen.push(await read(forged));
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.filter((v) => v !== null)).toEqual([]);
  });

  it("is refused with any character of its signature changed, the unused low bits of the last one included", async () => {
    const seen: (string | null)[] = [];
    for (let i = dot + 1; i < good.length; i++) for (const forged of flips(good, i)) seen.push(await read(forged));
    // the last base64 digit carries 4 bits of the HMAC and 2 unused ones: another digit with the
    // same 4 bits decodes to the same bytes, and must be refused all the same
    const base64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const last = base64.indexOf(good[good.length - 1]!);
    for (let low = 0; low < 4; low++) {
      const same = base64[(last & ~3) | low]!;
      if (same !== good[good.length - 1]) seen.push(await read(good.slice(0, -1) + same));
    }
    expect(seen.filter((v) => v !== null)).toEqual([]);
  });

  it("is refused with its signature cut at any length, dropped, padded or in base64url", async () => {
    const forgeries = [
      ...Array.from({ length: signature.length }, (_, n) => good.slice(0, dot + 1 + n)),
      good.slice(0, dot),
      "s:" + value,
      value,
      good + "=",
      good + "==",
      good + "x",
      good.replace(/\+/g, "-").replace(/\//g, "_") === good ? good.slice(0, -1) : good.replace(/\+/g, "-").replace(/\//g, "_"),
      "s:" + value + "." + createHmac("sha256", SECRET).update(value).digest("hex"),
      "s:" + value + "." + createHmac("sha1", SECRET).update(value).digest("base64").replace(/=+$/, ""),
      "S:" + good.slice(2),
      " " + good,
    ];
    const seen = await Promise.all(forgeries.map((f) => read(f)));
    expect(seen.filter((v) => v !== null)).toEqual([]);
  });

  it("is refused with the signature of another value, or a value made longer around the last dot", async () => {
    const other = signed("user=mallory");
    const otherSignature = other.slice(other.lastIndexOf(".") + 1);
    expect(await read("s:" + value + "." + otherSignature)).toBeNull();
    expect(await read("s:user=mallory." + signature)).toBeNull();
    // the signed text ends at the last dot: moving it makes another value, unsigned
    expect(await read(good.slice(0, dot) + ".x." + signature)).toBeNull();
  });

  it("is refused when made with another secret", async () => {
    for (const secret of ["another secret entirely", SECRET.slice(0, -1), SECRET + " ", SECRET.toUpperCase()]) {
      expect(await read(signed(value, secret))).toBeNull();
    }
  });

  it("rotation: an old secret verifies while listed after the new one, and no more once dropped", async () => {
    const byOld = signed(value, OLD);
    secrets = [SECRET, OLD];
    try {
      expect(await read(byOld)).toBe(value);
      expect(await read(good)).toBe(value);
      secrets = [SECRET];
      expect(await read(byOld)).toBeNull();
      secrets = [];
      expect(await read(good)).toBeNull();
    } finally {
      secrets = [SECRET];
    }
  });

  it("unsignCookie refuses the same forgeries without a server", () => {
    expect(unsignCookie(good, SECRET)).toBe(value);
    expect(unsignCookie(good.slice(0, -1), SECRET)).toBeNull();
    expect(unsignCookie(null, SECRET)).toBeNull();
    expect(unsignCookie(good, [])).toBeNull();
  });

  it("an empty secret (anyone can sign with it) is a clear error, to sign or to verify", () => {
    const forged = "s:" + value + "." + createHmac("sha256", "").update(value).digest("base64").replace(/=+$/, "");
    expect(() => unsignCookie(forged, "")).toThrow(/secret/);
    expect(() => unsignCookie(forged, [SECRET, ""])).toThrow(/secret/);
    expect(() => serializeCookie("session", value, { signed: "" })).toThrow(/secret/);
  });
});
