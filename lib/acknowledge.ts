import { callApi } from "./_http.ts";
import { describe, requireSecret } from "./_validate.ts";
import type { Message, RequestOptions } from "./types.ts";

/**
 * Acknowledges an emergency (priority 2) message for the user, which stops
 * its retries on every device (`POST receipts/{receipt}/acknowledge.json`).
 * Call it only when the person has acknowledged — never automatically.
 *
 * A message whose `acked` is already 1 is not acknowledged again: the promise
 * resolves without a request.
 *
 * @param auth The session or device (only `secret` is used).
 * @param receipt The message, or its 30-character receipt.
 * @param options Where and how to send the request.
 * @throws {TypeError} No receipt: the message is not an emergency one, or the string is malformed (before any request).
 * @throws {LoginRequiredError} The server rejected the secret.
 * @throws {PushoverError} The receipt is unknown or expired, or the server could not be reached.
 *
 * @example Acknowledge when the user clicks
 * ```ts
 * import { acknowledge } from "@openpush/pushover-open-client";
 * import type { Device, Message } from "@openpush/pushover-open-client";
 *
 * async function onAcknowledgeClicked(device: Device, message: Message): Promise<void> {
 *   if (message.priority === 2 && message.acked === 0) {
 *     await acknowledge(device, message);
 *   }
 * }
 * ```
 */
export async function acknowledge(
  auth: { secret: string },
  receipt: Message | string,
  options: RequestOptions = {},
): Promise<void> {
  const action = "acknowledge the message";
  const secret = requireSecret(auth, "auth", action);
  const value = receiptOf(receipt, action);
  if (value === undefined) return;
  await callApi({
    action,
    method: "POST",
    path: `receipts/${value}/acknowledge.json`,
    params: { secret },
    secrets: [secret],
    authParams: ["secret"],
  }, options);
}

/** The receipt to send, or undefined for a message that is already acked. */
function receiptOf(receipt: unknown, action: string): string | undefined {
  const isMessage = typeof receipt === "object" && receipt !== null;
  const message = isMessage ? receipt as Partial<Message> : undefined;
  const value = message ? message.receipt : receipt;
  if (typeof value === "string" && /^[A-Za-z0-9]+$/.test(value)) {
    return message?.acked === 1 ? undefined : value;
  }
  throw new TypeError(
    message
      ? `Cannot ${action}: 'receipt' is a message without a receipt (priority ${
        describe(message.priority)
      }); only emergency messages can be acknowledged`
      : `Cannot ${action}: 'receipt' must be a message or a receipt of letters and digits: current value is ${
        describe(receipt)
      }`,
  );
}
