/**
 * Type tests for the status helpers, which status.ts builds from its tables in one loop: each
 * keeps its exact signature. Compiled by the main build; each `@ts-expect-error` line proves a
 * wrong use fails to compile.
 */
import { ClientError, Informational, Redirection, ServerError, Status, Success, type StatusOptions } from "../../valum/index.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}

// --- the signatures, one per kind of argument ------------------------------------------------------
assertType<Equal<typeof Informational.continue, () => Informational>>();
assertType<Equal<typeof Informational.switchingProtocols, (upgrade: string) => Informational>>();
assertType<Equal<typeof Success.ok, (message?: string) => Success>>();
assertType<Equal<typeof Success.created, (location?: string) => Success>>();
assertType<Equal<typeof Success.resetContent, () => Success>>();
assertType<Equal<typeof Redirection.found, (location: string) => Redirection>>();
assertType<Equal<typeof Redirection.multipleChoices, (location?: string) => Redirection>>();
assertType<Equal<typeof Redirection.notModified, () => Redirection>>();
assertType<Equal<typeof ClientError.notFound, (message?: string) => ClientError>>();
assertType<Equal<typeof ClientError.unauthorized, (challenge?: string) => ClientError>>();
assertType<Equal<typeof ClientError.methodNotAllowed, (allow?: string) => ClientError>>();
assertType<Equal<typeof ClientError.upgradeRequired, (upgrade?: string) => ClientError>>();
assertType<Equal<typeof ClientError.tooManyRequests, (message?: string, retryAfter?: number) => ClientError>>();
assertType<Equal<typeof ServerError.serviceUnavailable, (message?: string, retryAfter?: number) => ServerError>>();
assertType<Equal<typeof ServerError.internalServerError, (message?: string) => ServerError>>();
// @ts-expect-error the checks above are real: a wrong expectation fails
assertType<Equal<typeof ClientError.notFound, (message: string) => ClientError>>();

// --- calls -----------------------------------------------------------------------------------------
const thrown: Status[] = [
  ClientError.notFound(),
  ClientError.notFound("no user 5"),
  ClientError.tooManyRequests(undefined, 60),
  Redirection.found("/login"),
  Informational.switchingProtocols("websocket"),
  Success.noContent(),
];
// @ts-expect-error a redirection needs its location
Redirection.found();
// @ts-expect-error 101 needs the protocol
Informational.switchingProtocols();
// @ts-expect-error a bodiless status takes no message
Success.noContent("nothing");
// @ts-expect-error Retry-After is a number of seconds
ServerError.serviceUnavailable("down", "60");
// @ts-expect-error no such helper
ClientError.notFund();

// --- the classes stay classes ------------------------------------------------------------------------
const options: StatusOptions = { headers: { "Retry-After": "1" } };
const made: ClientError = new ClientError(404, "x", options);
const narrowed = (error: unknown): number => (error instanceof ClientError ? error.code : 0);
class Teapot extends ClientError {
  constructor() {
    super(418, "short and stout");
  }
}
const subclassed: ClientError = new Teapot();

export { thrown, made, narrowed, subclassed };
