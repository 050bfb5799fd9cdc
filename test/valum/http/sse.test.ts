import { describe, it, expect } from "@jest/globals";
import { EventStreamError, KEEP_ALIVE_COMMENT, encodeEvent, lastEventId, type ServerSentEvent } from "../../../valum/http/sse.js";
import { EventStreamParser, parseEventStream } from "../../helpers/event-stream.js";

/** The events a client dispatches from `messages` encoded one after the other. */
function roundTrip(...messages: ServerSentEvent[]): EventStreamParser {
  return parseEventStream(messages.map(encodeEvent).join(""));
}

describe("encodeEvent", () => {
  it("writes each field after ': ' and ends the event with a blank line", () => {
    expect(encodeEvent({ event: "greeting", id: "1", retry: 3000, data: "hello" })).toBe("event: greeting\nid: 1\nretry: 3000\ndata: hello\n\n");
    expect(encodeEvent({ comment: "hi" })).toBe(": hi\n\n");
  });

  it("splits data on CRLF, CR and LF into data: lines", () => {
    expect(encodeEvent({ data: "a\r\nb\rc\nd" })).toBe("data: a\ndata: b\ndata: c\ndata: d\n\n");
    expect(encodeEvent({ data: "" })).toBe("data: \n\n");
  });

  it("round-trips data through a parser that follows the HTML standard (line breaks become LF)", () => {
    const samples = ["plain", "", " leading space", "  two spaces", "trailing\n", "\n", "\n\n", "a\r\nb", "a\rb", "a\r\n\r\nb", "::colons: inside:", "data: nested\n\ndata: x", "é ✓ 😀", "nul\0inside", "\r"];
    for (const data of samples) {
      const { events } = roundTrip({ data });
      expect([data, events]).toEqual([data, [{ type: "message", data: data.replace(/\r\n|\r/g, "\n"), lastEventId: "" }]]);
    }
  });

  it("round-trips event types and ids, leading spaces included", () => {
    const parsed = roundTrip({ event: " spaced", id: " 7", data: "x" }, { event: "", data: "y" }, { id: "", data: "z" });
    expect(parsed.events).toEqual([
      { type: " spaced", data: "x", lastEventId: " 7" },
      { type: "message", data: "y", lastEventId: " 7" },
      { type: "message", data: "z", lastEventId: "" },
    ]);
  });

  it("sets the reconnection time with retry, and an event without data is not dispatched", () => {
    const parsed = roundTrip({ retry: 2500 }, { id: "4" }, { event: "nothing" }, { data: "after" });
    expect(parsed.retry).toBe(2500);
    expect(parsed.events).toEqual([{ type: "message", data: "after", lastEventId: "4" }]);
  });

  it("keeps the stream intact across many events fed in small pieces", () => {
    const messages: ServerSentEvent[] = Array.from({ length: 50 }, (_, i) => ({ event: `e${i % 3}`, id: String(i), data: `line ${i}\r\nnext\rlast` }));
    const text = messages.map(encodeEvent).join(KEEP_ALIVE_COMMENT);
    const parser = new EventStreamParser();
    for (let i = 0; i < text.length; i += 7) parser.push(text.slice(i, i + 7));
    parser.end();
    expect(parser.events).toEqual(messages.map((m) => ({ type: m.event, data: m.data!.replace(/\r\n|\r/g, "\n"), lastEventId: m.id })));
    expect(parser.comments.length).toBe(49);
  });

  it("refuses CR or LF in event, id and comment, and NUL in id, naming the field", () => {
    const bad: [ServerSentEvent, string][] = [
      [{ event: "a\nb" }, "event"],
      [{ event: "a\rb" }, "event"],
      [{ id: "1\n" }, "id"],
      [{ id: "1\r2" }, "id"],
      [{ id: "1\0" }, "id"],
      [{ comment: "x\ny" }, "comment"],
    ];
    for (const [message, field] of bad) {
      let error: unknown;
      try {
        encodeEvent(message);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(EventStreamError);
      expect((error as EventStreamError).field).toBe(field);
      expect((error as Error).message).toMatch(new RegExp(`^server-sent event: ${field} must not contain`));
    }
  });

  it("refuses a retry that is not a non-negative integer", () => {
    for (const retry of [-1, 1.5, NaN, Infinity, 2 ** 53, "100" as unknown as number]) {
      expect(() => encodeEvent({ retry })).toThrow(/retry must be a non-negative integer/);
    }
    expect(encodeEvent({ retry: 0 })).toBe("retry: 0\n\n");
  });

  it("refuses fields that are not strings, and a message that is not an object", () => {
    expect(() => encodeEvent({ data: 5 as unknown as string })).toThrow(/data must be a string, got number/);
    expect(() => encodeEvent({ event: null as unknown as string })).toThrow(/event must be a string/);
    expect(() => encodeEvent(null as unknown as ServerSentEvent)).toThrow(/must be an object, got null/);
  });
});

describe("lastEventId", () => {
  it("gives the header back, or null when absent or when no id could be it", () => {
    expect(lastEventId("41")).toBe("41");
    expect(lastEventId("")).toBe("");
    expect(lastEventId(null)).toBeNull();
    expect(lastEventId("4\u00001")).toBeNull();
    expect(lastEventId("4\n1")).toBeNull();
  });
});

describe("the test's parser", () => {
  it("follows the standard where the encoder never goes: BOM, CR line ends, fields without colon, unknown fields, a bad retry", () => {
    const parsed = parseEventStream("\ufeffdata\rdata:x\r\nfoo: bar\nretry: 12a\nid: a\0b\n\ndata: cut");
    expect(parsed.events).toEqual([{ type: "message", data: "\nx", lastEventId: "" }]);
    expect(parsed.retry).toBeNull();
  });
});
