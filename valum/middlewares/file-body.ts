/**
 * Reading a file's bytes into a response, for `serveFromPath`: on descriptors it opened (so
 * what was checked is what is sent), through libuv's thread pool.
 */
import { close, read } from "node:fs";
import { Readable } from "node:stream";
import type { Response } from "../../vsgi/index.js";
import type { ByteRange, ByterangesFraming } from "../http/range.js";

/**
 * The size up to which a file (or range) is read in one call and sent with one write, and the
 * reads of larger ones, two in flight (one read, one draining to the client): 512 KiB held per
 * connection at most. Measured on 1 MiB files: 64 KiB piped reads (node's default) 400 req/s,
 * 256 KiB piped 480, 256 KiB read ahead 750.
 */
export const STREAM_CHUNK = 256 * 1024;
/** Reads for the parts of a multipart answer. */
const PART_CHUNK = 64 * 1024;

function ignore(): void {}

/** Closes a descriptor without waiting; `-1` (none) is ignored. */
export function closeFd(fd: number): void {
  if (fd >= 0) close(fd, ignore);
}

/** Reads `length` bytes at `position` (a regular file may still return less at once); closes `fd` after when told. */
export function readAll(fd: number, position: number, length: number, closeAfter: boolean): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  return new Promise((resolve, reject) => {
    let done = 0;
    const step = (error: Error | null, bytesRead: number): void => {
      if (error === null && bytesRead === 0 && done < length) error = new Error("the file shrank while it was being sent");
      if (error !== null) {
        if (closeAfter) closeFd(fd);
        reject(error);
        return;
      }
      done += bytesRead;
      if (done < length) {
        read(fd, buffer, done, length - done, position + done, step);
        return;
      }
      if (closeAfter) closeFd(fd);
      resolve(buffer);
    };
    if (length === 0) step(null, 0);
    else read(fd, buffer, 0, length, position, step);
  });
}

/** Sends `length` bytes of `fd` from `start` with one read and one write, and closes it. */
export async function sendRange(res: Response, fd: number, start: number, length: number): Promise<boolean> {
  return res.expand(await readAll(fd, start, length, true));
}

/**
 * Streams a body. A client that goes away mid-download is no error of the application's (the
 * stream closed the file): the connection is dropped without a log line. A failing read of the
 * file still is one.
 */
function streamBody(res: Response, body: Readable): Promise<boolean> {
  return res.expandStream(body).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).syscall === "read" || !res.headWritten) throw error;
    res.destroy();
    return true;
  });
}

/**
 * Sends bytes `start` to `end` (inclusive) of `fd` and closes it. The next chunk is read while
 * the previous one drains to the client (two chunks per connection at most), where a piped
 * stream reads only once the socket has drained.
 */
export async function streamRange(res: Response, fd: number, start: number, end: number): Promise<boolean> {
  let position = start;
  let pending: Promise<Buffer> | null = readAll(fd, position, Math.min(STREAM_CHUNK, end - position + 1), false);
  try {
    while (pending !== null) {
      const chunk: Buffer = await pending;
      position += chunk.length;
      pending = position <= end ? readAll(fd, position, Math.min(STREAM_CHUNK, end - position + 1), false) : null;
      await res.append(chunk);
    }
    await res.end();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).syscall === "read" || !res.headWritten) throw error;
    // the client went away: no error of the application's
    res.destroy();
    return true;
  } finally {
    // never close under a read still in the pool: the number could be reused meanwhile
    if (pending !== null) await pending.catch(ignore);
    closeFd(fd);
  }
}

/** Streams a `multipart/byteranges` body of `fd`'s ranges, closing it at the end. */
export function streamByteranges(res: Response, fd: number, ranges: readonly ByteRange[], framing: ByterangesFraming): Promise<boolean> {
  return streamBody(res, Readable.from(byteranges(fd, ranges, framing), { objectMode: false }));
}

async function* byteranges(fd: number, ranges: readonly ByteRange[], framing: ByterangesFraming): AsyncGenerator<Buffer> {
  try {
    for (let i = 0; i < ranges.length; i++) {
      yield framing.heads[i]!;
      const range = ranges[i]!;
      for (let position = range.start; position <= range.end; ) {
        const length = Math.min(PART_CHUNK, range.end - position + 1);
        yield await readAll(fd, position, length, false);
        position += length;
      }
    }
    yield framing.tail;
  } finally {
    closeFd(fd);
  }
}
