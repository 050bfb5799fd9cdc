/** The http backend: `Server.new("http", ...)`, or import it directly from `valum/servers/http`. */
export { default, HTTP_LIMITS, type HttpServerOptions } from "./server.js";
export { HttpRequest } from "./request.js";
export { HttpResponse, type HttpUpgrade } from "./response.js";
