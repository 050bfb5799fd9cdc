import { describe, it, expect } from "@jest/globals";
import {
  staticPathFromRequest,
  staticPathFromCapture,
  canonicalSegment,
  hasDotSegment,
  isUnder,
  BAD_PATH,
  encodeLiteral,
} from "../../../valum/index.js";
import { normalizePath } from "../../../vsgi/path.js";

describe("staticPathFromRequest", () => {
  it("decodes each segment exactly once", () => {
    expect(staticPathFromRequest("/a/b.txt")).toBe("a/b.txt");
    expect(staticPathFromRequest("/css/site%20main.css")).toBe("css/site main.css");
    expect(staticPathFromRequest("/caf%C3%A9.txt")).toBe("café.txt");
    expect(staticPathFromRequest("/100%25.txt")).toBe("100%.txt");
    expect(staticPathFromRequest("/%252e%252e/x")).toBe("%2e%2e/x"); // double encoding stays a name
  });

  it("round trips with the canonical encoding", () => {
    for (const name of ["a b/c.txt", "café/ü.txt", "100%/x", "a{b}/`q`", "日本/語.txt", "emoji 😀.png"]) {
      const encoded = "/" + name.split("/").map(canonicalSegment).join("/");
      expect(staticPathFromRequest(encoded)).toBe(name);
      expect(normalizePath(encoded)).toBe(encoded); // the form the router sees is the same
      expect(encoded).toBe(encodeLiteral("/" + name).replace(/%(?!25|[0-9A-F]{2})/g, "%25"));
    }
  });

  it("refuses (null) what cannot name a file under the root", () => {
    for (const path of [
      "/", "", "x", "//a", "/a//b", "/a/", "/./a", "/../a", "/a/..", "/%2e%2e/a", "/%2E./a", "/.%2e/a",
      "/a%2Fb", "/a%2fb", "/a%5Cb", "/a%5cb", "/a\\b", "/%61dmin/x", "/caf%c3%a9", "/a%7Cb", "/a%7E",
      "/" + "a".repeat(256), "/" + "a/".repeat(3000) + "b",
    ]) {
      expect([path, staticPathFromRequest(path)]).toEqual([path, null]);
    }
  });

  it("NUL and malformed escapes are a bad request", () => {
    for (const path of ["/a%00b", "/%00", "/a/%zz", "/%c0%ae%c0%ae/x", "/%u002e", "/%", "/a%0"]) {
      expect([path, staticPathFromRequest(path)]).toEqual([path, BAD_PATH]);
    }
    expect(staticPathFromRequest("/a\u0000b")).toBe(BAD_PATH);
  });
});

describe("staticPathFromCapture", () => {
  it("never decodes again and checks the segments", () => {
    expect(staticPathFromCapture("a/b.txt", "/static/a/b.txt")).toBe("a/b.txt");
    expect(staticPathFromCapture("%2e%2e/x", "/static/%252e%252e/x")).toBe("%2e%2e/x");
    expect(staticPathFromCapture("/a", "/a")).toBe("a");
    for (const capture of ["", "../x", "a/../x", "a//b", "a\\b", ".", ".."]) {
      expect([capture, staticPathFromCapture(capture, "/x")]).toEqual([capture, null]);
    }
    expect(staticPathFromCapture("a\u0000b", "/a%00b")).toBe(BAD_PATH);
  });

  it("refuses a capture from a request path spelled otherwise than canonically", () => {
    expect(staticPathFromCapture("admin/x", "/static/%61dmin/x")).toBeNull();
    expect(staticPathFromCapture("café", "/static/caf%c3%a9")).toBeNull();
    expect(staticPathFromCapture("café", "/static/caf%C3%A9")).toBe("café");
  });
});

describe("canonicalSegment", () => {
  it("spells a segment as the URL parser and the router's literals do, lone surrogates included", () => {
    expect(canonicalSegment("plain-name_1.txt")).toBe("plain-name_1.txt");
    expect(canonicalSegment("a b#?%")).toBe("a%20b%23%3F%25");
    expect(canonicalSegment("x\ud800y")).toBe("x%EF%BF%BDy");
    for (const name of ["a^b|c[d]", "a{b}", "café", "x\ud800y"]) {
      expect(canonicalSegment(name)).toBe(normalizePath("/" + name).slice(1));
    }
  });
});

describe("helpers", () => {
  it("hasDotSegment finds dot files and dot directories", () => {
    expect(hasDotSegment(".env")).toBe(true);
    expect(hasDotSegment(".git/config")).toBe(true);
    expect(hasDotSegment("a/.hidden/b")).toBe(true);
    expect(hasDotSegment("a/b.c/d.e")).toBe(false);
  });

  it("isUnder respects the segment boundary", () => {
    expect(isUnder("/srv/www", "/srv/www/a")).toBe(true);
    expect(isUnder("/srv/www", "/srv/www")).toBe(false);
    expect(isUnder("/srv/www", "/srv/www2/a")).toBe(false);
    expect(isUnder("/srv/www", "/srv/a")).toBe(false);
    expect(isUnder("/", "/etc/passwd")).toBe(true);
  });
});
