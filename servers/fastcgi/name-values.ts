// The name-value pairs of FastCGI (the PARAMS stream, GET_VALUES, GET_VALUES_RESULT): their
// encoding, their decoding into pairs or straight into CGI variables, and the collector that
// puts a PARAMS stream back together from its records. Apart from the records (records.ts),
// which carry any content; re-exported by records.ts. Pure: no sockets.
import { isAscii, isUtf8 } from "node:buffer";
import { NameSequence } from "../../vsgi/variable-names.js";
import { CgiVariables } from "../../vsgi/cgi-variables.js";
import { keepBytes } from "../../vsgi/shared-reads.js";
import { FastcgiProtocolError } from "./codes.js";

const EMPTY = Buffer.alloc(0);

function lengthSize(length: number): number {
  return length <= 127 ? 1 : 4;
}

function writeLength(into: Buffer, offset: number, length: number): number {
  if (length <= 127) {
    into[offset] = length;
    return offset + 1;
  }
  into.writeUInt32BE((length | 0x80000000) >>> 0, offset);
  return offset + 4;
}

/**
 * Name-value pairs (PARAMS, GET_VALUES, GET_VALUES_RESULT) as bytes: each length in one byte
 * when at most 127, else in four bytes with the top bit set. `long` forces four-byte lengths
 * (tests). Strings are encoded in UTF-8.
 *
 * @example encodePairs([["REQUEST_METHOD", "GET"]]);
 */
export function encodePairs(pairs: Iterable<readonly [string, string]>, long = false): Buffer {
  const encoded: [Buffer, Buffer][] = [];
  let size = 0;
  for (const [name, value] of pairs) {
    const n = Buffer.from(name, "utf8");
    const v = Buffer.from(value, "utf8");
    if (n.length > 0x7fffffff || v.length > 0x7fffffff) throw new RangeError("a name or value longer than 2^31 - 1 bytes");
    encoded.push([n, v]);
    size += (long ? 8 : lengthSize(n.length) + lengthSize(v.length)) + n.length + v.length;
  }
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const [n, v] of encoded) {
    if (long) {
      out.writeUInt32BE((n.length | 0x80000000) >>> 0, offset);
      out.writeUInt32BE((v.length | 0x80000000) >>> 0, offset + 4);
      offset += 8;
    } else {
      offset = writeLength(out, offset, n.length);
      offset = writeLength(out, offset, v.length);
    }
    offset += n.copy(out, offset);
    offset += v.copy(out, offset);
  }
  return out;
}

/** node's Buffer methods behind `toString(encoding, start, end)`, without its argument checks. */
interface RawSlices {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

function readLength(bytes: Buffer, offset: number): number {
  const first = bytes[offset]!;
  if (first < 0x80) return first;
  if (offset + 4 > bytes.length) return -1;
  return ((first & 0x7f) << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
}

/**
 * Decodes a whole block of name-value pairs (the PARAMS stream put together). Names are read
 * as Latin-1 (they are ASCII), values as `decodeVariable` reads them: UTF-8 (paths), except
 * those of `HTTP_*` variables and bytes that are no UTF-8, read as Latin-1. Throws `FastcgiProtocolError` when a
 * pair is cut short.
 *
 * @example decodePairs(encodePairs([["A", "1"]])); // [["A", "1"]]
 */
export function decodePairs(bytes: Buffer): [string, string][] {
  const list = decode(bytes);
  const pairs: [string, string][] = new Array(list.length / 2);
  for (let i = 0; i < list.length; i += 2) pairs[i / 2] = [list[i]!, list[i + 1]!];
  return pairs;
}

/**
 * Decodes a PARAMS block straight into CGI variables (what a request is built from), without
 * the list of pairs in between.
 *
 * @example decodeVariables(encodePairs([["REQUEST_METHOD", "GET"]])).get("REQUEST_METHOD"); // "GET"
 */
export function decodeVariables(bytes: Buffer): CgiVariables {
  return new CgiVariables(decode(bytes));
}

// A front server sends the same variables in the same order on every request.
const NAMES = new NameSequence();

/**
 * Checks the lengths of the pairs in `bytes` and counts them (a first pass over the length
 * prefixes only, so that the list of strings is allocated once at its size).
 */
function countPairs(bytes: Buffer): number {
  const length = bytes.length;
  let offset = 0;
  let count = 0;
  while (offset < length) {
    const nameLength = readLength(bytes, offset);
    if (nameLength < 0) throw new FastcgiProtocolError("a name-value pair is cut short (name length)");
    offset += bytes[offset]! < 0x80 ? 1 : 4;
    if (offset >= length) throw new FastcgiProtocolError("a name-value pair is cut short (value length)");
    const valueLength = readLength(bytes, offset);
    if (valueLength < 0) throw new FastcgiProtocolError("a name-value pair is cut short (value length)");
    offset += bytes[offset]! < 0x80 ? 1 : 4;
    if (nameLength > length - offset || valueLength > length - offset - nameLength) {
      throw new FastcgiProtocolError("a name-value pair is longer than the bytes that carry it");
    }
    offset += nameLength + valueLength;
    count++;
  }
  return count;
}

/** Decodes the pairs, flat: name, value, name, value... */
function decode(bytes: Buffer): string[] {
  const raw = bytes as unknown as RawSlices;
  const length = bytes.length;
  // Growing a list by push reallocates it several times per request: one allocation instead.
  const out: string[] = new Array(2 * countPairs(bytes));
  // Parameters are nearly always ASCII: then one string for the whole block, and values are
  // slices of it, instead of a call into node's decoder per value (about 70 ns each).
  const text = isAscii(bytes) ? raw.latin1Slice(0, length) : null;
  let offset = 0;
  let index = 0;
  while (offset < length) {
    // The lengths were checked by countPairs.
    const nameLength = readLength(bytes, offset);
    offset += bytes[offset]! < 0x80 ? 1 : 4;
    const valueLength = readLength(bytes, offset);
    offset += bytes[offset]! < 0x80 ? 1 : 4;
    const nameEnd = offset + nameLength;
    const name = NAMES.at(index >> 1, bytes, offset, nameEnd);
    const valueEnd = nameEnd + valueLength;
    let value: string;
    // As decodeVariable reads values (every backend the same): HTTP_* and bytes that are no
    // UTF-8 as Latin-1, the rest as UTF-8.
    if (text !== null) value = text.slice(nameEnd, valueEnd);
    else if (nameLength >= 5 && bytes[offset] === 72 && bytes[offset + 4] === 95 && name.startsWith("HTTP_")) value = raw.latin1Slice(nameEnd, valueEnd);
    else if (isUtf8(bytes.subarray(nameEnd, valueEnd))) value = raw.utf8Slice(nameEnd, valueEnd);
    else value = raw.latin1Slice(nameEnd, valueEnd);
    out[index++] = name;
    out[index++] = value;
    offset = valueEnd;
  }
  return out;
}

/**
 * Collects a PARAMS stream, record by record, up to `max` bytes in all: a name-value pair may
 * straddle records, so the pairs are decoded once the stream has ended.
 *
 * @example
 * const params = new ParamsCollector(65536);
 * params.add(recordContent); // for each PARAMS record
 * const pairs = decodePairs(params.take()); // after the empty one
 */
export class ParamsCollector {
  private readonly max: number;
  // Nearly always one record carries the whole stream: no list for that one.
  private first: Buffer | null = null;
  private rest: Buffer[] | null = null;
  private size = 0;

  constructor(max: number) {
    this.max = max;
  }

  /** Bytes collected so far. */
  get length(): number {
    return this.size;
  }

  /** Adds one record's content; false (and nothing kept) when the total would pass the bound. */
  add(content: Buffer): boolean {
    if (this.size + content.length > this.max) {
      this.first = this.rest = null;
      return false;
    }
    if (this.first === null) this.first = content;
    else (this.rest ??= []).push(content);
    this.size += content.length;
    return true;
  }

  /**
   * Copies the records collected so far out of the shared read buffer, which the next read
   * overwrites (the stream goes on in a later read); records in memory of their own stay.
   */
  keep(): void {
    const first = this.first;
    if (first === null) return;
    const whole = this.take(); // a copy already, unless it is the one record
    this.first = whole === first ? keepBytes(first) : whole;
  }

  /** The whole stream, in one buffer (no copy when it came in one record). */
  take(): Buffer {
    const first = this.first;
    const rest = this.rest;
    this.first = this.rest = null;
    if (first === null) return EMPTY;
    if (rest === null) return first;
    return Buffer.concat([first, ...rest], this.size);
  }
}
