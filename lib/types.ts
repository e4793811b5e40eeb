/**
 * The data the Open Client API sends and the values users keep between runs.
 *
 * @module
 */

/**
 * Options every REST primitive takes.
 *
 * @example Log every call, without its secret, and time out sooner
 * ```ts
 * import { downloadMessages } from "@openpush/pushover-open-client";
 * import type { RequestOptions } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * // Logs method and path only: the query and the body hold the secret.
 * function logged(inner: typeof fetch, log: (line: string) => void): typeof fetch {
 *   return (input, init) => {
 *     const { pathname } = new URL(input instanceof Request ? input.url : input);
 *     log(`${init?.method ?? "GET"} ${pathname}`);
 *     return inner(input, init);
 *   };
 * }
 * const lines: string[] = [];
 * const stub = async () => Response.json({ status: 1, messages: [] }); // real code: fetch
 * const options: RequestOptions = { fetch: logged(stub, (line) => lines.push(line)), timeout: 10_000 };
 * await downloadMessages({ secret: "s3cret", deviceId: "d3v1ce" }, options);
 * assert.deepEqual(lines, ["GET /1/messages.json"]);
 * ```
 */
export interface RequestOptions {
  /**
   * Base URL of the REST API, without a trailing slash. Plain `http:` is
   * refused unless the host is loopback, because every call carries a secret.
   *
   * @default {"https://api.pushover.net/1"}
   */
  apiUrl?: string;
  /**
   * The `fetch` to use, for instrumentation or tests.
   *
   * @default {globalThis.fetch}
   */
  fetch?: typeof fetch;
  /** Aborts the request; the promise then rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Milliseconds the whole request (connect, answer and body) may take before
   * it fails with a {@linkcode PushoverError} whose `cause` is a `DOMException` named
   * `TimeoutError`.
   *
   * @default {30000}
   */
  timeout?: number;
}

/**
 * Options of {@linkcode downloadMessages}: the REST ones, and the key for
 * end-to-end encrypted messages.
 *
 * @example Download with the user's end-to-end key
 * ```ts
 * import { downloadMessages } from "@openpush/pushover-open-client";
 * import type { Device, DownloadOptions } from "@openpush/pushover-open-client";
 *
 * async function inbox(device: Device, key: string) {
 *   const options: DownloadOptions = { encryptionKey: key }; // 64 hex characters
 *   const { messages } = await downloadMessages(device, options);
 *   return messages.map((m) => m.e2ee === "failed" ? "(cannot decrypt)" : m.message);
 * }
 * ```
 */
export interface DownloadOptions extends RequestOptions {
  /**
   * The user's end-to-end key, 64 hexadecimal characters: encrypted
   * messages come decrypted. Never shown in any error or report.
   */
  encryptionKey?: string;
}

/**
 * What {@linkcode login} returns: keep `secret` safe and forget the password.
 *
 * @example Keep the session instead of the password, register later
 * ```ts
 * import { registerDevice } from "@openpush/pushover-open-client";
 * import type { Device, Session } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * const session: Session = { userKey: "uQiRzpo4DXghDmr9QzzfQu27cmVRsG", secret: "s3cret" };
 * const stored = JSON.stringify(session); // as private as the password
 * assert.deepEqual(JSON.parse(stored), session);
 *
 * async function addDevice(stored: string, name: string): Promise<Device> {
 *   const restored: Session = JSON.parse(stored);
 *   return await registerDevice(restored, name); // no password needed
 * }
 * ```
 */
export interface Session {
  /** The account's 30-character user key. */
  userKey: string;
  /** The session secret every other call needs. */
  secret: string;
}

/**
 * A registered Open Client device: plain JSON, so it can be stored and reused
 * on the next start without logging in again.
 *
 * @example Store it as JSON, reuse it on the next start
 * ```ts
 * import type { Device } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * const device: Device = { secret: "s3cret", deviceId: "d3v1ce" }; // from registerDevice()
 * const text = JSON.stringify(device); // or stringifyCredentials(), which checks it
 * const restored: Device = JSON.parse(text);
 * assert.deepEqual(restored, device);
 * ```
 */
export interface Device {
  /** The session secret the device was registered with. */
  secret: string;
  /** The 40-character id the server gave the device. */
  deviceId: string;
}

/**
 * One message as the API sends it, snake_case. Conditional fields are absent,
 * never `null`, and unknown fields the server adds are kept.
 *
 * The 64-bit integers (`id`, `umid`, `aid`) can exceed `2^53`, so their number
 * form may be rounded: use the exact `*_str` twins to compare or send them.
 *
 * @example Show a message: fall back on absent fields, trust `id_str`
 * ```ts
 * import type { Message } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * const message: Message = {
 *   id: Number("9007199254740993"), // beyond 2^53: rounded, as JSON.parse would
 *   id_str: "9007199254740993",
 *   umid: 81, umid_str: "81", aid: 7, aid_str: "7", app: "Backups", icon: "",
 *   message: "Backup finished", date: 1_700_000_000, priority: 0, acked: 0,
 *   url: "https://backup.example.com/runs/81",
 * };
 * assert.equal(message.title ?? message.app, "Backups"); // no title: show the app
 * assert.equal(message.url_title ?? message.url, "https://backup.example.com/runs/81");
 * assert.equal(String(message.id), "9007199254740992"); // off by one
 * assert.equal(message.id_str, "9007199254740993"); // exact: compare and send this
 * ```
 */
export interface Message {
  /** Id relative to this device; increasing, not contiguous. Use `id_str`. */
  id: number;
  /** Exact decimal form of `id`. */
  id_str: string;
  /** Id of the message across all the user's devices. Use `umid_str`. */
  umid: number;
  /** Exact decimal form of `umid`: a good key to de-duplicate on. */
  umid_str: string;
  /** The body, up to 1024 characters; HTML subset when `html` is 1. */
  message: string;
  /** Name of the sending application ("Pushover" for system messages). */
  app: string;
  /** Application id; 1 is Pushover itself. Use `aid_str`. */
  aid: number;
  /** Exact decimal form of `aid`. */
  aid_str: string;
  /** Icon name for `https://api.pushover.net/icons/{icon}.png`. */
  icon: string;
  /** Unix seconds: the message's timestamp. */
  date: number;
  /** −2 (no notification) … 2 (emergency, needs acknowledgement). */
  priority: number;
  /** 1 once an emergency message has been acknowledged. */
  acked: number;
  /** Title set by the sender; absent when none was given (show `app`). */
  title?: string;
  /** Two-letter sound code; absent means the device's default sound. */
  sound?: string;
  /** Supplementary URL. */
  url?: string;
  /** Label for `url`; absent means show the URL itself. */
  url_title?: string;
  /** Receipt to acknowledge; priority 2 only. */
  receipt?: string;
  /** 1 when `message` uses the HTML subset (b, i, u, font, a). */
  html?: number;
  /** 1 when the body should be shown in a fixed-width font. */
  monospace?: number;
  /** Unix seconds when queued for this device. */
  queued_date?: number;
  /** Unix seconds when dispatched to this device. */
  dispatched_date?: number;
  /** Unix seconds after which the message should be removed locally. */
  expiration_date?: number;
  /**
   * Whether end-to-end encryption was involved, as this library handled it:
   * `"decrypted"` (fields replaced by their plaintext), `"failed"` (it
   * could not be decrypted with the key given: handed out as it came), or
   * `"encrypted"` (the server marks it encrypted and no key was given: show
   * "encrypted — set the key"). Absent for a plain message.
   */
  e2ee?: "decrypted" | "failed" | "encrypted";
  /** 1 when the server marks the message end-to-end encrypted (not always sent). */
  encrypted?: number;
  /** Present when the message came through a subscription. */
  subscription?: number;
  /** String twin of `subscription`. */
  subscription_str?: string;
  /** Fields this library does not know yet. */
  [field: string]: unknown;
}

/**
 * The account facts sent with every download (fields may be missing).
 *
 * @example Quiet hours mute normal messages, not high-priority ones
 * ```ts
 * import { isQuiet } from "@openpush/pushover-open-client";
 * import type { UserInfo } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * const user: UserInfo = { quiet_hours: true, is_desktop_licensed: true }; // batch.user
 * assert.equal(isQuiet({ priority: 0 }, user), true);
 * assert.equal(isQuiet({ priority: 1 }, user), false);
 * if (user.is_desktop_licensed === false) {
 *   console.warn("Open Client devices need a Pushover for Desktop licence.");
 * }
 * ```
 */
export interface UserInfo {
  /** The user is inside quiet hours now: treat priority 0 as quiet. */
  quiet_hours?: boolean;
  /** The account holds an Android licence. */
  is_android_licensed?: boolean;
  /** The account holds an iOS licence. */
  is_ios_licensed?: boolean;
  /** The account holds a Desktop licence, which Open Clients need. */
  is_desktop_licensed?: boolean;
  /** The account's e-mail address. */
  email?: string;
  /** Unix seconds when the account was created. */
  created_at?: number;
  /** The account's first e-mail alias. */
  first_email_alias?: string;
  /** Unix seconds until which quick quiet is on, or null. */
  quick_quiet_until?: number | null;
  /** UI hint, "0" or "1". */
  show_team_ad?: string;
  /** UI hint, "0" or "1". */
  show_tipjar?: string;
  /** Fields this library does not know yet. */
  [field: string]: unknown;
}

/**
 * The device's settings sent with every download (fields may be missing).
 *
 * @example Play the device's default sound unless the message names one
 * ```ts
 * import { soundName } from "@openpush/pushover-open-client";
 * import type { DeviceInfo, Message } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * function soundOf(message: Pick<Message, "sound">, device: DeviceInfo = {}): string {
 *   const fallback = device.default_sound ?? "po";
 *   return device.always_use_default_sound || !message.sound ? fallback : message.sound;
 * }
 * const device: DeviceInfo = { name: "desk", default_sound: "ch" }; // batch.device
 * assert.equal(soundName(soundOf({}, device)), "cashregister");
 * assert.equal(soundName(soundOf({ sound: "si" }, device)), "siren");
 * const insists: DeviceInfo = { ...device, always_use_default_sound: true };
 * assert.equal(soundName(soundOf({ sound: "si" }, insists)), "cashregister");
 * ```
 */
export interface DeviceInfo {
  /** The device's name. */
  name?: string;
  /** Always false for Open Clients. */
  encryption_enabled?: boolean;
  /** Two-letter code of the sound for normal messages. */
  default_sound?: string;
  /** Play `default_sound` whatever the message asks for. */
  always_use_default_sound?: boolean;
  /** Two-letter code of the sound for high-priority messages. */
  default_high_priority_sound?: string;
  /** Play `default_high_priority_sound` whatever the message asks for. */
  always_use_default_high_priority_sound?: boolean;
  /** Dismissals are synchronised across devices. */
  dismissal_sync_enabled?: boolean;
  /** Fields this library does not know yet. */
  [field: string]: unknown;
}

/**
 * What {@linkcode downloadMessages} returns.
 *
 * @example Quiet hours come with the batch: pass `batch.user` to `isQuiet`
 * ```ts
 * import { downloadMessages, isQuiet } from "@openpush/pushover-open-client";
 * import type { MessageBatch } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * // A stub server, answering during the user's quiet hours.
 * const fetch = async () =>
 *   Response.json({
 *     status: 1,
 *     messages: [
 *       { id: 5, id_str: "5", priority: 0, message: "Build passed" },
 *       { id: 6, id_str: "6", priority: 1, message: "Disk full" },
 *     ],
 *     user: { quiet_hours: true },
 *   });
 * const device = { secret: "s3cret", deviceId: "d3v1ce" };
 * const batch: MessageBatch = await downloadMessages(device, { fetch });
 * const loud = batch.messages.filter((message) => !isQuiet(message, batch.user));
 * assert.deepEqual(loud.map((message) => message.message), ["Disk full"]);
 * ```
 */
export interface MessageBatch {
  /** Every queued message, in ascending id order. */
  messages: Message[];
  /** Account facts, when the server sent them. */
  user?: UserInfo;
  /** Device settings, when the server sent them. */
  device?: DeviceInfo;
}
