/** The cgi backend: `Server.new("cgi", ...)`, or import it directly from `valum/servers/cgi`. */
export { default, type CgiServerOptions } from "./server.js";
export { CgiStdoutResponse, CgiOutput } from "./response.js";
export { CgiBody } from "./body.js";
