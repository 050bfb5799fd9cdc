// The pages tell the truth about the code: every link and every file they name exists, and every
// name their examples import from the package is exported. A page that presents a function,
// folder or file that does not exist fails here, not in a new user's first hour.
import { describe, it, expect } from "@jest/globals";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as valum from "../../valum/index.js";
import * as vsgi from "../../vsgi/index.js";

// This file runs compiled, from dist/test/docs/: the repository root is three folders up.
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

function markdownUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name === "dist" || entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...markdownUnder(path));
    else if (entry.name.endsWith(".md")) out.push(path);
  }
  return out;
}

const PAGES = [join(ROOT, "README.md"), ...markdownUnder(join(ROOT, "docs")), ...markdownUnder(join(ROOT, "examples")), join(ROOT, "bench", "README.md")];

/** Text outside fenced code blocks, where links and file names are prose. */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, "");
}

/** The fenced TypeScript and JavaScript blocks of a page. */
function codeBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```(?:ts|typescript|js|javascript)\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/**
 * The anchors of a page's headings as GitHub makes them: lower case, punctuation dropped but
 * `-` and `_`, spaces as `-`, a repeated one numbered (`-1`, `-2`).
 */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const base = m[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    let slug = base;
    for (let n = 1; out.has(slug); n++) slug = `${base}-${n}`;
    out.add(slug);
  }
  return out;
}

const TOP = ["valum", "vsgi", "servers", "bin", "examples", "test", "bench", "docs", ".ci"];

describe("the documentation", () => {
  it("links only to files that exist", () => {
    const broken: string[] = [];
    for (const page of PAGES) {
      for (const m of prose(readFileSync(page, "utf8")).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split("#")[0]!;
        if (target === "" || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // an anchor or a URL
        if (!existsSync(join(dirname(page), decodeURIComponent(target)))) broken.push(`${relative(ROOT, page)}: ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("links to headings that exist, on its own page or another", () => {
    const broken: string[] = [];
    for (const page of PAGES) {
      for (const m of prose(readFileSync(page, "utf8")).matchAll(/\]\(([^)\s]*#[^)\s]+)\)/g)) {
        const [file, fragment] = m[1]!.split("#") as [string, string];
        if (/^[a-z][a-z0-9+.-]*:/i.test(file)) continue; // another site's
        const target = file === "" ? page : join(dirname(page), decodeURIComponent(file));
        if (!target.endsWith(".md") || !existsSync(target)) continue; // a source file's line, or the test above
        if (!anchors(readFileSync(target, "utf8")).has(decodeURIComponent(fragment))) broken.push(`${relative(ROOT, page)}: ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("names only files and folders of the repository that exist", () => {
    const missing: string[] = [];
    const path = new RegExp(`\`((?:${TOP.map((t) => t.replace(".", "\\.")).join("|")})/[A-Za-z0-9_./-]*?(?:\\.(?:ts|md|js|conf|cfg|json)|/))\``, "g");
    for (const page of PAGES) {
      for (const m of prose(readFileSync(page, "utf8")).matchAll(path)) {
        const named = m[1]!;
        // Package subpaths (`valum/vsgi`, `valum/servers/`) name exports, not files.
        if (/^valum\/(vsgi|servers)\b/.test(named) && !named.endsWith(".ts")) continue;
        if (!existsSync(join(ROOT, named))) missing.push(`${relative(ROOT, page)}: ${named}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("imports in its examples only what the package exports", () => {
    const exported: Record<string, ReadonlySet<string>> = {
      valum: new Set(Object.keys(valum)),
      "valum/vsgi": new Set(Object.keys(vsgi)),
    };
    const unknown: string[] = [];
    for (const page of PAGES) {
      for (const block of codeBlocks(readFileSync(page, "utf8"))) {
        for (const m of block.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s*from\s*"(valum|valum\/vsgi)"/g)) {
          if (m[1] !== undefined) continue; // types have no value to look up: the build checks them
          for (const spec of m[2]!.split(",")) {
            if (/^\s*type\s/.test(spec)) continue;
            const name = spec.trim().split(/\s+as\s+/)[0]!.trim();
            if (name === "") continue;
            if (!exported[m[3]!]!.has(name)) unknown.push(`${relative(ROOT, page)}: ${name} from "${m[3]}"`);
          }
        }
      }
    }
    expect(unknown).toEqual([]);
  });

  it("lists every middleware page in the index", () => {
    const dir = join(ROOT, "docs", "middlewares");
    const index = readFileSync(join(dir, "README.md"), "utf8");
    const unlisted = readdirSync(dir).filter((page) => page !== "README.md" && !index.includes(`(${page})`));
    expect(unlisted).toEqual([]);
  });
});
