import { describe, it, expect } from "@jest/globals";
import cookieParser from "cookie-parser";
import { parseCookies, serializeCookie, unsignCookie, VsgiError } from "../../vsgi/index.js";

describe("parseCookies", () => {
  it("reads the three ways front servers join Cookie headers", () => {
    expect(Object.fromEntries(parseCookies(["a=1; b=2"]))).toEqual({ a: "1", b: "2" }); // lighttpd, browsers
    expect(Object.fromEntries(parseCookies(["a=1, b=2"]))).toEqual({ a: "1", b: "2" }); // Apache
    expect(Object.fromEntries(parseCookies(["a=1", "b=2"]))).toEqual({ a: "1", b: "2" }); // nginx, HAProxy
  });

  it("lets the last cookie of a name win", () => {
    expect(parseCookies(["a=1; a=2", "a=3"]).get("a")).toBe("3");
  });

  it("decodes percent-encoding and quotes, and ignores pairs without =", () => {
    const cookies = parseCookies(['a=%20x%21; b="quoted"; junk; c=%zz; =nameless']);
    expect(cookies.get("a")).toBe(" x!");
    expect(cookies.get("b")).toBe("quoted");
    expect(cookies.get("c")).toBe("%zz");
    expect(cookies.has("junk")).toBe(false);
    expect(cookies.size).toBe(3);
  });
});

describe("serializeCookie", () => {
  it("writes every attribute", () => {
    const text = serializeCookie("id", "a b", {
      path: "/",
      domain: "example.com",
      maxAge: 60,
      expires: new Date(Date.UTC(2030, 0, 1)),
      httpOnly: true,
      secure: true,
      sameSite: "lax",
      partitioned: true,
    });
    expect(text).toBe(
      "id=a%20b; Max-Age=60; Domain=example.com; Path=/; Expires=Tue, 01 Jan 2030 00:00:00 GMT; HttpOnly; Secure; Partitioned; SameSite=Lax",
    );
  });

  it("refuses a bad name, attribute or sameSite", () => {
    expect(() => serializeCookie("a b", "1")).toThrow(VsgiError);
    expect(() => serializeCookie("a", "1", { path: "/;x" })).toThrow(VsgiError);
    expect(() => serializeCookie("a", "1", { sameSite: "loose" as "Lax" })).toThrow(/sameSite/);
    expect(() => serializeCookie("a", "1", { maxAge: Number.NaN })).toThrow(/maxAge/);
  });
});

describe("signed cookies", () => {
  it("are read by Express's cookie-parser", () => {
    const header = serializeCookie("session", "user-42", { signed: "s3cret" });
    const raw = decodeURIComponent(header.slice("session=".length));
    expect(cookieParser.signedCookie(raw, "s3cret")).toBe("user-42");
    expect(cookieParser.signedCookie(raw, "other")).toBe(false);
  });

  it("signed by Express's format are verified, with several secrets for rotation", () => {
    const raw = decodeURIComponent(serializeCookie("s", "v", { signed: "old" }).slice(2));
    expect(unsignCookie(raw, ["new", "old"])).toBe("v");
    expect(unsignCookie(raw, "new")).toBeNull();
    expect(unsignCookie(raw.slice(0, -1) + (raw.endsWith("A") ? "B" : "A"), "old")).toBeNull();
    expect(unsignCookie("v", "old")).toBeNull();
    expect(unsignCookie(null, "old")).toBeNull();
  });
});
