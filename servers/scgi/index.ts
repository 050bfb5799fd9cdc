/** The scgi backend: `Server.new("scgi", ...)`, or import it directly from `valum/servers/scgi`. */
export { default, SCGI_LIMITS, type ScgiServerOptions } from "./server.js";
export { ScgiResponse, type ScgiEnding } from "./response.js";
export { ScgiHeadParser, ScgiProtocolError, parseHeaderBlock, encodeHead, DEFAULT_MAX_HEADER_SIZE, type ScgiHead } from "./wire.js";
