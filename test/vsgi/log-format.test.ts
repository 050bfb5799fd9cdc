// The access log's formatter (pure: an entry in, a line out) and its writer (LogFile: real
// files in a temporary folder, batching, reopen).
import { describe, it, expect, beforeAll, afterAll } from "@jest/globals";
import { mkdtemp, rm, readFile, rename, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AccessLog, formatCombined, formatJson, escapeLogText, LogFile, parseCommandLine, type AccessEntry } from "../../vsgi/index.js";
import { capturingErrors } from "../helpers/log.js";
import { writeCombined, writeJson } from "../../vsgi/log-format.js";
import { LogBuffer } from "../../vsgi/log-buffer.js";

// The log files the LogFile and AccessLog tests write, each under its own name.
let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vsgi-log-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Apache's own example line: 10/Oct/2000:13:55:36 -0700 is 20:55:36 UTC.
const TIME = Date.UTC(2000, 9, 10, 20, 55, 36, 123);

function entry(fields: Partial<AccessEntry> = {}): AccessEntry {
  return {
    remoteAddress: "127.0.0.1",
    user: "frank",
    time: TIME,
    method: "GET",
    target: "/apache_pb.gif?a=1",
    protocol: "HTTP/1.0",
    status: 200,
    bytes: 2326,
    referer: "http://www.example.com/start.html",
    userAgent: "Mozilla/4.08 [en] (Win98; I ;Nav)",
    duration: 1520,
    worker: 0,
    ...fields,
  };
}

/** `[10/Oct/2000:13:55:36 -0700]` as the local time zone of this process writes TIME. */
function localStamp(ms: number): string {
  const d = new Date(ms);
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number): string => String(n).padStart(2, "0");
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? "-" : "+";
  return `${p(d.getDate())}/${months[d.getMonth()]}/${d.getFullYear()}:${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${sign}${p(Math.floor(Math.abs(offset) / 60))}${p(Math.abs(offset) % 60)}`;
}

describe("formatCombined", () => {
  it("writes Apache's Combined Log Format with the duration in microseconds last", () => {
    expect(formatCombined(entry())).toBe(
      `127.0.0.1 - frank [${localStamp(TIME)}] "GET /apache_pb.gif?a=1 HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)" 1520\n`,
    );
  });

  it("writes - for unknown fields and for a body of 0 bytes, as Apache's %b", () => {
    const line = formatCombined(entry({ remoteAddress: null, user: null, referer: null, userAgent: "", bytes: 0, status: 304 }));
    expect(line).toBe(`- - - [${localStamp(TIME)}] "GET /apache_pb.gif?a=1 HTTP/1.0" 304 - "-" "-" 1520\n`);
  });

  it("writes - (JSON: null) for a number that is no count (an entry made by hand), never digits past the line's room", () => {
    const line = formatCombined(entry({ bytes: 1e300, duration: -5 }));
    expect(line).toMatch(/" 200 - "http:\/\/www\.example\.com\/start\.html" "Mozilla\/4\.08 \[en\] \(Win98; I ;Nav\)" -\n$/);
    expect(JSON.parse(formatJson(entry({ bytes: Number.NaN })))).toMatchObject({ bytes: null, status: 200 });
  });

  it("keeps the formatted second and changes it with the next one", () => {
    expect(formatCombined(entry({ time: TIME + 500 }))).toContain(`[${localStamp(TIME)}]`);
    expect(formatCombined(entry({ time: TIME + 1000 }))).toContain(`[${localStamp(TIME + 1000)}]`);
  });

  it("escapes what a client sends so that it cannot end a field or forge a line", () => {
    const forged = 'x" 200 5 "-" "-" 1\n127.0.0.1 - admin [01/Jan/2000:00:00:00 +0000] "GET /admin HTTP/1.1';
    const line = formatCombined(entry({ userAgent: forged, target: '/a"b\\c\r\n', referer: "\x00\x1b[31m\x7f", user: 'ev"il' }));
    expect(line.split("\n")).toHaveLength(2); // one line, and its final newline
    expect(line).toContain(' "GET /a\\"b\\\\c\\r\\n HTTP/1.0" ');
    expect(line).toContain(' "\\x00\\x1b[31m\\x7f" ');
    expect(line).toContain(' "x\\" 200 5 \\"-\\" \\"-\\" 1\\n127.0.0.1 - admin ');
    expect(line).toContain(' - ev\\"il [');
    // every quote left unescaped is one of the six that delimit the three quoted fields
    expect(line.replace(/\\\\/g, "").replace(/\\"/g, "").split('"')).toHaveLength(7);
  });

  it("escapes a long field whose only character to escape is its last (long fields are tested and copied in one piece)", () => {
    const long = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/133.0";
    expect(formatCombined(entry({ userAgent: long }))).toContain(` "${long}" 1520\n`);
    expect(formatCombined(entry({ userAgent: long + "\xe9", referer: long + '"' }))).toContain(` "${long}\\"" "${long}\\xe9" 1520\n`);
    expect(JSON.parse(formatJson(entry({ userAgent: long + "\xe9", target: long + "\\" })))).toMatchObject({ userAgent: long + "\xe9", target: long + "\\" });
  });
});

describe("a user agent a client sends again (its bytes are kept)", () => {
  it("are written the same the next time, from a buffer since written over", () => {
    const out = new LogBuffer(256);
    const seen = entry({ remoteAddress: "198.51.100.7", userAgent: "kept-agent/1.0" });
    for (const write of [writeCombined, writeJson]) {
      const first = (write(out, seen), out.toString());
      out.clear();
      // the same bytes of the buffer now hold another line
      write(out, entry({ remoteAddress: "203.0.113.99", userAgent: "other-agent/2.0" }));
      out.clear();
      write(out, seen);
      expect(out.toString()).toBe(first);
      out.clear();
    }
  });

  it("stay right past the number kept, and an escaped one is escaped each time", () => {
    const agents = Array.from({ length: 1100 }, (_, n) => `agent-${n}/1.0`);
    for (const userAgent of [...agents, ...agents.slice(0, 10)]) {
      expect(formatCombined(entry({ userAgent }))).toContain(` "${userAgent}" 1520\n`);
    }
    const forged = 'x"\r\n1.2.3.4 - admin';
    for (let i = 0; i < 2; i++) {
      expect(formatCombined(entry({ userAgent: forged }))).toContain(' "x\\"\\r\\n1.2.3.4 - admin" 1520\n');
      expect(JSON.parse(formatJson(entry({ userAgent: forged, remoteAddress: "" }))).userAgent).toBe(forged);
    }
    expect(JSON.parse(formatJson(entry({ remoteAddress: "" }))).remoteAddress).toBe("");
  });
});

describe("escapeLogText", () => {
  it.each([
    ["plain text", "plain text"],
    ['a"b', 'a\\"b'],
    ["a\\b", "a\\\\b"],
    ["\t\b\v\r\n", "\\t\\b\\v\\r\\n"],
    ["\x01\x1f\x7f", "\\x01\\x1f\\x7f"],
    ["caf\xe9", "caf\\xe9"], // latin-1, as node gives header bytes: one byte each
    ["€", "\\xe2\\x82\\xac"], // above U+00FF: its UTF-8 bytes
    ["😀", "\\xf0\\x9f\\x98\\x80"],
  ])("escapes %j as Apache does", (text, escaped) => {
    expect(escapeLogText(text)).toBe(escaped);
  });
});

describe("formatJson", () => {
  it("writes the fields by name, typed, the time in ISO 8601", () => {
    const line = formatJson(entry({ worker: 3, user: null }));
    expect(line.endsWith("}\n")).toBe(true);
    expect(JSON.parse(line)).toEqual({
      time: "2000-10-10T20:55:36.123Z",
      remoteAddress: "127.0.0.1",
      user: null,
      method: "GET",
      target: "/apache_pb.gif?a=1",
      protocol: "HTTP/1.0",
      status: 200,
      bytes: 2326,
      referer: "http://www.example.com/start.html",
      userAgent: "Mozilla/4.08 [en] (Win98; I ;Nav)",
      duration: 1520,
      worker: 3,
    });
  });

  it("writes a usual line (no user, HTTP/1.1, no Referer) byte for byte, and each process's worker, or null for a number that is none", () => {
    const usual = { user: null, protocol: "HTTP/1.1", referer: null, userAgent: null, target: "/", bytes: 12, duration: 45 };
    const line = (worker: number | "null"): string =>
      `{"time":"2000-10-10T20:55:36.123Z","remoteAddress":"127.0.0.1","user":null,"method":"GET","target":"/","protocol":"HTTP/1.1",` +
      `"status":200,"bytes":12,"referer":null,"userAgent":null,"duration":45,"worker":${worker}}\n`;
    expect(formatJson(entry({ ...usual, worker: 2 }))).toBe(line(2));
    expect(formatJson(entry({ ...usual, worker: 7 }))).toBe(line(7));
    expect(formatJson(entry({ ...usual, worker: -1 }))).toBe(line("null"));
    expect(formatJson(entry({ ...usual, worker: 2 }))).toBe(line(2));
  });

  it("pads the milliseconds and keeps a forged line inside its string", () => {
    const line = formatJson(entry({ time: TIME - 118, userAgent: '"}\n{"status":200' }));
    expect(line.split("\n")).toHaveLength(2);
    const parsed = JSON.parse(line) as { time: string; userAgent: string; status: number };
    expect(parsed.time).toBe("2000-10-10T20:55:36.005Z");
    expect(parsed.userAgent).toBe('"}\n{"status":200');
    expect(parsed.status).toBe(200);
  });
});

describe("--access-log and --log-format", () => {
  it.each([
    [["--access-log"], "-"],
    [["--access-log", "-p", "0"], "-"],
    [["--access-log", "-"], "-"],
    [["--access-log", "/var/log/a.log"], "/var/log/a.log"],
    [["--access-log=/var/log/a.log", "-p", "0"], "/var/log/a.log"],
    [["-p", "0"], null],
  ])("%j logs to %j", (args, file) => {
    expect(parseCommandLine(args).accessLog).toBe(file);
  });

  it("reads the format, clf by default", () => {
    expect(parseCommandLine(["--access-log"]).logFormat).toBe("clf");
    expect(parseCommandLine(["--access-log", "--log-format", "json"]).logFormat).toBe("json");
    expect(parseCommandLine(["--log-format=clf", "--access-log", "x"]).logFormat).toBe("clf");
  });

  it.each([
    [["--access-log", "--log-format", "xml"], /option --log-format takes clf or json, got "xml"/],
    [["--log-format", "json"], /option --log-format needs --access-log/],
    [["--access-log="], /option --access-log takes a file name/],
  ])("refuses %j", (args, message) => {
    expect(() => parseCommandLine(args)).toThrow(message);
  });
});

describe("LogFile", () => {
  it("writes lines together, once the batch waited its 100 ms or at once past 256 KiB", async () => {
    const path = join(dir, "batch.log");
    const log = new LogFile(path);
    log.write("one\n");
    log.write("two\n");
    expect(readFileSync(path, "utf8")).toBe("");
    await new Promise((resolve) => setTimeout(resolve, 150)); // set after the log's own 100 ms: fires after it
    expect(readFileSync(path, "utf8")).toBe("one\ntwo\n");
    // under 256 KiB gathered, the batch waits; past it, it goes at once
    const big = "x".repeat(200 * 1024) + "\n";
    log.write(big);
    expect(readFileSync(path, "utf8")).toBe("one\ntwo\n");
    const more = "y".repeat(60 * 1024) + "\n";
    log.write(more);
    expect(readFileSync(path, "utf8")).toBe("one\ntwo\n" + big + more);
    log.close();
  });

  it("appends to what the file holds", async () => {
    const path = join(dir, "append.log");
    await writeFile(path, "before\n");
    const log = new LogFile(path);
    log.write("after\n");
    log.close();
    expect(await readFile(path, "utf8")).toBe("before\nafter\n");
  });

  it("reopens by path: pending lines go to the moved file, the next ones to the new one", async () => {
    const path = join(dir, "rotate.log");
    const log = new LogFile(path);
    log.write("old\n");
    await rename(path, path + ".1");
    log.reopen();
    log.write("new\n");
    log.close();
    expect(await readFile(path + ".1", "utf8")).toBe("old\n");
    expect(await readFile(path, "utf8")).toBe("new\n");
  });

  it("keeps writing to the old file when the path cannot be opened again", async () => {
    const folder = join(dir, "gone");
    const moved = join(dir, "moved");
    await rm(folder, { recursive: true, force: true });
    await import("node:fs/promises").then((fs) => fs.mkdir(folder));
    const log = new LogFile(join(folder, "a.log"));
    await rename(folder, moved);
    const lines = await capturingErrors(async () => log.reopen());
    log.write("still here\n");
    log.close();
    expect(lines).toEqual([expect.stringMatching(/^cannot open the access log .*gone\/a\.log: ENOENT.*; still writing to the file it replaced$/)]);
    expect(await readFile(join(moved, "a.log"), "utf8")).toBe("still here\n");
  });

  it("logs one line for a run of failed writes (a full disk), not one per batch", async () => {
    const log = new LogFile("/dev/full");
    const lines = await capturingErrors(async () => {
      for (let i = 0; i < 3; i++) {
        log.write(`line ${i}\n`);
        log.flush();
      }
    });
    log.close();
    expect(lines).toEqual(["cannot write the access log /dev/full: ENOSPC: no space left on device, write; its lines are dropped until a write succeeds"]);
  });

  it("refuses a file it cannot open, naming it", () => {
    expect(() => new LogFile(join(dir, "no", "such", "folder.log"))).toThrow(/^cannot open the access log .*no\/such\/folder\.log: ENOENT/);
  });
});

describe("AccessLog", () => {
  const numbered = (n: number): AccessEntry => entry({ target: `/${n}` });

  it.each([
    ["clf", formatCombined],
    ["json", formatJson],
  ] as const)("formats entries when their batch is written, at once when they make about 256 KiB, in order (%s)", (format, formatLine) => {
    const path = join(dir, `queue.${format}.log`);
    const log = new AccessLog({ file: path, format, reopenOnSignal: false });
    // lines of about 1 KiB: a long target, as a client may send, counts towards the batch
    const long = (n: number): AccessEntry => entry({ target: `/${n}/${"t".repeat(1000)}` });
    let n = 0;
    while (readFileSync(path, "utf8") === "" && n < 1000) {
      log.write(long(n++));
      if (readFileSync(path, "utf8") === "") expect(log.file.batch.length).toBe(0); // queued, not formatted yet
    }
    const written = readFileSync(path, "utf8");
    expect(written).toBe(Array.from({ length: n }, (_, i) => formatLine(long(i))).join(""));
    expect(written.length).toBeGreaterThan(240 * 1024);
    expect(written.length).toBeLessThan(272 * 1024);
    log.write(numbered(n));
    log.file.flush();
    expect(readFileSync(path, "utf8")).toBe(written + formatLine(numbered(n)));
    log.file.close();
  });

  it.each(["clf", "json"] as const)("writes a batch of short lines before they outgrow its buffer (%s)", (format) => {
    const path = join(dir, `short.${format}.log`);
    const log = new AccessLog({ file: path, format, reopenOnSignal: false });
    const size = log.file.batch.bytes.length;
    const short = entry({ target: "/", referer: null, userAgent: null });
    let n = 0;
    while (readFileSync(path, "utf8") === "" && n < 10000) {
      log.write(short);
      n++;
    }
    const written = readFileSync(path, "utf8").length;
    expect(written).toBeGreaterThan(150 * 1024);
    expect(written).toBeLessThanOrEqual(size);
    log.file.close();
  });

  it("drops what is written after its file is closed, holding none of it", () => {
    const path = join(dir, "closed.log");
    const log = new AccessLog({ file: path, reopenOnSignal: false });
    log.write(numbered(1));
    log.file.close();
    for (let n = 2; n < 1000; n++) log.write(numbered(n));
    expect(readFileSync(path, "utf8")).toBe(formatCombined(numbered(1)));
    expect((log as unknown as { queued: number }).queued).toBe(0);
  });

  it("writes a queued entry within 100 ms with no other request after it, and before text written to its file later", async () => {
    const path = join(dir, "alone.log");
    const log = new AccessLog({ file: path, format: "json", reopenOnSignal: false });
    log.write(numbered(1));
    expect(readFileSync(path, "utf8")).toBe("");
    await new Promise((resolve) => setTimeout(resolve, 150)); // set after the file's own 100 ms: fires after it
    expect(readFileSync(path, "utf8")).toBe(formatJson(numbered(1)));
    log.write(numbered(2));
    log.file.write("text\n");
    log.write(numbered(3));
    log.file.close(); // what disableAccessLog and reopen do too: the queue first
    expect(readFileSync(path, "utf8")).toBe(formatJson(numbered(1)) + formatJson(numbered(2)) + "text\n" + formatJson(numbered(3)));
  });
});
