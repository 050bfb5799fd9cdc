// The one list of behaviours that every (front server, backend) pair must show, as seen by a real
// HTTP client in front of the front server: the conformance suite's list (test/servers/), plus
// what only a front server can break (prefix mounts, connection reuse, concurrency).
//
// A pair may declare an exception for a check, only where PROTOCOLS.md documents that the front
// server cannot do it (lighttpd answers 411 to chunked uploads, ...): the exception then asserts
// the documented behaviour instead, so a front server that changes is noticed.
import { createHash } from "node:crypto";
import { Agent, request as httpRequest } from "node:http";
import { Readable } from "node:stream";
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { patternDigest, streamedBody } from "../servers/conformance.js";
import { explained } from "../helpers/log.js";

const MiB = 1024 * 1024;

/** A response as the HTTP client got it. */
export interface HttpResponse {
  status: number;
  /** Header names in lower case; repeated headers (Set-Cookie) kept as lists. */
  headers: Map<string, string[]>;
  body: Buffer;
}

export interface HttpRequest {
  method: string;
  target: string;
  headers?: [string, string][];
  /** A Buffer (sent with Content-Length) or a stream (sent chunked unless a Content-Length header is given). */
  body?: Buffer | AsyncIterable<Buffer>;
  /** Close the connection after this many response body bytes. */
  abortAfter?: number;
}

/** A small HTTP/1.1 client (node:http, keep-alive) talking to the front server. */
export class HttpClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });
  constructor(readonly port: number) {}

  request(r: HttpRequest): Promise<HttpResponse> {
    return new Promise((ok, fail) => {
      const headers: [string, string][] = [...(r.headers ?? [])];
      if (!headers.some(([n]) => n.toLowerCase() === "host")) headers.push(["Host", `127.0.0.1:${this.port}`]);
      if (Buffer.isBuffer(r.body) && !headers.some(([n]) => n.toLowerCase() === "content-length")) headers.push(["Content-Length", String(r.body.length)]);
      const flat: string[] = headers.flat();
      const req = httpRequest({ host: "127.0.0.1", port: this.port, method: r.method, path: r.target, headers: flat, agent: this.agent }, (res) => {
        const out = new Map<string, string[]>();
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i]!.toLowerCase();
          out.set(name, [...(out.get(name) ?? []), res.rawHeaders[i + 1]!]);
        }
        const chunks: Buffer[] = [];
        let received = 0;
        let done = false;
        const finish = (): void => {
          if (done) return;
          done = true;
          ok({ status: res.statusCode!, headers: out, body: Buffer.concat(chunks) });
        };
        res.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          received += chunk.length;
          if (r.abortAfter !== undefined && received >= r.abortAfter) {
            req.destroy();
            finish();
          }
        });
        res.on("end", finish);
        res.on("error", (err) => (r.abortAfter !== undefined ? finish() : fail(err)));
      });
      req.on("error", (err) => (r.abortAfter !== undefined ? undefined : fail(err)));
      if (r.body === undefined) req.end();
      else if (Buffer.isBuffer(r.body)) req.end(r.body);
      else Readable.from(r.body).pipe(req);
    });
  }

  get(target: string, headers: [string, string][] = []): Promise<HttpResponse> {
    return this.request({ method: "GET", target, headers });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The first value of a response header, or null. */
export function header(res: HttpResponse, name: string): string | null {
  return res.headers.get(name.toLowerCase())?.[0] ?? null;
}

function json(res: HttpResponse): any {
  try {
    return JSON.parse(res.body.toString());
  } catch {
    throw new Error(`not JSON (status ${res.status}): ${res.body.toString().slice(0, 500)}`);
  }
}

function sha256Repeated(size: number): string {
  const hash = createHash("sha256");
  const block = Buffer.alloc(1 << 16, 0x61);
  for (let sent = 0; sent < size; sent += block.length) hash.update(block.subarray(0, Math.min(block.length, size - sent)));
  return hash.digest("hex");
}

/** What a check runs with. */
export interface CheckContext {
  client: HttpClient;
  /** `""` at the root, else the mount prefix (`/app`). */
  prefix: string;
  /** The app runs once per request (cgi): no in-process state survives between requests. */
  processPerRequest: boolean;
}

export interface Check {
  id: string;
  title: string;
  run(ctx: CheckContext): Promise<void>;
}

/** A documented deviation of one pair: why (PROTOCOLS.md), and what happens instead. */
export interface Exception {
  reason: string;
  /** Asserts what the front server does instead, so that a change in it gets noticed. */
  instead(ctx: CheckContext): Promise<void>;
}

/** A chunked request body (no Content-Length): sent by the chunked-upload check. */
export function chunkedUpload(ctx: CheckContext, size = MiB): Promise<HttpResponse> {
  return ctx.client.request({ method: "POST", target: `${ctx.prefix}/upload`, headers: [["Content-Type", "application/octet-stream"]], body: streamedBody(size) });
}

/** Builds the exception "the front server answers `status` itself" for the chunked upload. */
export function answersItself(status: number, reason: string): Exception {
  return {
    reason,
    async instead(ctx) {
      const res = await chunkedUpload(ctx);
      expect(res.status).toBe(status);
    },
  };
}

/** The method (PATCH: not one of AJP's coded methods), headers, URL and a small body reach the app. */
export async function checkRequest({ client, prefix }: CheckContext, method: string): Promise<void> {
  const res = await client.request({
    method,
    target: `${prefix}/request?x=1`,
    headers: [
      ["Host", "example.com"],
      ["X-Custom", "value"],
      ["Accept-Language", "fr"],
      ["Content-Type", "application/json"],
    ],
    body: Buffer.from("{}"),
  });
  expect(res.status).toBe(200);
  const seen = json(res);
  expect(seen.method).toBe(method);
  expect(seen.path).toBe("/request");
  expect(seen.scriptName).toBe(prefix);
  const headers = Object.fromEntries(Object.entries(seen.headers as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
  expect(headers["x-custom"]).toBe("value");
  expect(headers["accept-language"]).toBe("fr");
  const uri = new URL(seen.uri);
  expect(uri.pathname).toBe(`${prefix}/request`);
  expect(uri.search).toBe("?x=1");
  expect(uri.hostname).toBe("example.com");
}

/** A Content-Length upload of `size` bytes; checks what the app received. */
export async function checkUpload({ client, prefix }: CheckContext, size: number): Promise<void> {
  const res = await client.request({
    method: "POST",
    target: `${prefix}/upload`,
    headers: [
      ["Content-Type", "application/octet-stream"],
      ["Content-Length", String(size)],
    ],
    body: streamedBody(size),
  });
  expect(res.status).toBe(200);
  expect(json(res)).toEqual({ length: size, sha256: sha256Repeated(size) });
}

export const CHECKS: Check[] = [
  {
    id: "hello",
    title: "answers 200 with the body and a UTF-8 Content-Type",
    async run({ client, prefix }) {
      const res = await client.get(`${prefix}/hello`);
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe("hello");
      expect(header(res, "content-type")).toBe("text/plain; charset=UTF-8");
    },
  },
  {
    id: "head",
    title: "answers HEAD with the headers of GET and no body",
    async run({ client, prefix }) {
      const res = await client.request({ method: "HEAD", target: `${prefix}/hello` });
      expect(res.status).toBe(200);
      expect(header(res, "content-type")).toBe("text/plain; charset=UTF-8");
      expect(res.body.length).toBe(0);
    },
  },
  {
    id: "statuses",
    title: "carries statuses 201, 404, 418, 500, 503 with their bodies",
    async run({ client, prefix }) {
      for (const status of [201, 404, 418, 500, 503]) {
        const res = await client.get(`${prefix}/status/${status}`);
        expect([status, res.status]).toEqual([status, status]);
        expect(res.body.toString()).toBe(`status ${status}`);
      }
    },
  },
  {
    id: "created",
    title: "keeps a 201 with its Location",
    async run({ client, prefix }) {
      const res = await client.get(`${prefix}/status/201`);
      expect(res.status).toBe(201);
      expect(new URL(header(res, "location") ?? "", "http://x").pathname).toBe(`${prefix}/hello`);
    },
  },
  {
    id: "bodiless",
    title: "sends no body with 204 and 304",
    async run({ client, prefix }) {
      for (const status of [204, 304]) {
        const res = await client.get(`${prefix}/status/${status}`);
        expect(res.status).toBe(status);
        expect(res.body.length).toBe(0);
      }
    },
  },
  {
    id: "redirect",
    title: "redirects with 302 and a Location under the mount",
    async run({ client, prefix }) {
      const res = await client.get(`${prefix}/redirect`);
      expect(res.status).toBe(302);
      expect(new URL(header(res, "location") ?? "", "http://x").pathname).toBe(`${prefix}/hello`);
      const followed = await client.get(new URL(header(res, "location")!, "http://x").pathname);
      expect(followed.body.toString()).toBe("hello");
    },
  },
  {
    id: "set-cookie",
    title: "sends several Set-Cookie headers",
    async run({ client, prefix }) {
      const res = await client.get(`${prefix}/cookies`);
      expect(res.headers.get("set-cookie")).toEqual(["a=1; Path=/", "b=2; Path=/; HttpOnly"]);
    },
  },
  {
    id: "cookies",
    title: "reads cookies from one Cookie header and from several",
    async run({ client, prefix }) {
      const one = await client.get(`${prefix}/cookies`, [["Cookie", "x=1; y=2"]]);
      expect(json(one)).toEqual({ x: "1", y: "2" });
      const two = await client.get(`${prefix}/cookies`, [["Cookie", "x=1"], ["Cookie", "y=2; x=3"]]);
      expect(json(two)).toEqual({ x: "3", y: "2" });
    },
  },
  {
    id: "query",
    title: "decodes the query string (last value wins) and tells no query from an empty one",
    async run({ client, prefix }) {
      expect(json(await client.get(`${prefix}/query?a=1&b=x%20y+z&a=2&empty=`))).toEqual({ a: "2", b: "x y z", empty: "" });
      expect(json(await client.get(`${prefix}/query`))).toBeNull();
    },
  },
  {
    id: "encoded-path",
    title: "keeps percent-encoded paths encoded, %2F included, without the prefix",
    async run({ client, prefix }) {
      const res = await client.get(`${prefix}/echo-path/caf%C3%A9/a%2Fb/x%20y`);
      expect(res.status).toBe(200);
      expect(json(res)).toEqual({ path: "/echo-path/caf%C3%A9/a%2Fb/x%20y", scriptName: prefix });
    },
  },
  {
    id: "request",
    title: "passes the method, request headers and the URL through",
    run: (ctx) => checkRequest(ctx, "PATCH"),
  },
  {
    id: "mount-point",
    title: "serves the app's root at the mount point: / (or /app/), /app redirected to /app/ with its query, /apple not the app's",
    async run({ client, prefix }) {
      const root = await client.get(`${prefix}/`);
      expect(root.status).toBe(200);
      expect(json(root)).toEqual({ root: true, scriptName: prefix, query: null });
      if (prefix === "") return;
      // The front server redirects: the app could not tell SCRIPT_NAME=/app without PATH_INFO from
      // a request for /app at the root (docs/deployment.md, "The mount point").
      for (const [query, parsed] of [["", null], ["?x=1&y=%20", { x: "1", y: " " }]] as const) {
        const res = await client.get(`${prefix}${query}`);
        expect([`${prefix}${query}`, res.status]).toEqual([`${prefix}${query}`, 308]);
        const location = new URL(header(res, "location") ?? "", "http://x");
        expect(location.pathname + location.search).toBe(`${prefix}/${query}`);
        const followed = await client.get(location.pathname + location.search);
        expect(followed.status).toBe(200);
        expect(json(followed)).toEqual({ root: true, scriptName: prefix, query: parsed });
      }
      // 308, not 301: a POST to /app stays a POST.
      expect((await client.request({ method: "POST", target: prefix, body: Buffer.from("{}") })).status).toBe(308);
      // /apple and /apple/hello are answered as paths mounted nowhere are.
      for (const [outside, nowhere] of [[`${prefix}le`, "/nowhere-mounted"], [`${prefix}le/hello`, "/nowhere-mounted/hello"]]) {
        const got = await client.get(outside);
        const expected = await client.get(nowhere);
        expect(got.status).not.toBe(200);
        expect({ path: outside, status: got.status, body: got.body.toString() }).toEqual({ path: outside, status: expected.status, body: expected.body.toString() });
      }
    },
  },
  {
    id: "not-found",
    title: "answers 404 when the application does not handle the request",
    async run({ client, prefix }) {
      expect((await client.get(`${prefix}/nowhere`)).status).toBe(404);
    },
  },
  {
    id: "upload",
    title: "streams a 10 MiB upload (Content-Length) to the application",
    run: (ctx) => checkUpload(ctx, 10 * MiB),
  },
  {
    id: "chunked-upload",
    title: "streams a chunked upload (no Content-Length) to the application",
    async run(ctx) {
      const res = await chunkedUpload(ctx);
      expect(res.status).toBe(200);
      expect(json(res)).toEqual({ length: MiB, sha256: sha256Repeated(MiB) });
    },
  },
  {
    id: "download",
    title: "streams a 10 MiB download to the client",
    async run({ client, prefix }) {
      const size = 10 * MiB;
      const res = await client.get(`${prefix}/download?size=${size}`);
      expect(res.status).toBe(200);
      expect(res.body.length).toBe(size);
      expect(createHash("sha256").update(res.body).digest("hex")).toBe(patternDigest(size));
    },
  },
  {
    id: "content-length",
    title: "sends a body with a declared Content-Length intact",
    async run({ client, prefix }) {
      const size = 100000;
      const res = await client.get(`${prefix}/download?size=${size}&length=1`);
      expect(res.body.length).toBe(size);
      expect(createHash("sha256").update(res.body).digest("hex")).toBe(patternDigest(size));
    },
  },
  {
    id: "concurrent",
    title: "answers 16 concurrent requests, each with its own answer",
    async run({ client, prefix }) {
      const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => client.get(`${prefix}/echo-path/n${i}`)));
      expect(answers.map((r) => json(r).path)).toEqual(Array.from({ length: 16 }, (_, i) => `/echo-path/n${i}`));
    },
  },
  {
    id: "sequential",
    title: "answers 50 requests one after the other (connection reuse)",
    async run({ client, prefix }) {
      for (let i = 0; i < 50; i++) {
        const res = await client.get(`${prefix}/query?i=${i}`);
        expect(json(res)).toEqual({ i: String(i) });
      }
    },
  },
  {
    id: "disconnect",
    title: "survives a client that disconnects mid-response, and the app sees the abort",
    async run({ client, prefix, processPerRequest }) {
      // The counters are per process, and with workers (--forks) each /seen lands on any of
      // them: compare each process with itself. A process first heard of after the abort starts
      // from 0, as this check is the app's only abort. The /seen requests go eight at a time:
      // one after another, they land on whichever idle worker the kernel wakes first, and one
      // worker can answer 3 in 1000 of them (seen with lighttpd + scgi --forks 3), so polling
      // one by one may never reach the worker that served /slow. Eight at once keep every
      // worker busy, and each gets its share.
      const round = async (): Promise<{ pid: number; aborted: number }[]> =>
        Promise.all(Array.from({ length: 8 }, async () => json(await client.get(`${prefix}/seen`))));
      const before = new Map<number, number>();
      if (!processPerRequest) {
        for (let i = 0; i < 4; i++) for (const seen of await round()) before.set(seen.pid, seen.aborted);
      }
      const partial = await client.request({ method: "GET", target: `${prefix}/slow`, abortAfter: 256 * 1024 });
      expect(partial.body.length).toBeGreaterThanOrEqual(1);
      const res = await client.get(`${prefix}/hello`);
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe("hello");
      if (!processPerRequest) {
        let told = false;
        for (let i = 0; i < 400 && !told; i++) {
          await new Promise((r) => setTimeout(r, 25));
          told = (await round()).some((seen) => seen.aborted > (before.get(seen.pid) ?? 0));
        }
        expect(told).toBe(true);
      }
    },
  },
];

/** One (front server, backend) pair at one mount, as the test files describe it. */
export interface PairSpec {
  title: string;
  /** Starts the backend and the front server; returns the front server's port and a stop. */
  start(): Promise<{ port: number; log(): string; stop(): Promise<void> }>;
  prefix: string;
  processPerRequest?: boolean;
  exceptions?: Record<string, Exception>;
}

/**
 * Defines the checks for one pair: every check of CHECKS, or its documented exception.
 *
 * @example runChecks({ title: "nginx + fastcgi at /", prefix: "", start: ... });
 */
export function runChecks(pair: PairSpec): void {
  describe(pair.title, () => {
    let running: Awaited<ReturnType<PairSpec["start"]>> | undefined;
    let ctx: CheckContext;
    beforeAll(async () => {
      running = await pair.start();
      ctx = { client: new HttpClient(running.port), prefix: pair.prefix, processPerRequest: pair.processPerRequest ?? false };
    });
    afterAll(async () => {
      ctx?.client.close();
      await running?.stop();
    });
    for (const check of CHECKS) {
      const exception = pair.exceptions?.[check.id];
      const trace = (): string => {
        const log = running?.log().trim();
        return log ? `--- front server and app output ---\n${log.slice(-4000)}` : "";
      };
      if (exception === undefined) it(check.title, () => explained(trace, () => check.run(ctx)));
      else it(`${check.title}: EXCEPTION ${exception.reason}`, () => explained(trace, () => exception.instead(ctx)));
    }
  });
}
