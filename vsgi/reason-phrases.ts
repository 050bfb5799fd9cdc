import { STATUS_CODES } from "node:http";

/**
 * The standard reason phrase of a status, from node's table (the IANA registry), "Unknown" for
 * a status it lacks. Every head the gateway layer writes, the application's and the backends'
 * own answers alike, takes its phrase from here.
 *
 * @example reasonPhrase(431); // "Request Header Fields Too Large"
 */
export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? "Unknown";
}
