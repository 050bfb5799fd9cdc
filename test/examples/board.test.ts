// The board of examples/board/ over HTTP, without a browser: what the page does not show (its
// refusals, the limits, the event stream's catching up after a reconnection). The browser test
// (test/browser/board.test.ts) drives the page itself.
import { describe, expect, it } from "@jest/globals";
import { gunzipSync, brotliDecompressSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import app, { FILE_SIZE } from "../../examples/board/app.js";
import { PUBLIC, SOURCE } from "../../examples/board/precompress.js";
import { withServer } from "../valum/util.js";

const ANA = "Basic " + Buffer.from("ana:open sesame").toString("base64");

function form(fields: Record<string, string | Blob>, filename = "a.bin"): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === "string") data.append(name, value);
    else data.append(name, value, filename);
  }
  return data;
}

/** An open event stream: `until(s)` reads on until `s` has arrived and returns all read so far. */
async function openEvents(url: string, headers: Record<string, string>): Promise<{ until(s: string): Promise<string>; close(): Promise<void> }> {
  const response = await fetch(url, { headers });
  expect(response.headers.get("content-type")).toBe("text/event-stream; charset=UTF-8");
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  return {
    async until(s) {
      while (!text.includes(s)) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`the stream ended before ${s}:\n${text}`);
        text += decoder.decode(value, { stream: true });
      }
      return text;
    },
    close: () => reader.cancel(),
  };
}

describe("examples/board", () => {
  it("serves the page's files with their precompressed siblings", async () => {
    await withServer(app, async (c) => {
      const source = readFileSync(join(SOURCE, "app.js"));
      const br = await c.send("GET", "/app.js", { "Accept-Encoding": "br" });
      expect(br.headers["content-encoding"]).toBe("br");
      const gzip = await c.send("GET", "/app.js", { "Accept-Encoding": "gzip" });
      expect(gzip.headers["content-encoding"]).toBe("gzip");
      // the raw bytes of the answers, decoded here: the siblings hold the source
      const brBytes = await fetch(`${c.url}/app.js`, { headers: { "Accept-Encoding": "br" } }).then(async (r) => Buffer.from(await r.arrayBuffer()));
      expect(brBytes.equals(source)).toBe(true);
      expect(brotliDecompressSync(readFileSync(join(PUBLIC, "app.js.br"))).equals(source)).toBe(true);
      expect(gunzipSync(readFileSync(join(PUBLIC, "app.js.gz"))).equals(source)).toBe(true);
      const index = await c.send("GET", "/");
      expect(index.status).toBe(200);
      expect(index.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(index.headers["cache-control"]).toBe("no-cache");
    });
  });

  it("refuses a post without credentials, with a wrong password, from another site, without text, with a file over the limit", async () => {
    await withServer(app, async (c) => {
      const post = (headers: Record<string, string>, body: FormData) => fetch(`${c.url}/api/messages`, { method: "POST", headers, body });
      const anonymous = await post({}, form({ text: "hi" }));
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("www-authenticate")).toBe('Basic realm="board", charset="UTF-8"');
      const wrong = await post({ Authorization: "Basic " + Buffer.from("ana:nope").toString("base64") }, form({ text: "hi" }));
      expect(wrong.status).toBe(401);
      const empty = await post({ Authorization: ANA }, form({ text: "   " }));
      expect(empty.status).toBe(400);
      const big = await post({ Authorization: ANA }, form({ text: "hi", file: new Blob([new Uint8Array(FILE_SIZE + 1)]) }));
      expect(big.status).toBe(413);
      // a form of another site, which a browser would send with the Basic credentials it cached
      const crossSite = await post({ Authorization: ANA, "Sec-Fetch-Site": "cross-site", Origin: "https://elsewhere.example" }, form({ text: "hi" }));
      expect(crossSite.status).toBe(403);
      const otherOrigin = await post({ Authorization: ANA, Origin: "https://elsewhere.example" }, form({ text: "hi" }));
      expect(otherOrigin.status).toBe(403);
      const json = await fetch(`${c.url}/api/messages`, { method: "POST", headers: { Authorization: ANA, "Content-Type": "application/json" }, body: "{}" });
      expect(json.status).toBe(415);
      // nothing was added
      expect(await fetch(`${c.url}/api/messages`).then((r) => r.json())).toEqual([]);
    });
  });

  it("keeps a message with its file, serves the file as an attachment only", async () => {
    await withServer(app, async (c) => {
      const bytes = new Uint8Array([0, 1, 2, 255, 60, 115, 118, 103]);
      const created = await fetch(`${c.url}/api/messages`, {
        method: "POST",
        headers: { Authorization: ANA },
        body: form({ text: " with a file ", file: new Blob([bytes], { type: "image/svg+xml" }) }, "../../evil.svg"),
      });
      expect(created.status).toBe(201);
      const message = (await created.json()) as { id: number; user: string; text: string; file: { name: string; type: string; size: number; url: string } };
      expect(created.headers.get("location")).toBe(`messages/${message.id}`);
      expect(message).toMatchObject({ user: "ana", text: "with a file", file: { name: "evil.svg", type: "image/svg+xml", size: bytes.length, url: `/api/messages/${message.id}/file` } });

      const file = await fetch(`${c.url}${message.file.url}`);
      expect(file.status).toBe(200);
      expect(file.headers.get("content-type")).toBe("application/octet-stream");
      expect(file.headers.get("content-disposition")).toBe(`attachment; filename="evil.svg"; filename*=UTF-8''evil.svg`);
      expect(file.headers.get("x-content-type-options")).toBe("nosniff");
      expect(Buffer.from(await file.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);

      expect((await c.send("GET", `/api/messages/${message.id}`)).status).toBe(200);
      expect((await c.send("GET", `/api/messages/${message.id + 1}/file`)).status).toBe(404);
      expect((await c.send("GET", "/api/messages?since=-1")).status).toBe(400);
    });
  });

  it("compresses a long list for a client that takes gzip", async () => {
    await withServer(app, async (c) => {
      for (let i = 0; i < 10; i++) {
        const posted = await fetch(`${c.url}/api/messages`, { method: "POST", headers: { Authorization: ANA }, body: form({ text: `message ${i} `.repeat(20) }) });
        expect(posted.status).toBe(201);
      }
      const list = await c.send("GET", "/api/messages", { "Accept-Encoding": "gzip" });
      expect(list.status).toBe(200);
      expect(list.headers["content-encoding"]).toBe("gzip");
      expect(list.headers["vary"]).toBe("Accept-Encoding");
      const messages = JSON.parse(gunzipSync(list.body).toString("utf8")) as { text: string }[];
      expect(messages.filter((m) => m.text.startsWith("message "))).toHaveLength(10);
      const plain = await c.send("GET", "/api/messages");
      expect(plain.headers["content-encoding"]).toBeUndefined();
      expect(JSON.parse(plain.text)).toEqual(messages);
    });
  });

  it("answers a preflight from another origin for reading with the Authorization header", async () => {
    await withServer(app, async (c) => {
      const preflight = await c.send("OPTIONS", "/api/messages", {
        Origin: "https://elsewhere.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers["access-control-allow-origin"]).toBe("*");
      expect(preflight.headers["access-control-allow-headers"]).toBe("authorization");
      expect(preflight.headers["access-control-allow-methods"]).toBe("GET, HEAD");
    });
  });

  it("streams the messages after the client's Last-Event-ID, then the new ones", async () => {
    await withServer(app, async (c) => {
      const post = (text: string) => fetch(`${c.url}/api/messages`, { method: "POST", headers: { Authorization: ANA }, body: form({ text }) }).then((r) => r.json() as Promise<{ id: number }>);
      const first = await post("first");
      const second = await post("second");
      // a reconnection after the first: the second only, then what comes next
      const stream = await openEvents(`${c.url}/events`, { "Last-Event-ID": String(first.id) });
      // the backlog and the subscription are one step: once the second arrived, the third will
      await stream.until('"text":"second"');
      const third = await post("third");
      const text = await stream.until('"text":"third"');
      await stream.close();
      expect(text.startsWith("retry: 2000\n\n")).toBe(true);
      expect(text).not.toContain('"text":"first"');
      expect(text.indexOf(`id: ${second.id}\n`)).toBeLessThan(text.indexOf(`id: ${third.id}\n`));
    });
  });
});
