// How a batch is kept in `arrivals` until it is filed: as JSON, each run of
// messages with the same fields as one list of field names and a row of
// values per message. A download's messages share their fields, and the
// names were 40 % of the bytes of each message's own JSON: the commit the
// server's delete waits for writes and syncs that much less (10,000
// messages: 2.2 MB, not 3.6 MB; the accept 10-20 % sooner on Bun, where
// the write cost most; on Node packing costs what the smaller write saves).

import type { Message } from "../mod.ts";

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
    let row = Object.values(record);
    // The field names of a new run, or undefined: the same as the last.
    let keys: string[] | undefined;
    if (!row.every(keptAsItIs)) {
      // A value JSON turns into another (a toJSON()) or leaves out (undefined,
      // a function, a symbol): a rare message, in a run of its own.
      ({ keys, row } = jsonFields(record));
    } else if (!last || !hasKeys(record, last.keys)) {
      keys = Object.keys(record);
    }
    if (keys) {
      last = { keys, rows: [] };
      groups.push(last);
      idAt = keys.indexOf("id_str");
    }
    checkId(row[idAt]); // undefined when it has none
    last!.rows.push(row); // the first message always starts a run
  }
  return JSON.stringify({ groups } satisfies Packed);
}

/**
 * Whether a value is kept as it is in a row of `JSON.stringify` and in an
 * object alike: not one JSON turns into another or leaves out of an object.
 */
export function keptAsItIs(value: unknown): boolean {
  const type = typeof value;
  return type === "object"
    ? !hasToJson(value)
    : type !== "undefined" && type !== "function" && type !== "symbol";
}

/** The fields of `record` JSON keeps, and their values as JSON takes them. */
function jsonFields(
  record: Record<string, unknown>,
): { keys: string[]; row: unknown[] } {
  const keys: string[] = [];
  const row: unknown[] = [];
  for (const key of Object.keys(record)) {
    let value = record[key];
    if (hasToJson(value)) value = value.toJSON(key);
    const type = typeof value;
    if (type === "undefined" || type === "function" || type === "symbol") {
      continue;
    }
    keys.push(key);
    row.push(value);
  }
  return { keys, row };
}

/**
 * Whether `record`'s fields are `keys`, in their order — read without a
 * list of its own per message. `for…in` lists inherited fields after the
 * own ones, which JSON leaves out: such a record is never the same.
 */
function hasKeys(record: Record<string, unknown>, keys: string[]): boolean {
  let i = 0;
  for (const key in record) if (key !== keys[i++]) return false;
  return i === keys.length;
}

/** The message's fields, or those of what its own `toJSON()` makes of it. */
function jsonRecord(message: Message): Record<string, unknown> {
  if (!hasToJson(message)) return message as unknown as Record<string, unknown>;
  const text = JSON.stringify(message);
  const value: unknown = text === undefined ? undefined : JSON.parse(text);
  return typeof value === "object" && value !== null
    ? value as Record<string, unknown>
    : {}; // no fields: refused for its id
}

function hasToJson(value: unknown): value is { toJSON(key: string): unknown } {
  return typeof value === "object" && value !== null &&
    typeof (value as { toJSON?: unknown }).toJSON === "function";
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
