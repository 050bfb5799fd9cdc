// Copies the board's public/ folder next to the compiled app (dist/examples/board/public/) with a
// `.gz` and a `.br` sibling for each file, which serveFromPath sends to clients that accept them.
// The siblings are made here rather than committed: they are build products of the text files.
//   node dist/examples/board/precompress.js        (app.js runs it too when started)
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The page's sources: examples/board/public/ (the compiled file runs from dist/examples/board/). */
export const SOURCE = fileURLToPath(new URL("../../../examples/board/public/", import.meta.url));
/** Where the app serves them from: dist/examples/board/public/. */
export const PUBLIC = fileURLToPath(new URL("public/", import.meta.url));

// Written under a temporary name and renamed: a server already running (or several FastCGI
// processes starting at once) never serves half a file.
function write(path: string, bytes: Uint8Array): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, bytes);
  renameSync(temporary, path);
}

/**
 * Copies every file of `from` into `to`, each with its gzip and brotli forms; returns the names
 * copied.
 *
 * @example precompress(SOURCE, PUBLIC); // ["app.js", "index.html", "style.css"]
 */
export function precompress(from: string = SOURCE, to: string = PUBLIC): string[] {
  mkdirSync(to, { recursive: true });
  const names: string[] = [];
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (!entry.isFile() || entry.name.endsWith(".gz") || entry.name.endsWith(".br")) continue;
    const bytes = readFileSync(join(from, entry.name));
    write(join(to, entry.name), bytes);
    write(join(to, `${entry.name}.gz`), gzipSync(bytes, { level: 9 }));
    write(join(to, `${entry.name}.br`), brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
    names.push(entry.name);
  }
  return names.sort();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`${PUBLIC}: ${precompress().join(", ")} with .gz and .br`);
}
