import { describe, it, expect } from "@jest/globals";
import { Headers, cgiHead, cgiErrorAnswer, reasonPhrase, VsgiError, ERR_INVALID_HEADER } from "../../vsgi/index.js";

describe("Headers", () => {
  it("looks names up case-insensitively and keeps the first spelling", () => {
    const h = new Headers();
    h.set("Content-Type", "text/plain");
    expect(h.get("content-type")).toBe("text/plain");
    expect(h.has("CONTENT-TYPE")).toBe(true);
    expect([...h]).toEqual([["Content-Type", "text/plain"]]);
  });

  it("keeps several values, joined by get and listed by getAll", () => {
    const h = new Headers();
    h.append("Vary", "Accept");
    h.append("vary", "Accept-Encoding");
    expect(h.get("Vary")).toBe("Accept, Accept-Encoding");
    expect(h.getAll("VARY")).toEqual(["Accept", "Accept-Encoding"]);
  });

  it("joins Cookie values with a semicolon", () => {
    const h = new Headers([
      ["Cookie", "a=1"],
      ["Cookie", "b=2"],
    ]);
    expect(h.get("cookie")).toBe("a=1; b=2");
  });

  it("keeps Set-Cookie as a list, one line each", () => {
    const h = new Headers();
    h.append("Set-Cookie", "a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT");
    h.append("Set-Cookie", "b=2");
    expect(h.getAll("set-cookie")).toEqual(["a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=2"]);
    expect([...h].filter(([n]) => n === "Set-Cookie")).toHaveLength(2);
  });

  it("replaces every value with set, removes them with delete", () => {
    const h = new Headers([
      ["X-A", "1"],
      ["X-A", "2"],
    ]);
    h.set("x-a", "3");
    expect(h.getAll("X-A")).toEqual(["3"]);
    expect(h.delete("X-A")).toBe(true);
    expect(h.get("X-A")).toBeNull();
    expect(h.delete("X-A")).toBe(false);
  });

  it.each(["a\r\nInjected: 1", "a\nb", "a\0b", "a\rb"])("refuses a value with framing bytes: %j", (value) => {
    const h = new Headers();
    expect(() => h.set("X-A", value)).toThrow(VsgiError);
    expect(() => h.append("X-A", value)).toThrow(expect.objectContaining({ code: ERR_INVALID_HEADER }));
    expect(h.has("X-A")).toBe(false);
  });

  it.each(["Bad Name", "Bad:Name", "Bad\r\nName", "", "Bad\0"])("refuses a name that is no token: %j", (name) => {
    expect(() => new Headers().set(name, "1")).toThrow(expect.objectContaining({ code: ERR_INVALID_HEADER }));
  });

  it("lists each name once with entries()", () => {
    const h = new Headers([
      ["A", "1"],
      ["a", "2"],
      ["B", "3"],
    ]);
    expect([...h.entries()]).toEqual([
      ["A", "1, 2"],
      ["B", "3"],
    ]);
    expect(h.size).toBe(2);
  });

  it("clear() removes every header", () => {
    const h = new Headers([
      ["A", "1"],
      ["B", "2"],
    ]);
    h.clear();
    expect(h.size).toBe(0);
    expect([...h]).toEqual([]);
  });
});

describe("cgiHead", () => {
  it("writes every value in order, drops hop-by-hop names whatever their case, and puts Status last", () => {
    const headers = new Headers();
    headers.append("Set-Cookie", "a=1");
    headers.set("connection", "close");
    headers.set("KEEP-ALIVE", "timeout=5");
    headers.set("Transfer-Encoding", "chunked");
    headers.set("status", "500");
    headers.append("Set-Cookie", "b=2");
    headers.set("Content-Type", "text/plain");
    expect(cgiHead(404, "Not Found", headers)).toBe("Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Type: text/plain\r\nStatus: 404 Not Found\r\n\r\n");
    expect(cgiHead(204, "No Content", new Headers())).toBe("Status: 204 No Content\r\n\r\n");
  });
});

describe("cgiErrorAnswer", () => {
  it("answers with the standard reason phrase, Status last, and the message as a plain-text body of its byte length", () => {
    const { head, body } = cgiErrorAnswer(431, "trop grand: é");
    expect(head).toBe(`Content-Type: text/plain; charset=UTF-8\r\nContent-Length: ${body.length}\r\nStatus: 431 Request Header Fields Too Large\r\n\r\n`);
    expect(body.toString("utf8")).toBe("trop grand: é\n");
    expect(body.length).toBe(Buffer.byteLength("trop grand: é\n"));
  });

  it("never lets the quoted input break the body into lines of its own", () => {
    expect(cgiErrorAnswer(400, "bad \"1\r\nX: y\0z\"").body.toString()).toBe('bad "1  X: y z"\n');
  });

  it("takes its phrases from the one table of reasonPhrase", () => {
    expect(reasonPhrase(400)).toBe("Bad Request");
    expect(reasonPhrase(500)).toBe("Internal Server Error");
    expect(reasonPhrase(599)).toBe("Unknown");
    expect(cgiErrorAnswer(599, "x").head).toMatch(/\r\nStatus: 599 Unknown\r\n\r\n$/);
  });
});
