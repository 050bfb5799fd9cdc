// The board's messages, kept in memory: a bounded list, and the listeners (open event streams)
// told of each new one.

/** A file attached to a message, held whole (uploads are bounded by the app's `fileSize`). */
export interface Attachment {
  /** The client's file name made safe for display (`safeFilename`), or `"file"`. */
  name: string;
  /** The type the client declared: shown, never used to serve the bytes. */
  type: string;
  bytes: Buffer;
}

export interface Message {
  id: number;
  user: string;
  text: string;
  /** ISO 8601. */
  time: string;
  file: Attachment | null;
}

/** What clients see of a message: the file as a link. */
export interface MessageView {
  id: number;
  user: string;
  text: string;
  time: string;
  file: { name: string; type: string; size: number; url: string } | null;
}

/**
 * The last `capacity` messages, numbered from 1, and who wants to hear of the next ones.
 *
 * @example const board = new Board(100); board.subscribe((m) => console.log(m.text)); board.add("ana", "hi", null);
 */
export class Board {
  private readonly messages: Message[] = [];
  private readonly listeners = new Set<(message: Message) => void>();
  private last = 0;

  constructor(readonly capacity: number) {}

  /** Adds a message, drops the oldest past the capacity, and tells every listener at once. */
  add(user: string, text: string, file: Attachment | null): Message {
    const message: Message = { id: ++this.last, user, text, time: new Date().toISOString(), file };
    this.messages.push(message);
    if (this.messages.length > this.capacity) this.messages.shift();
    for (const listener of this.listeners) listener(message);
    return message;
  }

  /** The message numbered `id`, if still kept. */
  get(id: number): Message | undefined {
    // ids are consecutive: the position is computed, not searched
    const first = this.messages[0];
    return first === undefined ? undefined : this.messages[id - first.id];
  }

  /** The messages kept whose id is above `id` (all of them for 0), oldest first. */
  since(id: number): Message[] {
    return this.messages.filter((m) => m.id > id);
  }

  /** Calls `listener` with each message added from now on; returns the unsubscribe function. */
  subscribe(listener: (message: Message) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * A message as the JSON API and the event stream show it. `root` is where the app is mounted
 * (`req.scriptName`: `""`, or `/board` behind nginx), so that the file's URL is right for the
 * page and for any client of the API alike.
 *
 * @example view(message, req.scriptName).file?.url; // "/board/api/messages/1/file"
 */
export function view(m: Message, root: string): MessageView {
  return {
    id: m.id,
    user: m.user,
    text: m.text,
    time: m.time,
    file: m.file === null ? null : { name: m.file.name, type: m.file.type, size: m.file.bytes.length, url: `${root}/api/messages/${m.id}/file` },
  };
}
