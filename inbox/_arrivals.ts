// How a batch is kept in `arrivals` until it is filed: as JSON, each run of
// messages with the same fields as one list of field names and a row of
// values per message. A download's messages share their fields, and the
// names were 40 % of the bytes of each message's own JSON: the commit the
// server's delete waits for writes and syncs that much less (10,000
// messages: 2.2 MB, not 3.6 MB; the accept 10-20 % sooner on Bun, where
// the write cost most; on Node packing costs what the smaller write saves).

import type { Message } from "../mod.ts";
import { isObject } from "../lib/_validate.ts";

/** A batch as `arrivals` keeps it: runs of messages with the same fields. */
interface Packed {
  groups: { keys: string[]; rows: unknown[][] }[];
}

/**
 * `messages` as one JSON text, each message as `JSON.stringify` would keep
 * it: its fields in their order, a value's `toJSON()` used, what JSON
 * leaves out of an object (undefined, a function, a symbol) left out.
 * {@linkcode unpackBatch} gives back each message as
 * `JSON.parse(JSON.stringify(message))` would.
 *
 * @param checkId Called with each message's `id_str` as it will be kept —
 *   not as a getter JSON leaves out shows it — and throws to refuse the
 *   batch: one that could never be filed would stop every later one.
 */
export function packBatch(
  messages: readonly Message[],
  checkId: (id: unknown) => void,
): string {
  const groups: Packed["groups"] = [];
  let last: Packed["groups"][number] | undefined;
  let idAt = -1;
  for (const message of messages) {
    const record = jsonRecord(message);
    const keys: string[] = [];
    const row: unknown[] = [];
    for (const key of Object.keys(record)) {
      let value = record[key]; // read once, as JSON reads it
      if (!isJsonAsItIs(value)) {
        // JSON's own reading of this one value: its toJSON(key) called
        // once, a String, Number or Boolean object unwrapped, what JSON
        // leaves out of an object left out, a BigInt refused unless it has
        // a toJSON().
        const kept = JSON.parse(JSON.stringify({ [key]: value }));
        if (!Object.hasOwn(kept, key)) continue;
        value = kept[key];
      }
      keys.push(key);
      row.push(value);
    }
    if (!last || !sameKeys(last.keys, keys)) {
      last = { keys, rows: [] };
      groups.push(last);
      idAt = keys.indexOf("id_str");
    }
    // Not row[-1] when it has none: a prototype could answer that.
    checkId(idAt < 0 ? undefined : row[idAt]);
    last.rows.push(row);
  }
  return JSON.stringify({ groups } satisfies Packed);
}

/**
 * The message's fields, or those of what JSON makes of it (its own
 * `toJSON()`, a wrapper object's value). What JSON does not make an object
 * of fields — null, a string, an array — has none: refused for its id, not
 * kept to fail when filed.
 */
function jsonRecord(message: Message): Record<string, unknown> {
  if (!isObject(message)) return {};
  if (isJsonAsItIs(message)) {
    return message as unknown as Record<string, unknown>;
  }
  const text = JSON.stringify(message);
  const value: unknown = text === undefined ? undefined : JSON.parse(text);
  return isObject(value) ? value : {};
}

/**
 * A value JSON keeps as it is: a string, a number, a boolean (JSON asks
 * none of them for a `toJSON()`), null, or an object of no wrapper class
 * and without a `toJSON()`.
 */
export function isJsonAsItIs(value: unknown): boolean {
  const type = typeof value;
  if (type === "string" || type === "number" || type === "boolean") {
    return true;
  }
  if (type !== "object") return false; // undefined, a function, a symbol, a BigInt
  return value === null || !(
    hasToJson(value as object) || value instanceof String ||
    value instanceof Number || value instanceof Boolean
  );
}

/** Whether an object has a `toJSON()`, its own or inherited. */
function hasToJson(value: object): boolean {
  return typeof (value as { toJSON?: unknown }).toJSON === "function";
}

/**
 * The messages of a batch {@linkcode packBatch} kept — or, written by a
 * version before it, a JSON array of the messages themselves.
 */
export function unpackBatch(text: string): Message[] {
  const parsed = JSON.parse(text) as Packed | Message[];
  if (Array.isArray(parsed)) return parsed;
  const messages: Message[] = [];
  for (const { keys, rows } of parsed.groups) {
    for (const row of rows) {
      // fromEntries defines each field: a field named "__proto__" stays a
      // field, as JSON.parse keeps it, and sets no prototype.
      messages.push(
        Object.fromEntries(keys.map((key, i) => [key, row[i]])) as Message,
      );
    }
  }
  return messages;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
