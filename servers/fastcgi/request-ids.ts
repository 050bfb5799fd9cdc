// The request ids of one FastCGI connection: the exchanges in flight by id, and the ids this side
// ended while the front server may still send their PARAMS or STDIN. Apart from connection.ts
// because it is one data structure with its own invariants (`single` or `many`, never both;
// `active` their count). Every record of a request looks its id up here, so the table is the
// connection's own fields (`RequestIds`, which connection.ts implements) and these are plain
// functions on them: no table object between a record and its exchange, and the usual case (one
// request at a time, no id ignored) allocates nothing.
import type { Exchange } from "./exchange.js";

/** The fields of a connection that hold its request ids (the connection declares them). */
export interface RequestIds {
  /**
   * The exchange in flight when there is one alone. Front servers send one request at a time on
   * a connection, except HAProxy with mpxs-conns: `many` holds them only while several are.
   */
  single: Exchange | null;
  many: Map<number, Exchange> | null;
  /** Exchanges in flight. */
  active: number;
  /**
   * Ids ended by this side whose PARAMS or STDIN may still come: the usual one (a response sent
   * before STDIN's end arrived) in `ignoredId` (-1: none), more in `ignored`.
   */
  ignoredId: number;
  ignored: Set<number> | null;
  /**
   * The front server multiplexes on this connection (two requests were in flight at once, or it
   * asked whether it may): it may send a request at any moment, not only after an answer.
   */
  multiplexes: boolean;
}

/**
 * The exchange in flight with request id `id`, if any.
 *
 * @example const exchange = lookup(connection, id); // for a PARAMS, STDIN or ABORT_REQUEST record
 */
export function lookup(ids: RequestIds, id: number): Exchange | undefined {
  const single = ids.single;
  if (single !== null) return single.id === id ? single : undefined;
  return ids.many?.get(id);
}

/**
 * The exchanges in flight, in a new array: safe to walk while they end.
 *
 * @example for (const exchange of exchangesNow(connection)) abort(exchange);
 */
export function exchangesNow(ids: RequestIds): Exchange[] {
  if (ids.single !== null) return [ids.single];
  return ids.many === null ? [] : [...ids.many.values()];
}

/**
 * Puts a new exchange in flight (its id is not: BEGIN_REQUEST checked).
 *
 * @example addExchange(connection, new Exchange(connection, id, keepConn, maxParamsSize));
 */
export function addExchange(ids: RequestIds, exchange: Exchange): void {
  const active = ids.active;
  if (active === 0) {
    ids.single = exchange;
  } else {
    let many = ids.many;
    if (many === null) {
      ids.multiplexes = true;
      many = ids.many = new Map();
      const first = ids.single!;
      many.set(first.id, first);
      ids.single = null;
    }
    many.set(exchange.id, exchange);
  }
  ids.active = active + 1;
}

/**
 * Takes an exchange out of flight; one not in flight (removed already) changes nothing.
 *
 * @example removeExchange(connection, exchange); // once END_REQUEST went out
 */
export function removeExchange(ids: RequestIds, exchange: Exchange): void {
  if (ids.single === exchange) {
    ids.single = null;
    ids.active--;
  } else {
    const many = ids.many;
    if (many !== null && many.get(exchange.id) === exchange) {
      many.delete(exchange.id);
      ids.active--;
      if (ids.active === 0) ids.many = null;
    }
  }
}

/**
 * Drops what still comes for `id`, which this side ended (refused, or answered before the end of
 * its STDIN), until the end of its STDIN or a new BEGIN_REQUEST for it.
 *
 * @example ignore(connection, id); out(connection, endRequestRecord(id, 0, OVERLOADED));
 */
export function ignore(ids: RequestIds, id: number): void {
  if (ids.ignoredId === -1 || ids.ignoredId === id) ids.ignoredId = id;
  else (ids.ignored ??= new Set()).add(id);
}

/**
 * Whether records for `id` are dropped (see `ignore`).
 *
 * @example if (exchange === undefined && isIgnored(connection, id)) return;
 */
export function isIgnored(ids: RequestIds, id: number): boolean {
  return ids.ignoredId === id || (ids.ignored !== null && ids.ignored.has(id));
}

/**
 * Records for `id` count again: its STDIN ended, or it begins anew.
 *
 * @example unignore(connection, id); // on BEGIN_REQUEST
 */
export function unignore(ids: RequestIds, id: number): void {
  if (ids.ignoredId === id) ids.ignoredId = -1;
  else ids.ignored?.delete(id);
}

/**
 * Forgets every ignored id: the connection closed, nothing more comes.
 *
 * @example forgetIgnored(connection); // on close
 */
export function forgetIgnored(ids: RequestIds): void {
  ids.ignoredId = -1;
  ids.ignored = null;
}
