// One SCGI connection carries one request: the head (wire.ts), exactly CONTENT_LENGTH body bytes
// streamed to `req.body` with back-pressure, then the response streamed back, then the close.
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import {
  Request,
  dispatch,
  logError,
  TrackedConnection,
  keepBytes,
  requestFromEnvironment,
  VsgiError,
  ERR_BAD_REQUEST,
  abortedError,
  cgiErrorAnswer,
  type CgiEnvironmentOptions,
  type HandlerFunction,
} from "../../vsgi/index.js";
import { ScgiHeadParser, type ScgiHead } from "./wire.js";
import { ScgiResponse } from "./response.js";

/** What a connection needs from its server. */
export interface ScgiHost {
  readonly handler: HandlerFunction;
  readonly cgiOptions: CgiEnvironmentOptions;
  readonly maxHeaderSize: number;
  readonly readTimeout: number;
  readonly headTimeout: number;
}

// How long a connection whose response is sent may wait for the front server to close it.
export const LINGER_MS = 5000;

const HEAD = 0; // reading the netstring head
const BODY = 1; // head read, body bytes still expected
const RESPONDING = 2; // the whole request read, the response under way
const DONE = 3; // the response sent (or the request refused): input is discarded

function onBodyError(): void {
  // An aborted body: the application that never reads it must not crash on its error.
}

/**
 * The request body: fed by the connection, pausing the socket when the application reads slowly
 * and resuming it when it asks for more.
 */
class ScgiBody extends Readable {
  private readonly connection: ScgiConnection;

  constructor(connection: ScgiConnection) {
    super();
    this.connection = connection;
    // An application that never reads the body must not crash on its error (an abort).
    this.on("error", onBodyError);
  }

  override _read(): void {
    this.connection.resumeBody();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.connection.resumeBody();
    callback(error);
  }
}

/**
 * The state of one SCGI connection, from the first byte of the head to the close.
 *
 * @example new ScgiConnection(server, socket); // from the listener's connection handler
 */
export class ScgiConnection extends TrackedConnection {
  response: ScgiResponse | null = null;
  private readonly host: ScgiHost;
  private state = HEAD;
  private parser: ScgiHeadParser | null;
  private body: ScgiBody | null = null;
  private request: Request | null = null;
  private remaining = 0;
  private over = false;
  private overflowed = false;
  private declared = 0;
  /** When the whole head must be in (0: no limit), and whether the timeout armed is that one. */
  private headDeadline = 0;
  private headCut = false;

  /** Starts reading the request on `socket`; the server `track`s it right after. */
  constructor(host: ScgiHost, socket: Socket) {
    super(socket);
    this.host = host;
    this.busy = 1; // one request per connection, under way from the first byte
    this.parser = new ScgiHeadParser(host.maxHeaderSize);
    // The head is decoded into strings in the read that completes it; body bytes are copied.
    this.listen({ end: true, finish: true, sharedReads: true });
  }

  override onData(chunk: Buffer): void {
    const state = this.state;
    if (state === BODY) {
      this.bodyData(chunk, 0);
    } else if (state === HEAD) {
      const parser = this.parser!;
      let start: number;
      try {
        start = parser.feed(chunk);
      } catch (err) {
        this.refuse(err as Error);
        return;
      }
      if (start !== -1) this.begin(parser.head!, chunk, start);
      else this.armHead();
    } else if (state === RESPONDING) {
      this.overflow();
    }
    // DONE: the response is out; whatever comes is dropped.
  }

  /**
   * The connection is tracked: the head must come whole within headTimeout, and no read may
   * wait past readTimeout. Bytes trickling in restart the latter only.
   */
  startHead(): void {
    this.headDeadline = this.deadlineIn(this.host.headTimeout);
    this.armHead();
  }

  private armHead(): void {
    this.expireInBy(this.host.readTimeout, this.headDeadline);
    this.headCut = this.headDeadline !== 0 && this.deadline === this.headDeadline;
  }

  private begin(head: ScgiHead, chunk: Buffer, start: number): void {
    this.parser = null;
    const socket = this.socket;
    // No body: the request makes an empty one if the application asks.
    const body = head.contentLength > 0 ? new ScgiBody(this) : undefined;
    let request: Request;
    try {
      request = new Request(requestFromEnvironment(head.variables, body, this.host.cgiOptions));
    } catch (err) {
      this.refuse(err as Error);
      return;
    }
    this.body = body ?? null;
    this.request = request;
    this.remaining = this.declared = head.contentLength;
    if (chunk.length - start > this.remaining) {
      // More than CONTENT_LENGTH already: the body would be cut; never hand that to the application.
      this.refuse(this.overflowError());
      return;
    }
    if (this.remaining === 0) {
      this.state = RESPONDING;
      this.readDone();
    } else {
      this.state = BODY;
      this.expireIn(this.host.readTimeout);
      if (start < chunk.length) this.bodyData(chunk, start);
    }
    const response = new ScgiResponse(request, socket, this);
    this.response = response;
    void dispatch(this.host.handler, request, response);
  }

  private bodyData(chunk: Buffer, start: number): void {
    let n = chunk.length - start;
    if (n > this.remaining) n = this.remaining;
    const part = keepBytes(start === 0 && n === chunk.length ? chunk : chunk.subarray(start, start + n));
    this.remaining -= n;
    const body = this.body!;
    if (this.remaining === 0) {
      this.state = RESPONDING;
      if (!body.destroyed) {
        body.push(part);
        body.push(null);
      }
      this.readDone();
      if (this.socket.isPaused()) this.socket.resume();
      if (start + n < chunk.length) this.overflow();
    } else if (!body.destroyed && !body.push(part)) {
      // The application is slow: its time is not the front server's.
      this.socket.pause();
      this.deadline = 0;
    } else {
      this.expireIn(this.host.readTimeout);
    }
  }

  private overflowError(): VsgiError {
    return new VsgiError(
      ERR_BAD_REQUEST,
      `the front server sent more request body than its CONTENT_LENGTH (${this.declared} bytes) announced, so the body would be cut: ` +
        "nginx before the fix of February 2026 (nginx/nginx#1118) does this with scgi_request_buffering off; turn request buffering on",
      { status: 400 },
    );
  }

  /** Body bytes past CONTENT_LENGTH after the request was handed over: abort it. */
  private overflow(): void {
    if (this.overflowed) return;
    this.overflowed = true;
    const error = this.overflowError();
    logError(`scgi: ${this.peer()}: ${error.message}`);
    this.request!.abort(error);
    const body = this.body;
    if (body !== null && !body.readableEnded) body.destroy(error);
  }

  /** The application wants more body (or dropped it): let bytes flow again. */
  resumeBody(): void {
    const socket = this.socket;
    if (this.state !== HEAD && socket.isPaused()) {
      socket.resume();
      if (this.state === BODY) this.expireIn(this.host.readTimeout);
    }
  }

  /** The whole request is read: from now on the front server waits for us, not the reverse. */
  private readDone(): void {
    this.deadline = 0;
  }

  /** The front server ended its side. */
  override onEnd(): void {
    const state = this.state;
    if (state === HEAD) {
      if (!this.parser!.empty) logError(`scgi: ${this.peer()} closed the connection in the middle of the request head`);
      this.state = DONE;
      this.finish();
      this.socket.destroy();
    } else if (state === BODY) {
      // A front server whose client goes away closes the connection.
      const error = abortedError(`the front server closed the connection with ${this.remaining} bytes of the request body missing`);
      this.state = RESPONDING;
      this.request!.abort(error);
      this.body!.destroy(error);
      // No response can reach a client that is gone; a handler that returns without ending
      // one would otherwise leave the half-open socket (and its descriptor) behind for good.
      this.socket.destroy();
    }
    // After the whole request: a half-close is allowed; the response still goes out.
  }

  /** The socket drained: the body write that waited goes on. */
  override onDrain(): void {
    this.response?.drained();
  }

  /**
   * The response's last bytes are handed to the socket, which is ending. `end()` sends its FIN
   * only at the event loop's next turn, under load milliseconds later, and the front server
   * waits for it: SCGI's response ends with the connection. So the socket is closed now when
   * nothing can reset it: the whole request read (no byte can be left unread, which would make
   * the close a reset) and nothing left unwritten in node. Else `end()` goes its way, and
   * `onFinish` reads and drops what still comes.
   */
  responseEnded(): void {
    const socket = this.socket;
    if (this.state !== RESPONDING || this.overflowed || socket.destroyed || socket.writableLength !== 0) return;
    this.state = DONE;
    this.finish();
    socket.destroy();
  }

  /**
   * A stop's close of an idle connection: nothing to do, as an SCGI connection is idle only once
   * its response ended it (one request per connection; busy from the first byte). Ending it
   * again would make node build, and drop, an error with its stack.
   */
  override closeIdle(): void {}

  /** Our side is ended and flushed: the response is out. */
  override onFinish(): void {
    if (this.state === BODY && !this.body!.destroyed) this.body!.destroy();
    this.state = DONE;
    this.finish();
    const socket = this.socket;
    // Read and drop what the front server still sends (an unread body), so that closing
    // never resets the connection under the response; give up after a while.
    if (socket.isPaused()) socket.resume();
    this.expireIn(LINGER_MS);
  }

  /** The read timeout (or, once answered, the linger) passed. */
  override expired(): void {
    const state = this.state;
    if (state === HEAD) {
      const limit = this.headCut ? `headTimeout (${this.host.headTimeout} ms)` : `readTimeout (${this.host.readTimeout} ms)`;
      logError(`scgi: ${this.peer()} sent no complete request head within ${limit}`);
    } else if (state === BODY) {
      const error = new VsgiError(
        ERR_BAD_REQUEST,
        `the front server sent no request body for readTimeout (${this.host.readTimeout} ms), ${this.remaining} bytes missing`,
        { status: 400 },
      );
      logError(`scgi: ${this.peer()}: ${error.message}`);
      this.request!.abort(error);
      this.body!.destroy(error);
    }
    this.socket.destroy();
  }

  override onClose(): void {
    this.untrack();
    if (!this.over && this.request !== null) {
      const error = abortedError("the SCGI connection closed before the response was complete");
      this.request.abort(error);
      if (this.state === BODY) this.body!.destroy(error);
      this.response!.drained(error);
    }
    this.state = DONE;
    this.finish();
  }

  /** Answers a malformed request with an error response (and a log line naming the problem). */
  private refuse(error: Error & { status?: number }): void {
    this.state = DONE;
    this.parser = null;
    const status = error.status ?? 400;
    logError(`scgi: refused a request from ${this.peer()}: ${error.message}`);
    const socket = this.socket;
    if (!socket.destroyed) {
      const answer = cgiErrorAnswer(status, error.message);
      socket.end(Buffer.concat([Buffer.from(answer.head, "latin1"), answer.body]));
    }
  }

  private finish(): void {
    if (this.over) return;
    this.over = true;
    this.requestFinished();
  }

  private peer(): string {
    const address = this.socket.remoteAddress;
    return address === undefined ? "a local peer" : `${address}:${this.socket.remotePort}`;
  }
}
