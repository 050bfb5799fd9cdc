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
