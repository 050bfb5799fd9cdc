// The connections a socket backend has open: counted requests (a graceful stop closes a
// connection once it is idle) and read/idle timeouts, kept without a Map, a closure or a node
// timer per connection. Behind lighttpd every request comes on a new connection, so what a
// connection costs to open and close is paid on every request.
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { readIntoSharedBuffer } from "./shared-reads.js";

const CONNECTION = Symbol("tracked connection");
type Tagged = Socket & { [CONNECTION]: TrackedConnection };

// Socket listeners shared by every connection, instead of closures made per connection: `this`
// is the socket, which carries its connection.
function onData(this: Tagged, chunk: Buffer): void {
  this[CONNECTION].onData(chunk);
}
function onSharedRead(this: Socket, bytes: number, buffer: Buffer): void {
  (this as Tagged)[CONNECTION].onData(buffer.subarray(0, bytes));
}
function onEnd(this: Tagged): void {
  this[CONNECTION].onEnd();
}
function onFinish(this: Tagged): void {
  this[CONNECTION].onFinish();
}
function onDrain(this: Tagged): void {
  this[CONNECTION].onDrain();
}
function onError(this: Tagged, error: NodeJS.ErrnoException): void {
  this[CONNECTION].onError(error);
}
function onClose(this: Tagged): void {
  this[CONNECTION].onClose();
}

/**
 * One accepted connection as its server tracks it. A backend's connection class extends it,
 * calls `expireIn` for its read or idle timeout, and hands it to `SocketServer.track`.
 *
 * @example
 * class LineConnection extends TrackedConnection {
 *   override expired(): void { this.socket.destroy(); }
 * }
 */
export class TrackedConnection {
  readonly socket: Socket;
  /** Requests under way on this connection: a stop closes it once this falls to 0. */
  busy = 0;
  /** The time (on the list's coarse clock, ms) after which `expired` runs; 0: never. */
  deadline = 0;
  /** @internal */
  list: ConnectionList | null = null;
  /** @internal */
  previous: TrackedConnection | null = null;
  /** @internal */
  next: TrackedConnection | null = null;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  /**
   * Arms the timeout: `expired` runs once `ms` milliseconds pass without another call (give 0
   * to disarm). Precise to the list's resolution, a quarter of the shortest timeout.
   *
   * @example this.expireIn(this.host.readTimeout); // on each chunk of the request head
   */
  expireIn(ms: number): void {
    const list = this.list;
    this.deadline = ms > 0 && list !== null ? list.now + ms : 0;
  }

  /**
   * The time `ms` milliseconds from now on the list's clock (0 for 0, or before `track`): a
   * deadline for `expireInBy`.
   *
   * @example this.headDeadline = this.deadlineIn(this.host.headTimeout); // when the connection opens
   */
  deadlineIn(ms: number): number {
    const list = this.list;
    return ms > 0 && list !== null ? list.now + ms : 0;
  }

  /** Now on the list's coarse clock (ms; 0 before `track`): in `expired`, the sweep's time. */
  protected get now(): number {
    return this.list?.now ?? 0;
  }

  /**
   * Arms the timeout as `expireIn(ms)`, but for no later than `by` (from `deadlineIn`; 0: no
   * bound): a whole-head deadline, which bytes trickling in one at a time do not push back.
   *
   * @example this.expireInBy(this.host.readTimeout, this.headDeadline); // on each chunk of the head
   */
  expireInBy(ms: number, by: number): void {
    this.expireIn(ms);
    if (by !== 0 && (this.deadline === 0 || this.deadline > by)) this.deadline = by;
  }

  /**
   * Listens to the socket's `data`, `drain`, `error` and `close` (and `end`, `finish` when asked)
   * with listeners shared by every connection, which call the `on*` methods below.
   *
   * `sharedReads`: the socket reads into a buffer shared by every connection (see
   * shared-reads.ts), when the runtime allows: `onData` then gets a view valid during the call
   * only, and must copy what it keeps (`keepBytes`).
   *
   * @example this.listen({ end: true, sharedReads: true }); // in a subclass's constructor
   */
  protected listen(also: { end?: boolean; finish?: boolean; sharedReads?: boolean } = {}): void {
    const socket = this.socket as Tagged;
    socket[CONNECTION] = this;
    if (also.sharedReads !== true || !readIntoSharedBuffer(socket, onSharedRead)) socket.on("data", onData);
    if (also.end === true) socket.on("end", onEnd);
    if (also.finish === true) socket.on("finish", onFinish);
    socket.on("drain", onDrain);
    socket.on("error", onError);
    socket.on("close", onClose);
  }

  /**
   * Bytes came (after `listen`). With `sharedReads`, `chunk` is overwritten by the next read:
   * copy what outlives the call.
   */
  onData(chunk: Buffer): void {}

  /** The peer ended its side (after `listen({ end: true })`). */
  onEnd(): void {}

  /** Our side is ended and flushed (after `listen({ finish: true })`). */
  onFinish(): void {}

  /** The socket's buffer drained (after `listen`). */
  onDrain(): void {}

  /** A socket error (after `listen`): by default nothing, as `close` follows (resets, broken pipes). */
  onError(error: NodeJS.ErrnoException): void {}

  /** The socket closed (after `listen`). */
  onClose(): void {}

  /** A request started on this connection: a stop waits for it. */
  requestStarted(): void {
    this.busy++;
  }

  /** A request is over; during a stop, the connection is closed once idle. */
  requestFinished(): void {
    const list = this.list;
    if (list === null) return; // closed meanwhile
    this.busy--;
    if (this.busy <= 0 && list.stopping) this.closeIdle();
  }

  /** The connection closed: its server forgets it. */
  untrack(): void {
    this.list?.remove(this);
  }

  /** The timeout passed: by default the connection is destroyed. */
  expired(): void {
    this.socket.destroy();
  }

  /** Closes the connection when it is idle during a stop: backends may say goodbye first. */
  closeIdle(): void {
    this.socket.end();
  }
}

/**
 * The open connections of a server, in an intrusive list (adding and removing touch no hash
 * table), and one timer for all their timeouts, which also advances a coarse clock so that
 * arming a timeout reads no clock.
 *
 * @example
 * const list = new ConnectionList(60000);
 * list.add(connection); connection.expireIn(60000); // ... list.remove(connection) on close
 */
export class ConnectionList {
  /** Milliseconds, monotonic, advanced by the sweep: when timeouts are armed. */
  now = performance.now();
  /** Connections in the list. */
  size = 0;
  /** Set by a graceful stop: connections close as their last request ends. */
  stopping = false;
  private head: TrackedConnection | null = null;
  private readonly timer: NodeJS.Timeout;

  /** `shortestTimeout`: the smallest timeout connections will arm, which sets the resolution. */
  constructor(shortestTimeout: number) {
    const resolution = Math.min(1000, Math.max(10, Math.floor(shortestTimeout / 4)));
    this.timer = setInterval(sweep, resolution, this);
    this.timer.unref();
  }

  add(connection: TrackedConnection): void {
    connection.list = this;
    const head = this.head;
    connection.next = head;
    if (head !== null) head.previous = connection;
    this.head = connection;
    this.size++;
  }

  /** Removes a connection (closed); removing one twice does nothing. */
  remove(connection: TrackedConnection): void {
    if (connection.list !== this) return;
    connection.list = null;
    const { previous, next } = connection;
    if (previous !== null) previous.next = next;
    else this.head = next;
    if (next !== null) next.previous = previous;
    connection.previous = connection.next = null;
    this.size--;
  }

  /** Every connection, in a list safe to change while it is walked. */
  toArray(): TrackedConnection[] {
    const all: TrackedConnection[] = [];
    for (let c = this.head; c !== null; c = c.next) all.push(c);
    return all;
  }

  /** Stops the timer (the server stopped). */
  close(): void {
    clearInterval(this.timer);
  }

  /** @internal Runs `expired` on the connections whose deadline passed. */
  sweep(): void {
    const now = (this.now = performance.now());
    let expired: TrackedConnection[] | null = null;
    for (let c = this.head; c !== null; c = c.next) {
      if (c.deadline !== 0 && c.deadline <= now) (expired ??= []).push(c);
    }
    if (expired === null) return;
    for (const c of expired) {
      c.deadline = 0;
      c.expired();
    }
  }
}

function sweep(list: ConnectionList): void {
  list.sweep();
}
