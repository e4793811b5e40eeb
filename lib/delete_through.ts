import { prepareCall } from "./_http.ts";

import { describe, requireDevice } from "./_validate.ts";
import type { Device, Message, RequestOptions } from "./types.ts";

const ACTION = "delete messages";

/**
 * Deletes from the server every queued message whose id is less than or equal
 * to `through` (`POST devices/{id}/update_highest_message.json`). Call it with
 * the last message you have safely handled.
 *
 * The id is sent from `id_str`, digit for digit: ids exceed 2^53, where a
 * JavaScript number would round to a neighbour and delete the wrong messages.
 *
 * @param device The registered device.
 * @param through The last handled message, or its id as a decimal string or a safe integer.
 * @param options Where and how to send the request.
 * @throws {TypeError} `through` is not a message, a decimal string or a safe integer (before any request).
 * @throws {LoginRequiredError} The server rejected the secret or the device.
 * @throws {PushoverError} The server failed or could not be reached.
 *
 * @example Delete what was handled, by message or by id
 * ```ts
 * import { deleteThrough, downloadMessages } from "@openpush/pushover-open-client";
 * import type { Device } from "@openpush/pushover-open-client";
 *
 * async function acknowledgeBatch(device: Device): Promise<number> {
 *   const { messages } = await downloadMessages(device);
 *   const last = messages.at(-1);
 *   if (last) await deleteThrough(device, last); // same as deleteThrough(device, last.id_str)
 *   return messages.length;
 * }
 * ```
 */
export async function deleteThrough(
  device: Device,
  through: Message | string | number,
  options: RequestOptions = {},
): Promise<void> {
  const checked = requireDevice(device, ACTION);
  const id = messageIdOf(through, ACTION);
  const remove = prepareDelete(checked, options);
  try {
    await remove.send(id, options.signal);
  } finally {
    remove.dispose();
  }
}

/** Deletes of one device's messages, prepared once and sent again and again. */
export interface PreparedDelete {
  /** Deletes through the message with this id (decimal digits). */
  send(id: string, signal?: AbortSignal): Promise<void>;
  /** Drops the timeouts' timer: no delete is sent again. */
  dispose(): void;
}

/** The deletes the stream makes, checked and built once. */
export function prepareDelete(
  device: Device,
  options: RequestOptions,
): PreparedDelete {
  const { secret, deviceId } = requireDevice(device, ACTION);
  const call = prepareCall({
    action: ACTION,
    method: "POST",
    path: `devices/${encodeURIComponent(deviceId)}/update_highest_message.json`,
    params: { secret },
    secrets: [secret],
    authParams: ["secret", "device", "device_id"],
  }, options);
  return {
    send: async (id, signal) => void await call.send(signal, { message: id }),
    dispose: () => call.dispose(),
  };
}

/** The exact decimal id of a message, an id string or a safe integer. */
function messageIdOf(through: unknown, action: string): string {
  if (
    typeof through === "number" && Number.isSafeInteger(through) && through >= 0
  ) {
    return String(through);
  }
  const id = typeof through === "object" && through !== null
    ? (through as { id_str?: unknown }).id_str
    : through;
  if (typeof id === "string" && /^\d+$/.test(id)) return id;
  throw new TypeError(
    `Cannot ${action}: 'through' must be a message, a decimal id string or a safe integer: current value is ${
      typeof through === "object" && through !== null
        ? `an object with id_str ${describe(id)}`
        : describe(through)
    }`,
  );
}
