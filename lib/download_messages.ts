import { prepareCall, unexpectedAnswer } from "./_http.ts";
import { createDecryptor, decryptAll, markEncrypted } from "./e2ee.ts";
import { parseBatchText, toBatch } from "./_parse_batch.ts";
import { requireDevice } from "./_validate.ts";
import type {
  Device,
  DownloadOptions,
  MessageBatch,
  RequestOptions,
} from "./types.ts";

const ACTION = "download messages";

/**
 * Downloads every message queued for the device (`GET messages.json`), in
 * ascending id order, with the account's and the device's settings.
 *
 * Downloading does not remove anything: the same messages come back until
 * {@linkcode deleteThrough} deletes them. Do that only once they are safely
 * handled, so a crash re-delivers rather than loses.
 *
 * With `encryptionKey` (the user's end-to-end key, 64 hexadecimal
 * characters), end-to-end encrypted messages come decrypted
 * (`e2ee: "decrypted"`); one that cannot be decrypted comes as it came,
 * marked `e2ee: "failed"`, never dropped. Without it, messages the server
 * marks encrypted are marked `e2ee: "encrypted"`.
 *
 * @param device The registered device.
 * @param options Where and how to send the request; the end-to-end key.
 * @returns The queued messages, plus `user` and `device` info when sent.
 * @throws {RangeError} `encryptionKey` is not 64 hexadecimal characters (before any request).
 * @throws {LoginRequiredError} The server rejected the secret or the device.
 * @throws {PushoverError} The server failed, answered something unreadable, or could not be reached.
 *
 * @example Handle everything queued, then delete it
 * ```ts
 * import { deleteThrough, downloadMessages } from "@openpush/pushover-open-client";
 * import type { Device } from "@openpush/pushover-open-client";
 *
 * async function drain(device: Device): Promise<void> {
 *   const { messages } = await downloadMessages(device);
 *   for (const message of messages) {
 *     console.log(message.title ?? message.app, message.message);
 *   }
 *   const last = messages.at(-1);
 *   if (last) await deleteThrough(device, last);
 * }
 * ```
 */
export async function downloadMessages(
  device: Device,
  options: DownloadOptions = {},
): Promise<MessageBatch> {
  const decryptor = options.encryptionKey === undefined
    ? undefined
    : createDecryptor(options.encryptionKey, ACTION, "encryptionKey");
  const download = prepareDownload(device, options);
  let batch: MessageBatch;
  try {
    batch = await download.send(options.signal);
  } finally {
    download.dispose();
  }
  if (decryptor) batch.messages = await decryptAll(batch.messages, decryptor);
  return batch;
}

/**
 * The download checked and built once, for a caller that downloads the same
 * device's queue again and again (the stream, on every `!`); encrypted
 * messages come marked `e2ee: "encrypted"`, none decrypted.
 */
export function prepareDownload(
  device: Device,
  options: RequestOptions,
): PreparedDownload {
  const { secret, deviceId } = requireDevice(device, ACTION);
  const call = prepareCall({
    action: ACTION,
    method: "GET",
    path: "messages.json",
    params: { secret, device_id: deviceId },
    secrets: [secret],
    authParams: ["secret", "device", "device_id"],
    parse: parseBatchText,
  }, options);
  return {
    async send(signal) {
      const body = await call.send(signal);
      const batch = toBatch(body);
      if (typeof batch === "string") {
        throw unexpectedAnswer(ACTION, body, [secret], batch);
      }
      batch.messages = markEncrypted(batch.messages);
      return batch;
    },
    dispose: () => call.dispose(),
  };
}

/** A download prepared once and sent again and again. */
export interface PreparedDownload {
  /** Downloads the queue; `signal` aborts this one request. */
  send(signal?: AbortSignal): Promise<MessageBatch>;
  /** Drops the timeouts' timer: the download is not sent again. */
  dispose(): void;
}
