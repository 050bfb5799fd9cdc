/**
 * Type tests for `Server.new` and `Server.load`: compiled by the main build. Each
 * `@ts-expect-error` line proves a wrong use fails to compile (the build fails if it compiles).
 */
import { Server, type BuiltInServerOptions, type ServerOptionsOf, type AnyServerOptions } from "../../vsgi/index.js";
import type { ScgiServerOptions } from "../../servers/scgi/index.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}

const handler = (): boolean => false;

// --- a built-in's name picks its options type -------------------------------------------------
assertType<Equal<ServerOptionsOf<"scgi">, ScgiServerOptions>>();
assertType<Equal<ServerOptionsOf<"http">, BuiltInServerOptions["http"]>>();
assertType<Equal<ServerOptionsOf<string>, AnyServerOptions>>();
// @ts-expect-error the checks above are real: a wrong expectation fails
assertType<Equal<ServerOptionsOf<"scgi">, AnyServerOptions>>();

Server.new("scgi", { handler, scriptName: "/app", readTimeout: 1000, headTimeout: 5000 });
Server.new("http", { handler, keepAliveTimeout: 1000, headersTimeout: 2000, maxHeaderFields: 50, allow: ["127.0.0.1"] });
Server.new("fastcgi", { handler, multiplex: false, headTimeout: 5000, publicOrigin: "https://example.com" });
Server.new("ajp", { handler, packetSize: 8192, bodyFraming: "spec" });
Server.new("cgi", { handler, maxDiscard: 0 });
void Server.load("ajp", { handler, secret: "s" });

// @ts-expect-error a misspelled option of a built-in does not compile (scriptName)
Server.new("scgi", { handler, scriptname: "/app" });
// @ts-expect-error nor does another backend's option (http has no scriptName)
Server.new("http", { handler, scriptName: "/app" });
// @ts-expect-error nor a wrong value type
Server.new("fastcgi", { handler, multiplex: "yes" });
// @ts-expect-error Server.load is checked the same way
void Server.load("ajp", { handler, packetsize: 8192 });
// @ts-expect-error the handler is required
Server.new("http", {});

// --- a custom backend (VSGI_SERVER_PATH) or a name known at run time keeps loose options --------
Server.new("line", { handler, anything: 1 });
const fromEnvironment: string = process.env.BACKEND ?? "http";
Server.new(fromEnvironment, { handler, scriptName: "/app" });
// @ts-expect-error still, every backend needs a handler
Server.new("line", { anything: 1 });
