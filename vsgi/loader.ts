import { access } from "node:fs/promises";
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
 * Finds the backend class called `name`: the folders of `VSGI_SERVER_PATH` first (a file
 * `<name>.js` or `<name>.mjs` exporting the class by default), so that a deployment can replace
 * a built-in, then the built-ins in `servers/<name>/`.
 *
 * @example const Http = await loadServer("http");
 */
export async function loadServer(name: string): Promise<ServerClass> {
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
      throw unknown(name, looked);
    }
    return checkClass(await import(pathToFileURL(builtIn).href), `the built-in server ${name}`);
  }
  throw unknown(name, looked);
}

function unknown(name: string, looked: string[]): VsgiError {
  return new VsgiError(
    ERR_UNKNOWN_SERVER,
    `unknown server ${JSON.stringify(name)}: looked in ${looked.length > 0 ? looked.join(", ") : "no folder (not a valid name)"}; set VSGI_SERVER_PATH to a folder holding ${name}.js`,
  );
}
