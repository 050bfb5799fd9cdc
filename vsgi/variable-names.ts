/**
 * The names of CGI variables, read from bytes once and then reused. A front server sends the
 * same twenty-odd names on every request; making each one a new string and then using it as a
 * property key (which makes V8 look it up in its string table) was the largest cost of turning
 * FastCGI PARAMS into a request.
 */

const CACHE = new Map<number, string>();
const LIMIT = 4096;

function sameBytes(name: string, bytes: Uint8Array, start: number): boolean {
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) !== bytes[start + i]) return false;
  return true;
}

/**
 * The variable name in `bytes[start, end)`, read as Latin-1; a name seen before comes back as
 * the same internalized string.
 *
 * @example variableName(Buffer.from("REQUEST_METHOD"), 0, 14); // "REQUEST_METHOD"
 */
export function variableName(bytes: Uint8Array, start: number, end: number): string {
  const length = end - start;
  let hash = 0x811c9dc5 ^ length;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  hash &= 0x3fffffff; // a small integer: no heap number to allocate or hash
  const cached = CACHE.get(hash);
  if (cached !== undefined && cached.length === length && sameBytes(cached, bytes, start)) return cached;
  const name = Buffer.from(bytes.buffer, bytes.byteOffset + start, length).toString("latin1");
  if (cached !== undefined || CACHE.size >= LIMIT) return name; // a collision, or a client inventing names
  // A property key is internalized: keep that copy, which later stores find without a look-up.
  const internalized = Object.keys({ [name]: 0 })[0]!;
  CACHE.set(hash, internalized);
  return internalized;
}

/**
 * The variable names of the last block a decoder read, by position. A front server sends the
 * same variables in the same order on every request: checking the bytes against the name seen
 * at that position last time is one pass over them, where `variableName` hashes them and then
 * compares. Each decoder (one per protocol) keeps its own.
 *
 * @example
 * const names = new NameSequence();
 * const name = names.at(0, bytes, start, end); // "CONTENT_LENGTH", the same string every time
 */
export class NameSequence {
  private readonly names: string[] = [];

  /** The name in `bytes[start, end)`, the `index`-th of its block. */
  at(index: number, bytes: Uint8Array, start: number, end: number): string {
    const names = this.names;
    const expected = index < names.length ? names[index]! : undefined;
    if (expected !== undefined && expected.length === end - start && sameBytes(expected, bytes, start)) return expected;
    const name = variableName(bytes, start, end);
    if (index < MAX_SEQUENCE) {
      if (index < names.length) names[index] = name;
      else if (index === names.length) names.push(name);
    }
    return name;
  }
}

// Front servers send a few dozen variables; past that, names are only hashed.
const MAX_SEQUENCE = 256;
