/**
 * A receiver that remembers: a durable inbox for Pushover messages on the
 * runtime's own SQLite (`node:sqlite`: Node 22.13 and later, Deno 2, Bun 1),
 * with history, full-text search, and sinks that each read it at their own
 * pace — at least once, in order, with retries and dead letters.
 *
 * A stream is received into it a batch per transaction, committed before
 * the stream counts the batch handled, so the server deletes only what is
 * on disk: the batch as it came, a row per 250 messages (each message's
 * values; the field names once per run of messages that share them), filed
 * into the history (kept once by id) a moment later — `Inbox.accept()`.
 * The main module (`@openpush/pushover-open-client`) does not use this one:
 * a bundle for a browser or a Worker never sees `node:sqlite`.
 *
 * @example Receive a device's stream, then search what arrived
 * ```ts
 * import { login, registerDevice, streamMessages } from "@openpush/pushover-open-client";
 * import { openInbox, receive } from "@openpush/pushover-open-client/inbox";
 * import { startFakeServer } from "@openpush/pushover-open-client/testing";
 *
 * const server = await startFakeServer({
 *   listen: false,
 *   accounts: [{ email: "me@example.com", password: "pw" }],
 * });
 * const net = { apiUrl: server.apiUrl, fetch: server.fetch };
 * const session = await login({ email: "me@example.com", password: "pw" }, net);
 * const device = await registerDevice(session, "inbox-example", net);
 *
 * const inbox = await openInbox(":memory:"); // a file path in real use
 * const stop = new AbortController();
 * inbox.onAdded(() => stop.abort()); // here: stop after the first batch
 * await receive(
 *   streamMessages(device, {
 *     ...net,
 *     websocketUrl: server.websocketUrl,
 *     WebSocket: server.WebSocket,
 *     signal: stop.signal,
 *   }),
 *   inbox,
 *   device,
 * ).catch(() => {}); // ends with the signal's reason
 * console.log(inbox.history({ text: "welcome" }).length); // 1
 * inbox.close();
 * await server.close();
 * ```
 *
 * @module
 */

import { openSqliteFile } from "./node_sqlite.ts";
import { Inbox } from "./store.ts";

export { InboxError } from "./node_sqlite.ts";
export { openSqliteFile } from "./node_sqlite.ts";
export type { Durability, SqlDriver, SqlValue } from "./_driver.ts";
export { SCHEMA_VERSION } from "./_schema.ts";
export { Inbox, SinkCursor } from "./store.ts";
export type {
  DeadLetter,
  FailureOutcome,
  HistoryQuery,
  InboxStats,
  PruneResult,
  Receiver,
  Retention,
  SinkStart,
  SinkState,
  StoredMessage,
} from "./store.ts";
export { receive } from "./receive.ts";
export { runSink, SINK_ATTEMPTS, SINK_RETRY } from "./sinks.ts";
export type { SinkOptions, SinkRetryDelay } from "./sinks.ts";
export type { Device, Message, MessageStream } from "../mod.ts";

/**
 * Opens the inbox in the SQLite file at `path`, made 0600 in a 0700 folder
 * if new, and brought to this version's schema.
 *
 * @param path The file; `":memory:"` for one that lives while it is open.
 * @param now The clock times are stored on (ms; for tests).
 * @throws {InboxError} The runtime has no `node:sqlite`, or the file is
 *   damaged, not an inbox, unwritable, or on a full disk — one line naming it.
 *
 * @example Keep a message, find it again
 * ```ts
 * import { openInbox } from "@openpush/pushover-open-client/inbox";
 * import type { Message } from "@openpush/pushover-open-client";
 *
 * const inbox = await openInbox(":memory:");
 * const message = { id: 1, id_str: "1", umid: 9, umid_str: "9", aid: 1, aid_str: "1",
 *   app: "Backup", icon: "backup", date: 1_700_000_000, priority: 0, acked: 0,
 *   message: "Nightly backup done" } as Message;
 * inbox.add("my-device-id", [message]);
 * inbox.add("my-device-id", [message]); // again: kept once
 * console.log(inbox.history({ text: "backup" }).map((s) => s.message.message)); // ["Nightly backup done"]
 * inbox.close();
 * ```
 */
export async function openInbox(
  path: string,
  now?: () => number,
): Promise<Inbox> {
  return new Inbox(await openSqliteFile(path), now);
}
