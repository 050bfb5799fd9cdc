/** The fastcgi backend: `Server.new("fastcgi", ...)`, or import it directly from `valum/servers/fastcgi`. */
export { default, FASTCGI_LIMITS, type FastcgiServerOptions } from "./server.js";
export { FastcgiResponse } from "./response.js";
export * as records from "./records.js";
