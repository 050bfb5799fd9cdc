/**
 * Entity tags (RFC 9110 section 8.8.3): parsing one or a list, strong and weak comparison,
 * weakening, and a tag made from a file's size and modification time. Pure functions.
 */

/** A parsed entity tag: `W/"x"` is `{ weak: true, opaque: "x" }`. */
export interface EntityTag {
  readonly weak: boolean;
  /** The opaque tag, without its quotes. */
  readonly opaque: string;
}

// etagc = %x21 / %x23-7E / obs-text
function isEtagc(c: number): boolean {
  return c === 0x21 || (c >= 0x23 && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
}

/**
 * Parses one entity tag (`"x"` or `W/"x"`); `null` when malformed.
 *
 * @example parseEntityTag('W/"abc"'); // { weak: true, opaque: "abc" }
 */
export function parseEntityTag(text: string): EntityTag | null {
  const t = text.trim();
  const weak = t.startsWith("W/");
  const start = weak ? 2 : 0;
  if (t.length < start + 2 || t.charCodeAt(start) !== 0x22 || t.charCodeAt(t.length - 1) !== 0x22) return null;
  for (let i = start + 1; i < t.length - 1; i++) if (!isEtagc(t.charCodeAt(i))) return null;
  return { weak, opaque: t.slice(start + 1, -1) };
}

/**
 * Parses an `If-Match` / `If-None-Match` value: `"*"` for the wildcard, else the list of tags.
 * Malformed members are skipped (they can match nothing); commas inside quotes are respected.
 *
 * @example parseEntityTagList('"a", W/"b"'); // [{ weak: false, opaque: "a" }, { weak: true, opaque: "b" }]
 */
export function parseEntityTagList(header: string): EntityTag[] | "*" {
  if (header.trim() === "*") return "*";
  const tags: EntityTag[] = [];
  let i = 0;
  const n = header.length;
  while (i < n) {
    const c = header.charCodeAt(i);
    if (c === 0x2c || c === 0x20 || c === 0x09) {
      i++;
      continue;
    }
    let j = i;
    if (header.startsWith("W/", j)) j += 2;
    if (header.charCodeAt(j) === 0x22) {
      const close = header.indexOf('"', j + 1);
      if (close === -1) break;
      const tag = parseEntityTag(header.slice(i, close + 1));
      if (tag !== null) tags.push(tag);
      i = close + 1;
    } else {
      const comma = header.indexOf(",", i);
      i = comma === -1 ? n : comma + 1; // junk up to the next member
    }
  }
  return tags;
}

/**
 * Formats an entity tag for a header.
 *
 * @example formatEntityTag({ weak: true, opaque: "abc" }); // 'W/"abc"'
 */
export function formatEntityTag(tag: EntityTag): string {
  return (tag.weak ? 'W/"' : '"') + tag.opaque + '"';
}

/**
 * Strong comparison: both strong and the same opaque tag (for If-Match and If-Range).
 *
 * @example strongMatch(parseEntityTag('"a"')!, parseEntityTag('"a"')!); // true
 */
export function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

/**
 * Weak comparison: the same opaque tag, weak or not (for If-None-Match).
 *
 * @example weakMatch(parseEntityTag('W/"a"')!, parseEntityTag('"a"')!); // true
 */
export function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}

/**
 * Whether a list header (`If-Match`, `If-None-Match`) matches `current` (a header-form ETag),
 * strongly or weakly. `*` matches any current representation.
 *
 * @example listMatches('W/"a", "b"', '"a"', false); // true
 */
export function listMatches(header: string, current: string, strong: boolean): boolean {
  const list = parseEntityTagList(header);
  if (list === "*") return true;
  const tag = parseEntityTag(current);
  if (tag === null) return false;
  for (const other of list) if (strong ? strongMatch(other, tag) : weakMatch(other, tag)) return true;
  return false;
}

/**
 * The weak form of a header-form ETag (`"x"` becomes `W/"x"`; a weak one is returned as is):
 * what a compressing middleware sends, since the bytes are no longer the same.
 *
 * @example weakenEntityTag('"abc"'); // 'W/"abc"'
 */
export function weakenEntityTag(etag: string): string {
  return etag.startsWith("W/") ? etag : "W/" + etag;
}

/** What `etagFromStat` needs of a `fs.Stats`. */
export interface StatLike {
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * A strong ETag from a file's size and modification time (milliseconds), in hexadecimal, as
 * nginx builds its own: cheap, and changed by any write that changes either.
 *
 * @example etagFromStat({ size: 1024, mtimeMs: 1700000000000 }); // '"18bcfe56800-400"'
 */
export function etagFromStat(stat: StatLike, suffix = ""): string {
  return '"' + Math.floor(stat.mtimeMs).toString(16) + "-" + stat.size.toString(16) + suffix + '"';
}
