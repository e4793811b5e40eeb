/**
 * The types of {@linkcode streamMessages}: its options, its status reports
 * and the little of a WebSocket it needs.
 *
 * @module
 */

import type { Message, RequestOptions, UserInfo } from "./types.ts";

/**
 * The part of a WebSocket the stream uses. The global `WebSocket` of Deno,
 * Bun, Node ≥ 22 and browsers fits; so does a test double.
 *
 * @example A test double: stream a message with no network at all
 * ```ts
 * import { streamMessages } from "@openpush/pushover-open-client";
 * import type { WebSocketLike } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * class FakeSocket extends EventTarget implements WebSocketLike {
 *   binaryType = "blob";
 *   constructor(_url: string) {
 *     super();
 *     setTimeout(() => this.dispatchEvent(new Event("open"))); // then a download
 *   }
 *   send(_loginFrame: string) {}
 *   close() {}
 * }
 * const message = { id: 1, id_str: "1", app: "CI", message: "Build passed" };
 * const fetch = async () => Response.json({ status: 1, messages: [message] });
 * const device = { secret: "s3cret", deviceId: "d3v1ce" };
 * const received: string[] = [];
 * for await (const got of streamMessages(device, { WebSocket: FakeSocket, fetch })) {
 *   received.push(got.message);
 *   break;
 * }
 * assert.deepEqual(received, ["Build passed"]);
 * ```
 */
export interface WebSocketLike {
  /** Set to `"arraybuffer"` so binary frames arrive as bytes. */
  binaryType: string;
  /** Sends the login frame. */
  send(data: string): void;
  /** Closes the socket. */
  close(code?: number, reason?: string): void;
  /** `open`, `message` (with `data`), `close` and `error` events. */
  addEventListener(type: string, listener: (event: Event) => void): void;
  /** Removes a listener added before. */
  removeEventListener(type: string, listener: (event: Event) => void): void;
}

/**
 * A WebSocket class (or any constructor of {@linkcode WebSocketLike}).
 *
 * @example Log every connection the stream opens
 * ```ts
 * import { streamMessages } from "@openpush/pushover-open-client";
 * import type { Device, MessageStream, WebSocketConstructor } from "@openpush/pushover-open-client";
 *
 * const LoggingWebSocket: WebSocketConstructor = class extends WebSocket {
 *   constructor(url: string) {
 *     super(url);
 *     console.error(`${new Date().toISOString()} connecting to ${url}`);
 *   }
 * };
 *
 * function listen(device: Device): MessageStream {
 *   return streamMessages(device, { WebSocket: LoggingWebSocket });
 * }
 * ```
 */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * What the stream is doing, for an app to show "offline" instead of silence.
 *
 * @example A status line for `onStatus`
 * ```ts
 * import type { StreamStatus } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * function statusLine(status: StreamStatus): string {
 *   switch (status.state) {
 *     case "connecting":
 *       return status.attempt === 1 ? "connecting…" : `offline, attempt ${status.attempt}`;
 *     case "connected":
 *       return "online";
 *     case "synced":
 *       return status.user?.quiet_hours ? "online, quiet hours" : "online";
 *     case "reconnecting":
 *     case "retrying":
 *       return `offline (${status.reason}), retrying in ${Math.ceil(status.delay / 1000)} s`;
 *     case "undecryptable":
 *       return `message ${status.id}: ${status.reason}`;
 *     case "stopped":
 *       return status.reason === "failed" ? `stopped: ${status.error}` : "stopped";
 *   }
 * }
 * // streamMessages(device, { onStatus: (status) => tray.setTooltip(statusLine(status)) })
 * assert.equal(
 *   statusLine({ state: "reconnecting", attempt: 2, delay: 9_500, reason: "the connection closed" }),
 *   "offline (the connection closed), retrying in 10 s",
 * );
 * ```
 */
export type StreamStatus =
  /** Opening socket number `attempt` of the current run of failures. */
  | { state: "connecting"; attempt: number }
  /** Logged in on the WebSocket; a sync follows. */
  | { state: "connected" }
  /** The link is down; the next attempt starts in `delay` ms. */
  | { state: "reconnecting"; attempt: number; delay: number; reason: string }
  /**
   * A download came through: `queued` messages wait on the server (some
   * handed out before, perhaps), and `user` is the account's facts sent with
   * it (quiet hours now, the Desktop licence), when the server sent them.
   */
  | { state: "synced"; queued: number; user?: UserInfo }
  /** A download or delete failed for a passing reason; retrying in `delay` ms. */
  | { state: "retrying"; attempt: number; delay: number; reason: string }
  /**
   * The message with id `id` could not be decrypted with `encryptionKey`:
   * it is handed out as it came, with `e2ee: "failed"`. Reported once per
   * message; `reason` names the field, never the key.
   */
  | { state: "undecryptable"; id: string; field: string; reason: string }
  /**
   * The stream ended: `closed` by `close()` or dispose, `ended` by the loop
   * (`break`, `return()`), `aborted` by the signal, `failed` with `error`.
   */
  | {
    state: "stopped";
    reason: "closed" | "ended" | "aborted" | "failed";
    error?: unknown;
  };

/**
 * Options of {@linkcode streamMessages}, on top of the REST ones.
 *
 * @example A desktop notifier: notice a dead link soon, never replay old alerts
 * ```ts
 * import { streamMessages } from "@openpush/pushover-open-client";
 * import type { StreamOptions } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * let shown = "";
 * const controller = new AbortController(); // aborted on quit
 * const options: StreamOptions = {
 *   signal: controller.signal,
 *   timeout: 15_000, // per download or delete
 *   keepAliveTimeout: 60_000, // replace a link silent for a minute
 *   retryDelay: { min: 2_000, max: 30_000, resetAfter: 120_000 },
 *   backlog: "skip", // drop what queued up while the machine was off
 *   onStatus: (status) => (shown = status.state), // e.g. in the tray icon
 * };
 * const device = { secret: "s3cret", deviceId: "d3v1ce" }; // from parseCredentials()
 * const stream = streamMessages(device, options); // checks the options; connects on first use
 * await stream.close();
 * assert.equal(shown, "stopped");
 * ```
 */
export interface StreamOptions extends RequestOptions {
  /**
   * The WebSocket endpoint. Plain `ws:` only for loopback hosts.
   *
   * @default {"wss://client.pushover.net/push"}
   */
  websocketUrl?: string;
  /**
   * The WebSocket class to use.
   *
   * @default {globalThis.WebSocket}
   */
  WebSocket?: WebSocketConstructor;
  /**
   * Milliseconds without any frame (the server sends `#` keep-alives) after
   * which the link counts as dead and is replaced.
   *
   * @default {90000}
   */
  keepAliveTimeout?: number;
  /**
   * Delay between reconnects and between retries of a failed download or
   * delete: before attempt n, a random value in `[min, min(max, min · 2ⁿ)]`
   * (a server's `Retry-After` is a floor). The count starts again once the
   * connection (or REST) has worked for `resetAfter` ms; an `R` frame on a
   * younger link counts as a failure. Each bound may be left out.
   *
   * @default {{ min: 5000, max: 60000, resetAfter: 60000 }}
   */
  retryDelay?: { min?: number; max?: number; resetAfter?: number };
  /**
   * Delete messages on the server once the loop has moved past them. With
   * `false`, call {@linkcode deleteThrough} yourself, or they come back on
   * every start.
   *
   * @default {true}
   */
  autoDelete?: boolean;
  /**
   * What to do with the messages queued before the stream started:
   * `"deliver"` them, or `"skip"` them (not yielded, and deleted unless
   * `autoDelete` is false), for a notifier that must not replay a flood of
   * old alerts. "Before" compares each message's `queued_date` (else
   * `date`), in whole seconds, with the second of this machine's clock at the
   * first `next()`: only what was queued in an earlier second is skipped, so
   * a message queued in that same second is delivered — when in doubt,
   * deliver.
   *
   * @default {"deliver"}
   */
  backlog?: "deliver" | "skip";
  /** Called at every change of the connection's state. */
  onStatus?: (status: StreamStatus) => void;
  /**
   * The user's end-to-end key, 64 hexadecimal characters: encrypted messages
   * are decrypted before they are yielded. One that cannot be decrypted is
   * yielded as it came, with `e2ee: "failed"`, and reported as
   * `undecryptable`; it never stalls or ends the stream.
   */
  encryptionKey?: string;
}

/**
 * The messages of one device as they arrive: hand each to a function with
 * `forEach()`, or read them with `for await`. One consumer per stream.
 * `close()`, `[Symbol.asyncDispose]()`, `break`, `return()` and the `signal`
 * option stop it and release every socket, timer and listener.
 *
 * With `for await`, *leaving the loop counts as handled*: `break`, `return`
 * and an exception thrown in the loop body all mark the message held then as
 * done, and it is deleted. `forEach()` counts a message as handled only when
 * its handler resolves.
 *
 * @example Stop from a quit handler, release in `finally`
 * ```ts
 * import { streamMessages } from "@openpush/pushover-open-client";
 * import type { Device, MessageStream } from "@openpush/pushover-open-client";
 *
 * // `onQuit` registers a handler: SIGINT, a tray menu's "Quit" …
 * async function run(device: Device, onQuit: (handler: () => void) => void) {
 *   const stream: MessageStream = streamMessages(device);
 *   onQuit(() => void stream.close()); // the loop below then ends quietly
 *   try {
 *     for await (const message of stream) {
 *       console.log(`${message.title ?? message.app}: ${message.message}`);
 *     }
 *   } finally {
 *     await stream.close(); // however the loop ended; closing twice is harmless
 *   }
 * }
 * ```
 */
export interface MessageStream extends AsyncIterable<Message> {
  /**
   * When the last frame — a keep-alive, a `!`, any command — came on the
   * stream's socket (ms since the epoch); undefined before the first and
   * once the stream stopped. A health check compares it with the clock:
   * Pushover sends a keep-alive about every 30 s.
   *
   * @example Tell whether the link is alive
   * ```ts
   * import type { MessageStream } from "@openpush/pushover-open-client";
   *
   * function alive(stream: MessageStream, now = Date.now()): boolean {
   *   const last = stream.lastFrameAt;
   *   return last !== undefined && now - last < 90_000;
   * }
   * ```
   */
  readonly lastFrameAt: number | undefined;

  /**
   * Hands every message to `handler`, one at a time, in id order; a message
   * counts as handled — and is deleted — only once `handler` has resolved.
   * If it throws or rejects, the stream stops: what was handled before is
   * deleted, the failed message is not and comes first on the next start,
   * and `forEach` rejects with the handler's error. Otherwise it resolves
   * when the stream is closed, and rejects as `for await` would throw (the
   * signal's reason, {@linkcode LoginRequiredError} …).
   *
   * @param handler Called with each message; may be async.
   * @returns Settles when the stream has stopped and released everything.
   * @throws {TypeError} The stream is iterated already, or `handler` is not a function.
   *
   * @example Forward each message; one that fails stays queued
   * ```ts
   * import { streamMessages } from "@openpush/pushover-open-client";
   * import type { Device } from "@openpush/pushover-open-client";
   *
   * async function forward(device: Device, url: string, signal: AbortSignal) {
   *   await streamMessages(device, { signal }).forEach(async (message) => {
   *     const response = await fetch(url, {
   *       method: "POST",
   *       body: JSON.stringify({ title: message.title, text: message.message }),
   *     });
   *     // Throwing stops the stream and leaves this message on the server.
   *     if (!response.ok) throw new Error(`forwarding failed: ${response.status}`);
   *   });
   * }
   * ```
   */
  forEach(handler: (message: Message) => unknown): Promise<void>;
  /**
   * Like {@linkcode MessageStream.forEach}, a download's worth at a time:
   * `handler` gets every message of a batch not handed out yet, in id
   * order, and all of them count as handled — one delete through the last —
   * once it resolves. For consumers that keep messages (a database: one
   * transaction per batch); a rejection leaves the whole batch queued.
   *
   * @param handler Called with each batch (never empty); may be async.
   * @returns Settles when the stream has stopped and released everything.
   * @throws {TypeError} The stream is iterated already, or `handler` is not a function.
   *
   * @example Keep each batch, then let it be deleted
   * ```ts
   * import { streamMessages } from "@openpush/pushover-open-client";
   * import type { Device, Message } from "@openpush/pushover-open-client";
   *
   * async function keep(device: Device, save: (m: Message[]) => Promise<void>) {
   *   await streamMessages(device).forEachBatch(async (messages) => {
   *     await save(messages); // committed first: deleted on the server after
   *   });
   * }
   * ```
   */
  forEachBatch(handler: (messages: Message[]) => unknown): Promise<void>;
  /**
   * Stops the stream from outside the loop: the waiting loop ends, messages
   * the loop moved past are deleted, and the message the loop holds now is
   * not — nor is it marked handled when the loop then asks for more — so it
   * comes again on the next start. Resolves once all is released.
   */
  close(): Promise<void>;
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}
