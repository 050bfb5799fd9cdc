import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
// A client-side parser of `text/event-stream`, written from the HTML Living Standard (9.2.6
// "Interpreting an event stream") and independent of valum/http/sse.ts, so that the tests check
// the encoder against what a browser's EventSource would make of its output.

/** An event as an EventSource dispatches it. */
export interface ParsedEvent {
  type: string;
  data: string;
  lastEventId: string;
}

/** Feeds text in pieces (as it arrives); collects the dispatched events, comments and retry. */
export class EventStreamParser {
  readonly events: ParsedEvent[] = [];
  readonly comments: string[] = [];
  /** The reconnection time, once a valid `retry` field was seen. */
  retry: number | null = null;
  /** The last event ID buffer (what the next `Last-Event-ID` would be). */
  lastEventId = "";
  private pending = "";
  private first = true;
  private data = "";
  private type = "";

  /** Adds text; complete lines are interpreted at once. */
  push(text: string): void {
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.pending += text;
    let start = 0;
    for (let i = 0; i < this.pending.length; i++) {
      const c = this.pending[i];
      if (c === "\n") {
        this.line(this.pending.slice(start, i));
        start = i + 1;
      } else if (c === "\r") {
        // A CR at the end might be the first half of a CRLF: wait for the next piece.
        if (i + 1 === this.pending.length) break;
        this.line(this.pending.slice(start, i));
        if (this.pending[i + 1] === "\n") i++;
        start = i + 1;
      }
    }
    this.pending = this.pending.slice(start);
  }

  /** The stream ended: a trailing CR ends its line; an event without its blank line is dropped. */
  end(): void {
    if (this.pending === "\r") this.line("");
    this.pending = "";
    this.data = "";
    this.type = "";
  }

  private line(line: string): void {
    if (line === "") return this.dispatch();
    if (line[0] === ":") {
      this.comments.push(line.slice(1));
      return;
    }
    const colon = line.indexOf(":");
    let field = line;
    let value = "";
    if (colon !== -1) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value[0] === " ") value = value.slice(1);
    }
    if (field === "event") this.type = value;
    else if (field === "data") this.data += value + "\n";
    else if (field === "id") {
      if (!value.includes("\0")) this.lastEventId = value;
    } else if (field === "retry") {
      if (/^[0-9]+$/.test(value)) this.retry = Number(value);
    }
  }

  private dispatch(): void {
    if (this.data === "") {
      this.type = "";
      return;
    }
    const data = this.data.endsWith("\n") ? this.data.slice(0, -1) : this.data;
    this.events.push({ type: this.type === "" ? "message" : this.type, data, lastEventId: this.lastEventId });
    this.data = "";
    this.type = "";
  }
}

/** Parses a whole stream at once. */
export function parseEventStream(text: string): EventStreamParser {
  const parser = new EventStreamParser();
  parser.push(text);
  parser.end();
  return parser;
}

/** A streaming response read as events arrive: `waitEvents(n)` resolves once n are in. */
export class EventStreamClient {
  readonly parser = new EventStreamParser();
  /** The raw body received so far. */
  text = "";
  ended = false;
  private waiters: { check: () => boolean; ok: () => void; fail: (err: Error) => void }[] = [];
  private failure: Error | null = null;

  constructor(
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    private readonly req: ClientRequest,
    res: IncomingMessage,
  ) {
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      this.text += chunk;
      this.parser.push(chunk);
      this.settle();
    });
    res.on("end", () => {
      this.ended = true;
      this.parser.end();
      this.settle();
    });
    res.on("error", (err) => {
      this.failure = err;
      this.settle();
    });
    res.on("close", () => {
      this.ended = true;
      this.settle();
    });
  }

  private settle(): void {
    this.waiters = this.waiters.filter((w) => {
      if (w.check()) w.ok();
      else if (this.ended || this.failure !== null) w.fail(new Error(`the stream ended (${this.failure?.message ?? "end"}) before what was awaited; got: ${JSON.stringify(this.text)}`));
      else return true;
      return false;
    });
  }

  /** Resolves once `check()` holds; rejects when the stream ends first. */
  until(check: () => boolean): Promise<void> {
    return new Promise((ok, fail) => {
      this.waiters.push({ check, ok, fail });
      this.settle();
    });
  }

  /** Resolves with the events once `count` of them have been dispatched. */
  async waitEvents(count: number): Promise<ParsedEvent[]> {
    await this.until(() => this.parser.events.length >= count);
    return this.parser.events;
  }

  /** Resolves once the server ended the response. */
  async waitEnd(): Promise<void> {
    await this.until(() => this.ended);
  }

  /** The client goes away. */
  destroy(): void {
    this.req.destroy();
  }
}

/**
 * Opens a streaming request (its own connection) and resolves when the head arrives.
 *
 * @example const stream = await openEventStream(port, "/events"); await stream.waitEvents(1);
 */
export function openEventStream(port: number, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<EventStreamClient> {
  return new Promise((ok, fail) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, method, headers: { Accept: "text/event-stream", ...headers }, agent: false }, (res) => {
      ok(new EventStreamClient(res.statusCode!, res.headers, req, res));
    });
    req.on("error", fail);
    req.end();
  });
}
