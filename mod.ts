/**
 * Receive Pushover notifications in your own program, on Deno, Bun, Node and
 * Cloudflare Workers, with nothing but the platform's `fetch` and `WebSocket`.
 *
 * The Open Client API lets a program log in, register itself as a device,
 * download and delete its messages and acknowledge emergency alerts. The flow
 * is: log in once, register once, store the device, then download and delete
 * whenever the server says something new is waiting.
 *
 * ```ts
 * import {
 *   deleteThrough,
 *   downloadMessages,
 *   login,
 *   registerDevice,
 * } from "@openpush/pushover-open-client";
 * import type { Device } from "@openpush/pushover-open-client";
 *
 * // First run: log in, register, keep `device` (JSON) instead of the password.
 * async function setUp(email: string, password: string): Promise<Device> {
 *   const session = await login({ email, password });
 *   return await registerDevice(session, "my-desktop");
 * }
 *
 * // Every sync: handle what is queued, then delete it on the server.
 * async function sync(device: Device): Promise<void> {
 *   const { messages } = await downloadMessages(device);
 *   for (const message of messages) {
 *     console.log(`${message.title ?? message.app}: ${message.message}`);
 *   }
 *   const last = messages.at(-1);
 *   if (last) await deleteThrough(device, last);
 * }
 * ```
 *
 * Every call takes {@linkcode RequestOptions}: `apiUrl`, `fetch`, `signal`,
 * `timeout`. Failures are {@linkcode PushoverError}s, never showing a secret.
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
export {
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
  Message,
  MessageBatch,
  RequestOptions,
  Session,
  UserInfo,
} from "./lib/types.ts";
