// Turns the text of a messages.json answer into a MessageBatch with exact
// 64-bit ids, whatever era of server sent it.

import type { Message, MessageBatch } from "./types.ts";
import { isObject } from "./_validate.ts";

const BIG_FIELDS = ["id", "umid", "aid"] as const;

/** Quotes the integers of `"id"`, `"umid"`, `"aid"` so JSON.parse keeps every digit. */
const BIG_INTEGER = /("(?:id|umid|aid)"\s*:\s*)(-?\d+)(?=\s*[,}\]])/g;

/**
 * Parses the body. Modern servers send `id_str` & co, so the fast path is one
 * JSON.parse; older answers without the twins are parsed a second time with
 * the integers quoted, because a double would round ids above 2^53.
 */
export function parseBatchText(text: string): unknown {
  const body = JSON.parse(text);
  if (!hasMessages(body) || body.messages.every(hasAllTwins)) return body;
  const exact = JSON.parse(text.replace(BIG_INTEGER, '$1"$2"'));
  if (hasMessages(exact)) {
    for (const message of exact.messages) {
      if (typeof message !== "object" || message === null) continue;
      for (const field of BIG_FIELDS) {
        const digits = message[field];
        if (typeof digits !== "string") continue;
        message[field] = Number(digits);
        message[`${field}_str`] ??= digits;
      }
    }
  }
  return exact;
}

/**
 * Checks the shape the library relies on and returns the batch in ascending
 * id order, or the name of what is wrong.
 */
export function toBatch(body: Record<string, unknown>): MessageBatch | string {
  if (!Array.isArray(body.messages)) return "has no 'messages' list";
  const messages = body.messages as Message[];
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index];
    if (!isObject(message)) {
      return `has a message (at ${index}) that is not an object`;
    }
    if (typeof message.id_str !== "string" || !/^\d+$/.test(message.id_str)) {
      return `has a message (at ${index}) without a valid 'id'`;
    }
  }
  if (!isAscending(messages)) messages.sort(compareIds);
  const batch: MessageBatch = { messages };
  if (isObject(body.user)) batch.user = body.user;
  if (isObject(body.device)) batch.device = body.device;
  return batch;
}

/** Compares two decimal id strings as numbers, without BigInt or doubles. */
export function compareIdStrings(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, "");
  const y = b.replace(/^0+(?=\d)/, "");
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

function compareIds(a: Message, b: Message): number {
  return compareIdStrings(a.id_str, b.id_str);
}

function isAscending(messages: Message[]): boolean {
  for (let i = 1; i < messages.length; i++) {
    if (compareIds(messages[i - 1], messages[i]) > 0) return false;
  }
  return true;
}

function hasMessages(
  body: unknown,
): body is { messages: Record<string, unknown>[] } {
  return isObject(body) && Array.isArray(body.messages);
}

function hasAllTwins(message: unknown): boolean {
  if (!isObject(message)) return true;
  return BIG_FIELDS.every((f) =>
    !(f in message) || typeof message[`${f}_str`] === "string"
  );
}
