// What each record from the front server does, once the connection's dispatch (`onRecord` in
// connection.ts) has found its exchange: BEGIN_REQUEST opens an exchange or refuses it, PARAMS
// become the request and start the application once the read is over, STDIN feeds the body with
// back-pressure, and GET_VALUES is answered. Apart from connection.ts, which keeps the socket's
// life (reads, ends, timeouts, closing) and how exchanges end, and from output.ts, which writes.
// Plain functions taking the connection, whose fields they use: they run for every record, as
// the methods they were did, with no object between the connection and its exchanges.
import { Request } from "../../vsgi/request.js";
import { dispatch, logError } from "../../vsgi/handler.js";
import { requestFromEnvironment } from "../../vsgi/cgi-environment.js";
import { VsgiError, ERR_BAD_REQUEST } from "../../vsgi/errors.js";
import { cgiErrorAnswer } from "../../vsgi/cgi-response.js";
import { keepBytes } from "../../vsgi/shared-reads.js";
import {
  FastcgiProtocolError,
  decodePairs,
  decodeVariables,
  encodePairs,
  encodeRecord,
  endRequestRecord,
  unknownTypeRecord,
  GET_VALUES,
  GET_VALUES_RESULT,
  RESPONDER,
  KEEP_CONN,
  CANT_MPX_CONN,
  OVERLOADED,
  UNKNOWN_ROLE,
} from "./records.js";
import { StdinBody } from "./request.js";
import { FastcgiResponse } from "./response.js";
import { Exchange } from "./exchange.js";
import { lookup, addExchange, ignore, unignore } from "./request-ids.js";
import { out } from "./output.js";
import type { FastcgiConnection } from "./connection.js";

/**
 * A management record (request id 0): GET_VALUES is answered with the values this backend
 * knows, any other type with UNKNOWN_TYPE.
 *
 * @example onManagement(connection, GET_VALUES, content);
 */
export function onManagement(c: FastcgiConnection, type: number, content: Buffer): void {
  if (type !== GET_VALUES) {
    out(c, unknownTypeRecord(type));
    return;
  }
  const result: [string, string][] = [];
  for (const [name] of decodePairs(content)) {
    if (name === "FCGI_MAX_CONNS") result.push([name, String(c.host.maxConnections)]);
    else if (name === "FCGI_MAX_REQS") result.push([name, String(c.host.maxRequests)]);
    else if (name === "FCGI_MPXS_CONNS") {
      result.push([name, c.host.multiplex ? "1" : "0"]);
      if (c.host.multiplex) c.multiplexes = true;
    }
  }
  out(c, encodeRecord(GET_VALUES_RESULT, 0, encodePairs(result)));
}

/**
 * BEGIN_REQUEST: a new exchange, its PARAMS deadline armed, or END_REQUEST with the reason it is
 * refused (a role other than RESPONDER, multiplexing off, `maxRequests` reached).
 *
 * @example onBegin(connection, id, content);
 */
export function onBegin(c: FastcgiConnection, id: number, content: Buffer): void {
  if (content.length !== 8) throw new FastcgiProtocolError(`BEGIN_REQUEST of ${content.length} bytes (8 expected)`);
  if (lookup(c, id) !== undefined) throw new FastcgiProtocolError(`BEGIN_REQUEST for request id ${id}, which is already active`);
  unignore(c, id);
  const role = (content[0]! << 8) | content[1]!;
  const keepConn = (content[2]! & KEEP_CONN) !== 0;
  // A request that comes during a stop is served (refused, the front server would answer 502),
  // and the connection ends after it, as without FCGI_KEEP_CONN.
  if (!keepConn || c.host.isStopping) c.closeWhenIdle = true;
  const active = c.active;
  let refusal = -1;
  if (role !== RESPONDER) refusal = UNKNOWN_ROLE;
  else if (active > 0 && !c.host.multiplex) refusal = CANT_MPX_CONN;
  else if (active >= c.host.maxRequests) refusal = OVERLOADED;
  if (refusal !== -1) {
    ignore(c, id);
    out(c, endRequestRecord(id, 0, refusal));
    if (active === 0 && c.closeWhenIdle) c.end();
    return;
  }
  const exchange = new Exchange(c, id, keepConn, c.host.maxParamsSize);
  addExchange(c, exchange);
  c.requestStarted();
  const deadline = c.deadlineIn(c.host.headTimeout);
  exchange.headDeadline = deadline;
  if (c.headDeadline === 0) c.headDeadline = deadline;
}

/** PARAMS of an exchange are over: alone on the connection, its deadline goes (and the idle timeout, from these bytes, is back). */
function paramsDone(c: FastcgiConnection): void {
  if (c.headDeadline !== 0 && c.many === null) {
    c.headDeadline = 0;
    c.expireIn(c.host.idleTimeout);
  }
}

/**
 * PARAMS: collected up to `maxParamsSize` (431 past it); their end makes the request, which
 * runs once the read is over (`dispatchReady`), or answers the status of what is wrong with it.
 *
 * @example onParams(connection, exchange, content);
 */
export function onParams(c: FastcgiConnection, exchange: Exchange, content: Buffer): void {
  const params = exchange.params;
  if (params === null) throw new FastcgiProtocolError(`PARAMS after the end of PARAMS (request id ${exchange.id})`);
  if (content.length > 0) {
    if (!params.add(content)) {
      exchange.params = null;
      paramsDone(c);
      logError(`fastcgi: request id ${exchange.id} from ${c.peer()}: parameters larger than ${c.host.maxParamsSize} bytes (option maxParamsSize): answered 431`);
      refuse(exchange, 431, "the request parameters are larger than this server accepts");
    }
    return;
  }
  exchange.params = null;
  paramsDone(c);
  const env = decodeVariables(params.take());
  let init;
  try {
    // No body stream yet: one that turns out empty (GET, HEAD) is never built (the request
    // makes an empty one if the application asks).
    init = requestFromEnvironment(env, undefined, c.host.cgiOptions);
  } catch (error) {
    const status = error instanceof VsgiError && error.status !== undefined ? error.status : 400;
    logError(`fastcgi: request id ${exchange.id} from ${c.peer()}: ${(error as Error).message}: answered ${status}`);
    refuse(exchange, status, (error as Error).message);
    return;
  }
  exchange.init = init;
  exchange.contentLength = init.contentLength;
  if (init.contentLength === 0) exchange.bodyEnded = true;
  // Run once the rest of the chunk is read: the STDIN end that follows PARAMS in the same
  // chunk is then known, and a response sent at once finds its request's input complete (no
  // id to ignore, no body to destroy).
  if (c.ready === null) c.ready = exchange;
  else (c.readyMore ??= []).push(exchange);
}

/** Answers a request the backend cannot run (bad parameters) with a status of its own. */
function refuse(exchange: Exchange, status: number, message: string): void {
  const answer = cgiErrorAnswer(status, message);
  exchange.sendWhole(answer.head, answer.body);
}

/**
 * Starts the application on the requests whose PARAMS ended in the read just over.
 *
 * @example if (this.ready !== null) dispatchReady(this); // at the end of onData
 */
export function dispatchReady(c: FastcgiConnection): void {
  const first = c.ready!;
  const more = c.readyMore;
  c.ready = c.readyMore = null;
  run(c, first);
  if (more !== null) for (const exchange of more) run(c, exchange);
}

function run(c: FastcgiConnection, exchange: Exchange): void {
  if (exchange.done) return; // aborted, or the connection closed, in the same chunk
  const init = exchange.init!;
  if (!exchange.bodyEnded && exchange.body === null) bodyOf(c, exchange);
  const request = new Request(init);
  const response = new FastcgiResponse(request, exchange);
  exchange.request = request;
  exchange.response = response;
  exchange.dispatched = true;
  void dispatch(c.host.app, request, response);
  const error = exchange.bodyError;
  if (error !== null) {
    // Failed after the handler's first synchronous steps, as if it came in a later chunk:
    // the handler listens for the body's errors by then.
    exchange.bodyError = null;
    exchange.body!.fail(error);
  }
}

/** The body stream of `exchange`, built when the first bytes come or the handler starts. */
function bodyOf(c: FastcgiConnection, exchange: Exchange): StdinBody {
  let body = exchange.body;
  if (body === null) {
    body = exchange.body = new StdinBody(exchange, c.host.bodyHighWaterMark);
    exchange.init!.body = body;
  }
  return body;
}

/**
 * STDIN: body bytes, up to CONTENT_LENGTH, pushed to the request body (copied out of the shared
 * read); the socket pauses while a body holds more than its high-water mark, until the
 * connection's `uncongest`. An empty record ends the body, short of CONTENT_LENGTH an error.
 *
 * @example onStdin(connection, exchange, content);
 */
export function onStdin(c: FastcgiConnection, exchange: Exchange, content: Buffer): void {
  if (exchange.init === null) {
    if (exchange.params !== null) throw new FastcgiProtocolError(`STDIN before the end of PARAMS (request id ${exchange.id})`);
    return; // refused: its STDIN is dropped
  }
  if (exchange.stdinEnded) throw new FastcgiProtocolError(`STDIN after the end of STDIN (request id ${exchange.id})`);
  const expected = exchange.contentLength;
  if (content.length === 0) {
    exchange.stdinEnded = true;
    if (!exchange.bodyEnded) {
      exchange.bodyEnded = true;
      const body = exchange.body;
      if (expected !== null && exchange.received < expected) {
        const error = new VsgiError(ERR_BAD_REQUEST, `the request body ended after ${exchange.received} of ${expected} bytes`, { status: 400 });
        if (exchange.dispatched) body!.fail(error);
        else {
          bodyOf(c, exchange);
          exchange.bodyError = error;
        }
      } else if (body !== null && !body.destroyed) {
        body.push(null);
      }
    }
    return;
  }
  // Trust CONTENT_LENGTH: bytes past it are not part of the body.
  if (exchange.bodyEnded) return;
  let data = content;
  if (expected !== null && data.length > expected - exchange.received) data = data.subarray(0, expected - exchange.received);
  exchange.received += data.length;
  const body = bodyOf(c, exchange);
  if (body.destroyed) return;
  if (!body.push(keepBytes(data)) && !exchange.congested) {
    exchange.congested = true;
    if (c.congested++ === 0) c.socket.pause();
  }
  if (expected !== null && exchange.received === expected) {
    exchange.bodyEnded = true;
    body.push(null);
  }
}

/**
 * PARAMS that go on in the next read: copied out of this one, which the next read overwrites.
 *
 * @example keepParams(this); // at the end of onData
 */
export function keepParams(c: FastcgiConnection): void {
  const single = c.single;
  if (single !== null) {
    single.params?.keep();
  } else if (c.many !== null) {
    for (const exchange of c.many.values()) exchange.params?.keep();
  }
}
