// Static files never leak outside the root, through every backend: each backend gets the path
// its own way (http: the request line; scgi, fastcgi, cgi: REQUEST_URI, PATH_INFO, SCRIPT_NAME as
// a front server spells them; ajp: req_uri raw as Apache sends it, or decoded as lighttpd does).
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { Server, setErrorLogger } from "../../vsgi/index.js";
import { distPath } from "../helpers/process.js";
import { makeStaticTree, staticApp, leaks, type StaticTree } from "./static-fixture.js";
import { TRAVERSAL_TRICKS, SERVED } from "./tricks.js";
import { ajpRaw, baseVariables, cgiRaw, fastcgiRaw, httpRaw, inBatches, pathSpellings, scgiRaw, type Answer } from "./gateways.js";

// 414: the longest tricks are past the backends' `maxUrlLength` (8192), refused before any path is read.
const REFUSED = [400, 403, 404, 414];
const STATIC_CGI = distPath("test/security/static-cgi-app.js");

let tree: StaticTree;
const logged: unknown[] = [];
beforeAll(() => {
  tree = makeStaticTree();
  // a refused path is an answer, not an error: nothing may be logged
  setErrorLogger((message, error) => logged.push(error ?? message));
});
afterAll(() => {
  setErrorLogger((message, error) => console.error(message, error));
  tree.remove();
  expect(logged).toEqual([]);
});

/** One verdict per request, so a failure names the trick and the spelling. */
interface Verdict {
  what: string;
  status: number;
  leak: string | null;
}

function verdict(what: string, answer: Answer): Verdict {
  return { what: what.length > 120 ? what.slice(0, 100) + `... (${what.length} characters)` : what, status: answer.status, leak: leaks(answer.raw) ?? leaks(answer.body) };
}

function expectRefused(verdicts: Verdict[]): void {
  const bad = verdicts.filter((v) => v.leak !== null || !REFUSED.includes(v.status));
  expect(bad).toEqual([]);
}

/** Percent-decodes to raw bytes, as lighttpd hands a path to mod_ajp13. */
function decodeBytes(path: string): Buffer {
  const raw = Buffer.from(path, "utf8");
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const hex = i + 2 < raw.length ? String.fromCharCode(raw[i + 1]!, raw[i + 2]!) : "";
    if (raw[i] === 0x25 && /^[0-9a-fA-F]{2}$/.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else out.push(raw[i]!);
  }
  return Buffer.from(out);
}

it(`there are at least 30 tricks (${TRAVERSAL_TRICKS.length})`, () => {
  expect(TRAVERSAL_TRICKS.length).toBeGreaterThanOrEqual(30);
});

describe("http", () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = await Server.load("http", { handler: staticApp(tree.root) });
    await server.listen({ port: 0, host: "127.0.0.1" });
    port = Number(server.uris[0]!.port);
  });
  afterAll(() => server.stop());

  const request = (target: string): string => `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`;

  it("serves the files under the root", async () => {
    for (const [target, text] of SERVED) {
      const answer = await httpRaw(port, request(target));
      expect([target, answer.status, answer.body.toString()]).toEqual([target, 200, text]);
    }
  });

  it("answers every trick with 400, 403 or 404 and no secret", async () => {
    const verdicts = await inBatches(
      TRAVERSAL_TRICKS.map((target) => async () => verdict(target, await httpRaw(port, request(target)))),
      8,
    );
    expectRefused(verdicts);
  });
});

/** The CGI-family backends that listen: each trick in each spelling a front server may use. */
describe.each([
  ["scgi", (port: number, vars: [string, string][]) => scgiRaw(port, vars)],
  ["fastcgi", (port: number, vars: [string, string][]) => fastcgiRaw(port, vars)],
] as const)("%s", (name, send) => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = await Server.load(name, { handler: staticApp(tree.root) });
    await server.listen({ port: 0 });
    port = Number(server.uris[0]!.port);
  });
  afterAll(() => server.stop());

  // SCGI cannot carry a NUL in a value (it ends the value); FastCGI can, and nothing may break
  const carries = (value: string): boolean => name === "fastcgi" || !value.includes("\0");

  it("serves the files under the root, in every spelling", async () => {
    for (const [target, text] of SERVED) {
      for (const spelling of pathSpellings(target)) {
        const answer = await send(port, [...baseVariables(), ...spelling.variables]);
        expect([target, spelling.name, answer.status, answer.body.toString()]).toEqual([target, spelling.name, 200, text]);
      }
    }
  });

  it("answers every trick, in every spelling, with 400, 403 or 404 and no secret", async () => {
    const tasks: (() => Promise<Verdict>)[] = [];
    for (const target of TRAVERSAL_TRICKS) {
      for (const spelling of pathSpellings(target)) {
        if (!spelling.variables.every(([, value]) => carries(value))) continue;
        tasks.push(async () => verdict(`${target} (${spelling.name})`, await send(port, [...baseVariables(), ...spelling.variables])));
      }
    }
    expectRefused(await inBatches(tasks, 8));
  });
});

describe("cgi", () => {
  const run = (variables: [string, string][]): Promise<Answer> =>
    cgiRaw(STATIC_CGI, [...baseVariables(), ...variables], { VALUM_TEST_STATIC_ROOT: tree.root });

  it("serves the files under the root", async () => {
    for (const [target, text] of SERVED.slice(0, 2)) {
      const answer = await run(pathSpellings(target)[0]!.variables);
      expect([target, answer.status, answer.body.toString()]).toEqual([target, 200, text]);
    }
  }, 60000);

  it("answers every trick, as lighttpd and as nginx spell it, with 400, 403 or 404 and no secret", async () => {
    const tasks: (() => Promise<Verdict>)[] = [];
    for (const target of TRAVERSAL_TRICKS) {
      // a process environment holds no NUL: a front server cannot pass one
      const spellings = pathSpellings(target).filter((s) => s.variables.every(([, v]) => !v.includes("\0")));
      // the raw REQUEST_URI, and the decoded PATH_INFO where decoding changes anything: the
      // other spellings go through the same reader as scgi's, tested above (a process each is slow)
      for (const spelling of spellings.slice(0, target.includes("%") ? 2 : 1)) {
        tasks.push(async () => verdict(`${target} (${spelling.name})`, await run(spelling.variables)));
      }
    }
    expectRefused(await inBatches(tasks, 3));
  }, 600000);
});

describe("ajp", () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = await Server.load("ajp", { handler: staticApp(tree.root) });
    await server.listen({ port: 0 });
    port = Number(server.uris[0]!.port);
  });
  afterAll(() => server.stop());

  const forward = (uri: string | Buffer, query: string | null) => ({ method: "GET", uri, query, headers: [["Host", "localhost"]] as [string, string][] });
  const split = (target: string): [string, string | null] => {
    const q = target.indexOf("?");
    return q === -1 ? [target, null] : [target.slice(0, q), target.slice(q + 1)];
  };

  it("serves the files under the root, with req_uri raw or decoded", async () => {
    for (const [target, text] of SERVED) {
      for (const uri of [target, decodeBytes(target)]) {
        const answer = await ajpRaw(port, forward(uri, null));
        expect([target, answer.status, answer.body.toString()]).toEqual([target, 200, text]);
      }
    }
  });

  it("answers every trick, req_uri raw (Apache) or decoded (lighttpd), with 400, 403 or 404 and no secret", async () => {
    const tasks: (() => Promise<Verdict>)[] = [];
    // a FORWARD_REQUEST must fit one packet (8 KiB): the front server refuses longer ones itself
    for (const target of TRAVERSAL_TRICKS.filter((t) => t.length < 6000)) {
      const [path, query] = split(target);
      tasks.push(async () => verdict(`${target} (raw)`, await ajpRaw(port, forward(path, query))));
      tasks.push(async () => verdict(`${target} (decoded)`, await ajpRaw(port, forward(decodeBytes(path), query))));
    }
    expectRefused(await inBatches(tasks, 8));
  });
});
