// The static-file fixture of the security tests: a root folder with a few files and symlinks,
// secrets beside it, and the application that serves the root the two ways an application does
// (the request path, and a `<path:path>` capture under /static/), behind a guard on /admin/.
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Router, ClientError, serveFromPath } from "../../valum/index.js";

/** Marks no answer may contain: files outside the root, dot files, the guarded file, /etc/passwd. */
export const SECRETS = ["TOPSECRET-8f3a1c", "SIBLINGSECRET-77", "DOTSECRET-5b2e", "ADMINONLY-91d0", "root:x:0:0"];

/** The folders of one fixture. */
export interface StaticTree {
  /** The temporary folder: `secret.txt`, `public2/secret.txt` and `public/` (the root). */
  base: string;
  root: string;
  remove(): void;
}

/**
 * Builds the tree: `base/secret.txt` and `base/public2/secret.txt` (a folder whose name starts as
 * the root's: the `send` advisory of 2014), dot files, a guarded folder and symlinks out of the root.
 *
 * @example const tree = makeStaticTree(); ...; tree.remove();
 */
export function makeStaticTree(): StaticTree {
  const base = mkdtempSync(join(tmpdir(), "valum-security-"));
  const root = join(base, "public");
  mkdirSync(root);
  writeFileSync(join(base, "secret.txt"), SECRETS[0]!);
  mkdirSync(join(base, "public2"));
  writeFileSync(join(base, "public2", "secret.txt"), SECRETS[1]!);
  writeFileSync(join(root, "hello.txt"), "hello world\n");
  writeFileSync(join(root, ".env"), SECRETS[2]!);
  mkdirSync(join(root, ".git"));
  writeFileSync(join(root, ".git", "config"), SECRETS[2]!);
  mkdirSync(join(root, "dir"));
  writeFileSync(join(root, "dir", "inner.txt"), "inner");
  mkdirSync(join(root, "admin"));
  writeFileSync(join(root, "admin", "x"), SECRETS[3]!);
  symlinkSync(join(base, "secret.txt"), join(root, "link-out"));
  symlinkSync("../secret.txt", join(root, "link-out-relative"));
  symlinkSync(base, join(root, "dir-out"));
  symlinkSync("../public2", join(root, "dir-sibling"));
  symlinkSync("/etc", join(root, "etc-link"));
  symlinkSync(join(root, "hello.txt"), join(root, "link-in.txt"));
  return { base, root, remove: () => rmSync(base, { recursive: true, force: true }) };
}

/**
 * The application: a guard on `/admin/*` and `/static/admin/*`, files under `/static/` from a
 * capture, and every other path from the request path.
 *
 * @example Server.new("scgi", { handler: staticApp(tree.root) });
 */
export function staticApp(root: string): Router {
  const app = new Router();
  const guard = (): never => {
    throw ClientError.forbidden("guarded");
  };
  app.get("/admin/*", guard);
  app.get("/static/admin/*", guard);
  app.get("/static/<path:path>", serveFromPath(root));
  app.use(serveFromPath(root));
  return app;
}

/** Whether an answer holds any of the secrets. */
export function leaks(body: Buffer | string): string | null {
  const text = typeof body === "string" ? body : body.toString("latin1");
  return SECRETS.find((secret) => text.includes(secret)) ?? null;
}
