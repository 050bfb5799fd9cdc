/**
 * Reading a file's bytes into a response, for `serveFromPath`: on descriptors it opened (so
 * what was checked is what is sent), through libuv's thread pool.
 */
import { close, createReadStream, read } from "node:fs";
import { Readable } from "node:stream";
import type { Response } from "../../vsgi/index.js";
import type { ByteRange, ByterangesFraming } from "../http/range.js";

/**
 * Reads of a large file, and the size up to which a file (or range) is read in one call and
 * sent with one write: fewer trips through the thread pool than node's 64 KiB (measured +25%
 * at 1 MiB), and never more than this held per connection, streamed or not.
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

/** Streams bytes `start` to `end` (inclusive) of `fd`, closing it at the end. */
export function streamRange(res: Response, fd: number, start: number, end: number): Promise<boolean> {
  return streamBody(res, createReadStream("", { fd, start, end, highWaterMark: STREAM_CHUNK, autoClose: true }));
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
