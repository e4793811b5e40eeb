/**
 * Receive Pushover notifications in your own program — a desktop notifier, a
 * home-automation bridge, a script on a server, a Cloudflare Worker — with
 * nothing but the platform's `fetch` and `WebSocket`. Zero dependencies; runs
 * unchanged on Deno 2, Bun 1, Node ≥ 22 and workerd.
 *
 * Pushover's Open Client API lets a program log in, register itself as a
 * device, download and delete its messages, acknowledge emergency alerts and
 * hear about new ones on a WebSocket. An Open Client device needs a Pushover
 * for Desktop licence on the account.
 *
 * ```sh
 * deno add jsr:@openpush/pushover-open-client   # Deno
 * npx jsr add @openpush/pushover-open-client    # Node (or: bunx jsr add … for Bun)
 * ```
 *
 * Log in and register once, keep the device (never the password), then
 * stream: every message exactly once, in order, across reconnects, deleted on
 * the server only after your loop has moved past it.
 *
 * ```ts
 * import {
 *   acknowledge,
 *   login,
 *   LoginRequiredError,
 *   needsAcknowledgement,
 *   parseCredentials,
 *   registerDevice,
 *   streamMessages,
 *   stringifyCredentials,
 *   toPlainText,
 *   TwoFactorRequiredError,
 * } from "@openpush/pushover-open-client";
 * import type { SavedCredentials } from "@openpush/pushover-open-client";
 *
 * // First run: log in (asking for the 2FA code if the account has one),
 * // register this machine, and keep the result as JSON.
 * async function setUp(
 *   email: string,
 *   password: string,
 *   askCode: () => Promise<string>,
 * ): Promise<string> {
 *   let session;
 *   try {
 *     session = await login({ email, password });
 *   } catch (error) {
 *     if (!(error instanceof TwoFactorRequiredError)) throw error;
 *     session = await login({ email, password, twofa: await askCode() });
 *   }
 *   const device = await registerDevice(session, "my-desktop");
 *   const saved: SavedCredentials = { device, userKey: session.userKey, email };
 *   return stringifyCredentials(saved); // no password in it
 * }
 *
 * // Every start: listen until the signal aborts (e.g. on Ctrl-C).
 * async function listen(
 *   savedJson: string,
 *   signal: AbortSignal,
 *   userAcknowledges: (title: string) => Promise<boolean>,
 * ): Promise<void> {
 *   const { device } = parseCredentials(savedJson);
 *   const stream = streamMessages(device, {
 *     signal,
 *     backlog: "skip", // don't replay what came while we were away
 *     onStatus: (status) => console.error(`[${status.state}]`),
 *   });
 *   try {
 *     for await (const message of stream) {
 *       console.log(`${message.app}: ${toPlainText(message)}`);
 *       const title = message.title ?? message.app;
 *       if (needsAcknowledgement(message) && await userAcknowledges(title)) {
 *         await acknowledge(device, message); // only on the user's word
 *       }
 *     }
 *   } catch (error) {
 *     if (signal.aborted) return;
 *     if (error instanceof LoginRequiredError) console.error("Log in again.");
 *     throw error;
 *   }
 * }
 * ```
 *
 * The REST primitives — {@linkcode login}, {@linkcode registerDevice},
 * {@linkcode downloadMessages}, {@linkcode deleteThrough},
 * {@linkcode acknowledge} — take {@linkcode RequestOptions} (`apiUrl`, `fetch`,
 * `signal`, `timeout`); {@linkcode streamMessages} adds the WebSocket, timing,
 * deletion and backlog options of {@linkcode StreamOptions}. Failures are
 * {@linkcode PushoverError}s (with {@linkcode TwoFactorRequiredError},
 * {@linkcode LoginRequiredError} and {@linkcode SessionReplacedError} to act
 * on), and never show a secret, password or 2FA code. End-to-end encrypted
 * messages are decrypted with the user's key: the `encryptionKey` option of
 * {@linkcode downloadMessages} and {@linkcode streamMessages}, or
 * {@linkcode decryptMessage} (failures: {@linkcode DecryptionError}). Helpers decide what a
 * notifier shows: {@linkcode toPlainText}, {@linkcode iconUrl},
 * {@linkcode soundUrl}, {@linkcode isQuiet}, {@linkcode isSilent},
 * {@linkcode needsAcknowledgement}.
 *
 * @module
 */

export { acknowledge } from "./lib/acknowledge.ts";
export {
  CREDENTIALS_FORMAT,
  parseCredentials,
  type SavedCredentials,
  stringifyCredentials,
} from "./lib/credentials.ts";
export { deleteThrough } from "./lib/delete_through.ts";
export { downloadMessages } from "./lib/download_messages.ts";
export { decryptMessage } from "./lib/e2ee.ts";
export {
  DecryptionError,
  type DecryptionFailure,
  LoginRequiredError,
  PushoverError,
  type PushoverErrorOptions,
  SessionReplacedError,
  TwoFactorRequiredError,
} from "./lib/errors.ts";
export { type Credentials, login } from "./lib/login.ts";
export { registerDevice } from "./lib/register_device.ts";
export {
  type AssetOptions,
  iconUrl,
  soundCode,
  soundName,
  SOUNDS,
  soundUrl,
  type SoundUrlOptions,
} from "./lib/assets.ts";
export { toPlainText } from "./lib/plain_text.ts";
export { isQuiet, isSilent, needsAcknowledgement } from "./lib/notify_rules.ts";
export { streamMessages } from "./lib/stream.ts";
export type {
  MessageStream,
  StreamOptions,
  StreamStatus,
  WebSocketConstructor,
  WebSocketLike,
} from "./lib/stream_types.ts";
export type {
  Device,
  DeviceInfo,
  DownloadOptions,
  Message,
  MessageBatch,
  RequestOptions,
  Session,
  UserInfo,
} from "./lib/types.ts";
