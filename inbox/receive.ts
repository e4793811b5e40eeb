// Receiving a device's stream into an inbox: each batch committed before
// the stream counts it handled, so the server deletes only what is on disk.

import type { Device, MessageStream } from "../mod.ts";
import type { Inbox } from "./store.ts";

/**
 * Keeps every message of `stream` in `inbox`, a download's batch per
 * transaction ({@linkcode Inbox.accept}), until the stream stops; resolves
 * then, or rejects as the stream does — or with the inbox's error, when it
 * could not keep a batch (or file an earlier one, tried again first): that
 * batch stays on the server, the earlier ones in the inbox.
 *
 * @param device Whose stream it is: stored with each message.
 * @returns How it ended: as `stream.forEachBatch()`.
 *
 * @example Receive until stopped (here: by the first batch)
 * ```ts
 * import { login, registerDevice, streamMessages } from "@openpush/pushover-open-client";
 * import { openInbox, receive } from "@openpush/pushover-open-client/inbox";
 * import { startFakeServer } from "@openpush/pushover-open-client/testing";
 *
 * const server = await startFakeServer({ listen: false, accounts: [{ email: "a@b.c", password: "pw" }] });
 * const net = { apiUrl: server.apiUrl, fetch: server.fetch };
 * const device = await registerDevice(await login({ email: "a@b.c", password: "pw" }, net), "box", net);
 * const inbox = await openInbox(":memory:");
 * const stop = new AbortController();
 * inbox.onAdded(() => stop.abort());
 * const stream = streamMessages(device, { ...net, websocketUrl: server.websocketUrl, WebSocket: server.WebSocket, signal: stop.signal });
 * await receive(stream, inbox, device).catch(() => {}); // the signal's reason
 * console.log(inbox.stats().messages); // 1: the welcome, deleted on the server
 * inbox.close();
 * await server.close();
 * ```
 */
export async function receive(
  stream: MessageStream,
  inbox: Inbox,
  device: Pick<Device, "deviceId">,
): Promise<void> {
  // Accepted, not added: the batch is on disk in one write when the stream
  // counts it handled; filing each message (and indexing it for search)
  // follows once the stream has moved on.
  await stream.forEachBatch((messages) => {
    inbox.accept(device.deviceId, messages);
  });
}
