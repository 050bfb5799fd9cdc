import { access, readdir } from "node:fs/promises";
import { isAbsolute, resolve, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { VsgiError, ERR_UNKNOWN_SERVER, ERR_INVALID_SERVER_MODULE } from "./errors.js";
import type { Server, ServerOptions } from "./server.js";

/** A backend class, as a backend module exports it by default. */
export type ServerClass = new (options: ServerOptions) => Server;

// The built-ins are found by path, like any other backend, so that this layer does not depend
// on them: `servers/<name>/index.js` beside the compiled `vsgi/`.
const BUILT_IN_DIR = fileURLToPath(new URL("../servers/", import.meta.url));

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function checkClass(module: { default: unknown }, where: string): ServerClass {
  const Backend = module.default;
  if (typeof Backend !== "function") {
    throw new VsgiError(ERR_INVALID_SERVER_MODULE, `${where} does not export a server class by default`);
  }
  return Backend as ServerClass;
}

/** The folders named by `VSGI_SERVER_PATH`, in order. */
export function serverSearchPath(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.VSGI_SERVER_PATH ?? "")
    .split(":")
    .filter((dir) => dir.length > 0)
    .map((dir) => (isAbsolute(dir) ? dir : resolve(dir)));
}

/**
 * Throws the framework's own error when `name` is no backend name at all (`Server.new(undefined)`
 * from a missing setting), instead of letting `node:path` fail on it later.
 *
 * @example checkServerName(process.env.BACKEND);
 */
export function checkServerName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name.length === 0) {
    throw new VsgiError(
      ERR_UNKNOWN_SERVER,
      `a backend name is needed (http, cgi, scgi, fastcgi, ajp, or a module in VSGI_SERVER_PATH), got ${typeof name === "string" ? '""' : String(name)}`,
    );
  }
}

/** The built-in backends' names, as installed beside this layer. */
export async function builtInServers(): Promise<string[]> {
  try {
    const entries = await readdir(BUILT_IN_DIR, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  } catch {
    return [];
  }
}

/**
 * Finds the backend class called `name`: the folders of `VSGI_SERVER_PATH` first (a file
 * `<name>.js` or `<name>.mjs` exporting the class by default), so that a deployment can replace
 * a built-in, then the built-ins in `servers/<name>/`.
 *
 * @example const Http = await loadServer("http");
 */
export async function loadServer(name: string): Promise<ServerClass> {
  checkServerName(name);
  const looked: string[] = [];
  if (NAME.test(name)) {
    for (const dir of serverSearchPath()) {
      for (const file of [`${name}.js`, `${name}.mjs`]) {
        const path = join(dir, file);
        looked.push(path);
        try {
          await access(path);
        } catch {
          continue;
        }
        return checkClass(await import(pathToFileURL(path).href), path);
      }
    }
    const builtIn = join(BUILT_IN_DIR, name, "index.js");
    looked.push(builtIn);
    try {
      await access(builtIn);
    } catch {
      throw await unknown(name, looked);
    }
    return checkClass(await import(pathToFileURL(builtIn).href), `the built-in server ${name}`);
  }
  throw await unknown(name, looked);
}

async function unknown(name: string, looked: string[]): Promise<VsgiError> {
  const builtIns = (await builtInServers()).join(", ");
  return new VsgiError(
    ERR_UNKNOWN_SERVER,
    `unknown server ${JSON.stringify(name)}: looked in ${looked.length > 0 ? looked.join(", ") : "no folder (not a valid name)"}; ` +
      `the built-ins are ${builtIns}; or set VSGI_SERVER_PATH to a folder holding ${name}.js`,
  );
}
