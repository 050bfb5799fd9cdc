import { describe, it, expect } from "@jest/globals";
import {
  WebSocketSyntaxError,
  chooseProtocol,
  isWebSocketKey,
  listHasToken,
  normalizeOrigin,
  parseProtocols,
  serializeProtocols,
} from "../../../valum/http/websocket.js";
import { random as seeded, int } from "../../helpers/random.js";

describe("listHasToken", () => {
  it("splits on commas, drops whitespace and empty elements, compares tokens case-insensitively", () => {
    expect(listHasToken(" a, ,Upgrade\t,, ", "upgrade")).toBe(true);
    expect(listHasToken("keep-alive, Upgrade", "upgrade")).toBe(true);
    expect(listHasToken("WebSocket", "websocket")).toBe(true);
    expect(listHasToken("websocket/13", "websocket")).toBe(false);
    expect(listHasToken("upgraded", "upgrade")).toBe(false);
    expect(listHasToken(null, "upgrade")).toBe(false);
  });
});

describe("parseProtocols and serializeProtocols", () => {
  it("read the offer in the client's order", () => {
    expect(parseProtocols("chat.v2, chat")).toEqual(["chat.v2", "chat"]);
    expect(parseProtocols("wamp")).toEqual(["wamp"]);
    expect(parseProtocols(" a ,\tb")).toEqual(["a", "b"]);
  });

  it("refuse an empty element, a non-token and a duplicate, as ws does", () => {
    for (const bad of ["", "a,", ",a", "a,,b", "a b", "a;b", 'a"', "chat, chat", "é"]) {
      expect(() => parseProtocols(bad)).toThrow(WebSocketSyntaxError);
    }
    expect(() => serializeProtocols(["a b"])).toThrow(WebSocketSyntaxError);
  });

  it("give back random lists of distinct tokens", () => {
    const rand = seeded(6455);
    const alphabet = "!#$%&'*+-.^_`|~0123456789ABCabcxyz";
    for (let round = 0; round < 500; round++) {
      const list: string[] = [];
      const count = 1 + int(rand, 5);
      while (list.length < count) {
        let token = "";
        const length = 1 + int(rand, 8);
        for (let k = 0; k < length; k++) token += alphabet[int(rand, alphabet.length)];
        if (!list.includes(token)) list.push(token);
      }
      expect(parseProtocols(serializeProtocols(list))).toEqual(list);
    }
  });

  it("throw nothing but WebSocketSyntaxError on random values", () => {
    const rand = seeded(17);
    const alphabet = "ab, \t;\"=\u00e9\u0000/";
    for (let round = 0; round < 2000; round++) {
      let value = "";
      const length = int(rand, 20);
      for (let k = 0; k < length; k++) value += alphabet[int(rand, alphabet.length)];
      try {
        parseProtocols(value);
      } catch (error) {
        expect(error).toBeInstanceOf(WebSocketSyntaxError);
      }
    }
  });
});

describe("chooseProtocol", () => {
  it("takes the first of the server's that the client offers, exactly", () => {
    expect(chooseProtocol(["chat.v2", "chat"], ["chat", "chat.v2"])).toBe("chat.v2");
    expect(chooseProtocol(["chat.v2", "chat"], new Set(["chat"]))).toBe("chat");
    expect(chooseProtocol(["chat"], ["Chat"])).toBeNull();
    expect(chooseProtocol([], ["chat"])).toBeNull();
  });
});

describe("isWebSocketKey", () => {
  it("accepts the base64 of 16 bytes only", () => {
    expect(isWebSocketKey("dGhlIHNhbXBsZSBub25jZQ==")).toBe(true);
    expect(isWebSocketKey(Buffer.alloc(16, 7).toString("base64"))).toBe(true);
    expect(isWebSocketKey(Buffer.alloc(15).toString("base64"))).toBe(false);
    expect(isWebSocketKey(Buffer.alloc(17).toString("base64"))).toBe(false);
    expect(isWebSocketKey(null)).toBe(false);
  });
});

describe("normalizeOrigin", () => {
  it("serializes an origin as browsers send it", () => {
    expect(normalizeOrigin("HTTPS://Example.com:443")).toBe("https://example.com");
    expect(normalizeOrigin("http://localhost:8080/")).toBe("http://localhost:8080");
    expect(normalizeOrigin("https://bücher.example")).toBe("https://xn--bcher-kva.example");
  });

  it("refuses what is not an origin", () => {
    for (const bad of ["example.com", "https://example.com/app", "https://example.com?x", "https://u:p@example.com", "null", "file:///tmp", ""]) {
      expect(normalizeOrigin(bad)).toBeNull();
    }
  });
});
