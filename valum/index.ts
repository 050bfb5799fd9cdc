/**
 * Valum: the router on top of VSGI. Rules with typed parameters, `next` continuations, a
 * context tree, named routes with URL reversal, and thrown HTTP statuses.
 *
 * @example
 * import { Router } from "valum";
 * const app = new Router();
 * app.get("/users/<int:id>", (req, res, next, ctx) => res.expandUtf8(`user #${ctx.id}`), "user");
 */
export { type MethodHelperName, type MethodHelpers } from "./method-helpers.js";
export {
  Router,
  type NameMap,
  type RuleContext,
  type RuleHandler,
} from "./router.js";
export { Method, methodFromString, methodsFromStrings, methodsToStrings } from "./method.js";
export {
  CompiledRule,
  RuleError,
  builtinTypes,
  compileRule,
  createType,
  decodeValue,
  encodeLiteral,
  parseRule,
  type BuiltinTypes,
  type Capture,
  type ParamType,
  type RuleNode,
  type RuleParams,
  type TypeLookup,
  type TypeMap,
  type UrlParams,
} from "./rule.js";
export { createContext, contextParent, contextHas, contextToObject, type Context } from "./context.js";
export type { ForwardCallback, HandlerCallback, MatcherCallback, NextCallback } from "./handler.js";
export {
  Status,
  Informational,
  Success,
  Redirection,
  ClientError,
  ServerError,
  basic,
  headerOfStatus,
  respondToError,
  respondWithStatus,
  statusFromCode,
  statusIsBodiless,
  toStatus,
  type StatusContext,
  type StatusHelpers,
  type StatusOptions,
} from "./status.js";
export { handlerOption, invalidOption } from "./middlewares/options.js";
export {
  authenticate,
  AUTHENTICATE_DEFAULTS,
  type AuthenticationScheme,
  type Authorization,
  type AuthorizationCheck,
  type AuthorizationContext,
} from "./middlewares/authenticate.js";
export { BasicAuthentication, BasicAuthorization, type BasicAuthenticationOptions } from "./middlewares/basic-authentication.js";
export { DigestAuthentication, DigestAuthorization, type DigestAuthenticationOptions } from "./middlewares/digest-authentication.js";
export {
  AuthSyntaxError,
  constantTimeEqual,
  decodeBasicCredentials,
  encodeBasicCredentials,
  parseChallenges,
  parseCredentials,
  serializeAuthParams,
  type AuthParams,
  type BasicCredentials,
} from "./http/authorization.js";
export {
  DIGEST_ALGORITHMS,
  decodeExtValue,
  digestAlgorithm,
  digestHash,
  digestResponse,
  digestSecret,
  digestUserhash,
  encodeExtValue,
  type DigestAlgorithm,
  type DigestInput,
} from "./http/digest.js";
export { mergeVary, parseVary } from "./http/vary.js";
export { parseContentCoding, serializeContentCoding } from "./http/content-coding.js";
export { parseContentLength } from "./http/content-length.js";
export {
  checkCacheDirectives,
  parseCacheControl,
  serializeCacheControl,
  REQUEST_ONLY_DIRECTIVES,
  type CacheDirectives,
  type CacheDirectiveProblem,
  type CacheExtension,
} from "./http/cache-control.js";
export { cacheControl } from "./middlewares/cache-control.js";
export { contentLength } from "./middlewares/content-length.js";
export { cors, CORS_DEFAULTS, type CorsOptions, type CorsOrigin } from "./middlewares/cors.js";
export { decode, DECODE_DEFAULTS, type DecodeOptions } from "./middlewares/decode.js";
export { forward } from "./middlewares/forward.js";
export { respondWith } from "./middlewares/respond-with.js";
export { safely } from "./middlewares/safely.js";
export { sequence } from "./middlewares/sequence.js";
export {
  multipart,
  MULTIPART_DEFAULTS,
  MultipartPart,
  MultipartParts,
  safeFilename,
  type MultipartContext,
  type MultipartLimits,
  type MultipartOptions,
} from "./middlewares/multipart.js";
export { formatMediaType, isMultipartBoundary, MediaTypeError, parseMediaType, type MediaType } from "./http/media-type.js";
export {
  negotiate,
  accept,
  acceptCharset,
  acceptEncoding,
  acceptLanguage,
  acceptRanges,
  NEGOTIATE_DEFAULTS,
  type NegotiateOptions,
  type AcceptEncodingOptions,
  type NegotiatedContext,
} from "./middlewares/negotiate.js";
export { serveFromPath, SERVE_FROM_PATH_DEFAULTS, type ServeFromPathOptions } from "./middlewares/serve-from-path.js";
export {
  parseRange,
  mergeRanges,
  formatRange,
  formatContentRange,
  formatUnsatisfiedRange,
  parseContentRange,
  rangesLength,
  RANGE_DEFAULTS,
  byterangesFraming,
  type ByterangesFraming,
  UNSATISFIABLE,
  type ByteRange,
  type RangeOptions,
} from "./http/range.js";
export {
  parseEntityTag,
  parseEntityTagList,
  formatEntityTag,
  strongMatch,
  weakMatch,
  listMatches,
  weakenEntityTag,
  etagFromStat,
  type EntityTag,
  type StatLike,
} from "./http/etag.js";
export {
  preferredValues,
  chooseValue,
  ENCODING_PREFERENCE,
  negotiationKind,
  parseExpectations,
  rankExpectations,
  chooseExpectation,
  ExpectationError,
  type AcceptHeaderName,
  type Expectation,
  type NegotiationKind,
} from "./http/accept.js";
export {
  TRANSCODABLE_CHARSETS,
  canonicalCharset,
  charsetKey,
  contentTypeCharset,
  withCharset,
  isTextType,
  encodeText,
  charsetPreamble,
} from "./http/charset.js";
export {
  evaluatePreconditions,
  ifRangeMatches,
  parseHttpDate,
  formatHttpDate,
  type Preconditions,
  type PreconditionResult,
  type Validators,
} from "./http/conditional.js";
export {
  staticPathFromRequest,
  staticPathFromCapture,
  hasDotSegment,
  canonicalSegment,
  isUnder,
  BAD_PATH,
  MAX_PATH_LENGTH,
  MAX_SEGMENT_LENGTH,
} from "./http/static-path.js";
export {
  serverSentEvents,
  SERVER_SENT_EVENTS_DEFAULTS,
  type SendEvent,
  type ServerSentEventsOptions,
} from "./middlewares/server-sent-events.js";
export { encodeEvent, lastEventId, EventStreamError, EVENT_STREAM_TYPE, KEEP_ALIVE_COMMENT, type ServerSentEvent } from "./http/sse.js";
export { basepath, isOriginPath, type BasepathHandler } from "./middlewares/basepath.js";
export { subdomain, hostLabels, SUBDOMAIN_DEFAULTS, type SubdomainContext, type SubdomainOptions } from "./middlewares/subdomain.js";
export {
  websocket,
  WEBSOCKET_DEFAULTS,
  type OriginCheck,
  type WebSocketContext,
  type WebSocketOptions,
} from "./middlewares/websocket.js";
export {
  WebSocketSyntaxError,
  chooseProtocol,
  isWebSocketKey,
  listHasToken,
  normalizeOrigin,
  parseProtocols,
  serializeProtocols,
} from "./http/websocket.js";
