import type { Message, UserInfo } from "./types.ts";

/**
 * Whether a message is an emergency (priority 2) still waiting for the user to
 * acknowledge it: keep alerting until they do, then call
 * {@linkcode acknowledge}. False once `acked` is 1, and for a message without
 * a receipt, which cannot be acknowledged.
 *
 * @param message The message, or just its `priority`, `acked` and `receipt`.
 * @returns True when the user should be asked to acknowledge the message.
 *
 * @example Keep alerting until the emergency is acknowledged
 * ```ts
 * import { needsAcknowledgement } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * const receipt = "r8a4c2b1d9e7f3a6b5c4d2e1f0a9b8";
 * assert.equal(needsAcknowledgement({ priority: 2, acked: 0, receipt }), true);
 * assert.equal(needsAcknowledgement({ priority: 2, acked: 1, receipt }), false);
 * assert.equal(needsAcknowledgement({ priority: 1, acked: 0 }), false);
 * ```
 */
export function needsAcknowledgement(
  message: Pick<Message, "priority" | "acked" | "receipt">,
): boolean {
  const { priority, acked, receipt } = message;
  return priority === 2 && acked !== 1 && typeof receipt === "string" &&
    receipt !== "";
}

/**
 * Whether a message is of the lowest priority (−2): store and list it, but
 * raise no notification at all.
 *
 * @param message The message, or just its `priority`.
 * @returns True when the message must not notify.
 *
 * @example Store silently
 * ```ts
 * import { isSilent } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isSilent({ priority: -2 }), true);
 * assert.equal(isSilent({ priority: -1 }), false);
 * ```
 */
export function isSilent(message: Pick<Message, "priority">): boolean {
  return message.priority === -2;
}

/**
 * Whether a message should notify without sound or vibration: low priority
 * (−1), or normal priority (0) while the user is in quiet hours. High and
 * emergency messages (1, 2) are never quiet; silent ones (−2, see
 * {@linkcode isSilent}) do not notify at all, so they are not quiet either.
 *
 * @param message The message, or just its `priority`.
 * @param user The `user` facts of the download that brought the message;
 *   without them quiet hours are taken as off.
 * @returns True when the notification should make no sound.
 *
 * @example Mute normal messages during quiet hours
 * ```ts
 * import { isQuiet } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isQuiet({ priority: -1 }), true);
 * assert.equal(isQuiet({ priority: 0 }), false);
 * assert.equal(isQuiet({ priority: 0 }, { quiet_hours: true }), true);
 * assert.equal(isQuiet({ priority: 1 }, { quiet_hours: true }), false);
 * ```
 */
export function isQuiet(
  message: Pick<Message, "priority">,
  user?: Pick<UserInfo, "quiet_hours">,
): boolean {
  const { priority } = message;
  return priority === -1 || (priority === 0 && user?.quiet_hours === true);
}
