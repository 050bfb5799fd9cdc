/**
 * What `multipart` needs of busboy beyond its documented interface: a part's header lines.
 */
import busboy from "busboy";

function noop(): void {}

// Busboy 1.6 neither exposes a part's headers nor honours `limits.headerPairs` (it keeps the
// first 1999 lines) and reports an over-long header block (16 KiB) as malformed. Its header
// parser is the instance's `_hparser` while a part's head is read; its `cb` gets the headers
// and its `push` says -1 on a malformed or over-long block. `checkBusboy` verifies at
// registration that the installed busboy still works so (package.json pins 1.6.0).
export const MAX_HEADER_SIZE = 16 * 1024;

interface HeaderParser {
  cb: (header: Record<string, string[]>) => void;
  push(chunk: Buffer, pos: number, end: number): number;
  byteCount: number;
}

export interface HeaderWatch {
  onHeader(header: Record<string, string[]>): void;
  onOversized(): void;
}

export function watchHeaders(parser: busboy.Busboy, watch: HeaderWatch): void {
  let current: unknown = (parser as unknown as { _hparser: unknown })._hparser;
  let hooked = false;
  Object.defineProperty(parser, "_hparser", {
    configurable: true,
    get: () => current,
    set: (value: unknown) => {
      if (!hooked && value !== null && typeof value === "object") {
        hooked = true;
        const hp = value as HeaderParser;
        const cb = hp.cb;
        hp.cb = (header) => {
          watch.onHeader(header);
          cb.call(hp, header);
        };
        const push = hp.push;
        hp.push = function (chunk, pos, end) {
          const at = push.call(hp, chunk, pos, end);
          if (at === -1 && hp.byteCount >= MAX_HEADER_SIZE) watch.onOversized();
          return at;
        };
      }
      current = value;
    },
  });
}

let busboyChecked = false;

/** @internal Throws unless the installed busboy hands part headers over as `watchHeaders` expects. */
export function checkBusboy(): void {
  if (busboyChecked) return;
  let seen: Record<string, string[]> | null = null;
  const parser = busboy({ headers: { "content-type": "multipart/form-data; boundary=x" } });
  watchHeaders(parser, { onHeader: (header) => (seen = header), onOversized: noop });
  parser.on("error", noop);
  parser.on("field", noop);
  parser.write(Buffer.from('--x\r\nContent-Disposition: form-data; name="a"\r\nX-Check: 1\r\n\r\nv\r\n--x--\r\n'));
  parser.destroy();
  const header = seen as Record<string, string[]> | null;
  if (header?.["x-check"]?.[0] !== "1") {
    throw new Error("multipart: the installed busboy does not hand part headers over as busboy 1.6 does; install busboy 1.6.0");
  }
  busboyChecked = true;
}

