/**
 * VSGI: the gateway layer. Request, Response, Server and what they share; nothing here knows
 * of the router or of any backend.
 */
export { Request, type RequestInit } from "./request.js";
export { BODY_LIMIT, mediaTypeEssence, isJsonMediaType } from "./body.js";
export { parseMediaType, formatMediaType, isMultipartBoundary, MediaTypeError, type MediaType } from "./media-type.js";
export { Response, HANDLED, type HeadListener, type TakenConnection } from "./response.js";
export { statusHasBody } from "./content-rules.js";
export { Headers, type ReadonlyHeaders, assertHeaderName, assertHeaderValue } from "./headers.js";
export { parseCookies, unsignCookie, serializeCookie, type CookieOptions } from "./cookies.js";
export { normalizePath, encodePath, pathEncodes } from "./path.js";
export { variableName, NameSequence } from "./variable-names.js";
export {
  toHandlerFunction,
  dispatch,
  setErrorLogger,
  logError,
  type Handler,
  type HandlerFunction,
  type HandlerLike,
} from "./handler.js";
export * from "./errors.js";
export { answerStatus, answerError, answerTimeout, statusOfError, type StatusAnswer } from "./answer.js";
export { HandlerTimeouts } from "./handler-timeout.js";
export { integerOption, optionNames, checkOptionNames, closestName, type OptionNames } from "./options.js";
export {
  Server,
  SERVER_OPTIONS,
  SERVER_LIMITS,
  type ServerOptions,
  type AnyServerOptions,
  type BuiltInServerOptions,
  type ServerOptionsOf,
  type ServerName,
  type ListenAddress,
} from "./server.js";
export { SocketServer, SOCKET_SERVER_OPTIONS, SOCKET_LIMITS, systemdSockets, takeSystemdSockets, inheritedSockets, systemdOr, type FdAddress, type SocketServerOptions } from "./socket-server.js";
export { TrackedConnection, ConnectionList } from "./connections.js";
export { readIntoSharedBuffer, keepBytes, type SharedReadCallback } from "./shared-reads.js";
export { loadServer, serverSearchPath, builtInServers, checkServerName, type ServerClass } from "./loader.js";
export { Application, packageVersion } from "./application.js";
export { isWorker } from "./workers.js";
export { parseCommandLine, usage, OPTIONS_HELP, type CommandLine } from "./cli.js";
export {
  requestFromEnvironment,
  environmentFromPairs,
  variablesFromPairs,
  decodeVariable,
  headersFromEnvironment,
  headerFromEnvironment,
  checkCgiOptions,
  CGI_ENVIRONMENT_OPTIONS,
  CGI_LIMITS,
  type CgiEnvironmentOptions,
  type CheckedCgiOptions,
  type CgiRequestInit,
  type CgiEnvironment,
} from "./cgi-environment.js";
export { CgiVariables } from "./cgi-variables.js";
export { cgiHead, cgiErrorAnswer, CgiResponse, type CgiAnswer } from "./cgi-response.js";
export { reasonPhrase } from "./reason-phrases.js";
export {
  AccessLog,
  enableAccessLog,
  disableAccessLog,
  ACCESS_LOG_DEFAULTS,
  type AccessLogOptions,
} from "./access-log.js";
export { LogFile } from "./log-file.js";
export { formatCombined, formatJson, formatter, escapeLogText, type AccessEntry, type LogFormat } from "./log-format.js";
