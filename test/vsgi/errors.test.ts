// The catalogue of coded errors: vsgi/errors.ts and docs/errors.md list the same codes (as
// Fastify's test/internals/errors.test.js keeps its errors and their docs in step), and no
// code is written as a literal anywhere else.
import { describe, it, expect } from "@jest/globals";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as errors from "../../vsgi/errors.js";

// This file runs compiled, from dist/test/vsgi/: the repository root is three folders up.
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CATALOGUE = join(ROOT, "docs", "errors.md");

/** The codes vsgi/errors.ts exports, by constant name. */
const exported = new Map<string, string>();
for (const [name, value] of Object.entries(errors) as [string, unknown][]) {
  if (name.startsWith("ERR_") && typeof value === "string") exported.set(name, value);
}
const codes: ReadonlySet<string> = new Set(exported.values());

/** The codes of the catalogue's table: the first cell of each row. */
function documentedCodes(markdown: string): string[] {
  return [...markdown.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);
}

function mentions(text: string): string[] {
  return [...text.matchAll(/\bERR_VSGI_[A-Z0-9_]+/g)].map((m) => m[0]);
}

function filesUnder(dir: string, extension: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(extension))
    .map((name) => join(dir, name));
}

describe("the error catalogue", () => {
  it("finds codes on both sides (the test reads what it should)", () => {
    expect(codes.size).toBeGreaterThan(5);
    expect(documentedCodes(readFileSync(CATALOGUE, "utf8")).length).toBeGreaterThan(5);
  });

  it("names each constant after its code, without VSGI_", () => {
    for (const [name, code] of exported) expect(code).toBe(name.replace(/^ERR_/, "ERR_VSGI_"));
  });

  it("documents every code of vsgi/errors.ts in docs/errors.md, once, and no other", () => {
    const documented = documentedCodes(readFileSync(CATALOGUE, "utf8"));
    const undocumented = [...codes].filter((code) => !documented.includes(code));
    const unknown = documented.filter((code) => !codes.has(code));
    const twice = documented.filter((code, i) => documented.indexOf(code) !== i);
    expect({ undocumented, unknown, twice }).toEqual({ undocumented: [], unknown: [], twice: [] });
  });

  it("mentions no code in the documentation that vsgi/errors.ts lacks", () => {
    const pages = [join(ROOT, "README.md"), ...filesUnder(join(ROOT, "docs"), ".md")];
    const unknown = pages.flatMap((page) => mentions(readFileSync(page, "utf8")).filter((code) => !codes.has(code)).map((code) => `${page}: ${code}`));
    expect(unknown).toEqual([]);
  });

  it("writes no code as a string literal outside vsgi/errors.ts", () => {
    const sources = ["vsgi", "servers", "valum", "bin"].flatMap((dir) => filesUnder(join(ROOT, dir), ".ts"));
    expect(sources.length).toBeGreaterThan(20);
    const literals = sources
      .filter((file) => file !== join(ROOT, "vsgi", "errors.ts"))
      .flatMap((file) => [...readFileSync(file, "utf8").matchAll(/["'](ERR_VSGI_[A-Z0-9_]+)["']/g)].map((m) => `${file}: ${m[1]}`));
    expect(literals).toEqual([]);
  });
});
