// How `listen` and `messages` show a message: one line, or JSON.

import { toPlainText } from "../mod.ts";
import type { Message } from "../mod.ts";

/** Local time as `YYYY-MM-DD HH:MM:SS`. */
export function localTime(seconds: number): string {
  const date = new Date(seconds * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${
    pad(date.getDate())
  } ${pad(date.getHours())}:${pad(date.getMinutes())}:${
    pad(date.getSeconds())
  }`;
}

/** One line: time, emergency mark, [app] title: text <url>. */
export function formatLine(message: Message): string {
  const time = localTime(message.date);
  const emergency = message.priority === 2 ? "EMERGENCY " : "";
  if (message.e2ee === "encrypted" || message.e2ee === "failed") {
    const why = message.e2ee === "encrypted"
      ? "set the key with --e2ee-key-file"
      : "the key does not decrypt it";
    return `${time} ${emergency}[${
      oneLine(message.app)
    }] (end-to-end encrypted: ${why})`;
  }
  const title = message.title ? ` ${oneLine(message.title)}:` : "";
  const text = oneLine(toPlainText(message));
  const url = message.url ? `  <${oneLine(message.url)}>` : "";
  return `${time} ${emergency}[${oneLine(message.app)}]${title} ${text}${url}`;
}

/**
 * Text on one line, safe for a terminal, a file or a unit: line breaks and
 * every other control character (a sender's or a server's escape sequences,
 * C1's CSI included) become spaces. Anything not a string — a server's
 * number where a title belongs — is shown as its JSON, never thrown on.
 */
export function oneLine(text: unknown): string {
  const string = typeof text === "string"
    ? text
    : text === undefined || text === null
    ? ""
    : JSON.stringify(text) ?? String(text);
  // Control characters would move the cursor or ring a bell on a terminal.
  return string.replace(LINE_BREAKS, " ").replace(CONTROL, " ");
}

/**
 * What a message is called, on one line: its title, else its app, else
 * "Pushover" — never blank, as a sender's empty title may be: notify-send
 * refuses an empty summary, which turned desktop notifications off.
 */
export function headline(message: Message): string {
  return [message.title, message.app]
    .map((text) => oneLine(text).trim())
    .find((text) => text !== "") ?? "Pushover";
}

const LINE_BREAKS = /\s*[\n\r\u2028\u2029]\s*/g;
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Fields whose numbers lose digits beyond 2^53: only their exact strings. */
const EXACT = ["id", "umid", "aid", "subscription"] as const;

/**
 * The message as a JSON object for `--json`, hooks and webhooks: 64-bit ids
 * (`id`, `umid`, `aid`, `subscription`) only as exact strings, under their
 * own names; every other field as it came, `e2ee` included.
 */
export function toJson(message: Message): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message)) {
    const base = key.endsWith("_str") ? key.slice(0, -4) : undefined;
    if (base && (EXACT as readonly string[]).includes(base)) continue;
    out[key] = (EXACT as readonly string[]).includes(key)
      ? message[`${key}_str`] ?? String(value)
      : value;
  }
  return out;
}
