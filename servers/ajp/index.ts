/** The ajp backend: `Server.new("ajp", ...)`, or import it directly from `valum/servers/ajp`. */
export { default, AJP_LIMITS, type AjpServerOptions } from "./server.js";
export { AjpResponse } from "./response.js";
export type { BodyFramingOption } from "./connection.js";
