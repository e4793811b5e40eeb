// `messages` and `pending`: what is queued, without deleting anything.

import { downloadMessages, needsAcknowledgement } from "../mod.ts";
import type { Message } from "../mod.ts";
import { EXIT } from "./_fail.ts";
import { type Io, print, say } from "./_io.ts";
import { loadKey, readCredentials } from "./_files.ts";
import { formatLine, toJson } from "./_format.ts";
import { COMMON, configPath, endpoints, parse } from "./_options.ts";
import { Output, OutputClosed } from "./_output.ts";

const OPTIONS = { ...COMMON, json: { type: "boolean" } } as const;

const usageLine = (name: string, what: string) =>
  `Usage: pushover-open-client ${name} [--json] [--config PATH]

${what} Nothing is deleted: \`listen\` still delivers them.

Options:
  --json                one JSON object per line (64-bit ids as strings)
  --config PATH         the credentials file
  --api-url URL         REST API base (default: as saved at login)
  --help                this text`;

export const help = usageLine(
  "messages",
  "Lists the messages queued on the server for this device, oldest first.",
);
export const pendingHelp = usageLine(
  "pending",
  "Lists the emergency messages not acknowledged yet, with their receipts\n(acknowledge with `pushover-open-client ack RECEIPT` or `ack --all`).",
);

/** The queue, decrypted when a key is saved. */
export async function queued(
  values: { config?: string; "api-url"?: string },
  env: Io["env"],
): Promise<
  {
    messages: Message[];
    device: Awaited<ReturnType<typeof readCredentials>>;
    api: ReturnType<typeof endpoints>;
  }
> {
  const path = configPath(values, env);
  const saved = await readCredentials(path, values.config);
  const api = endpoints(values, saved);
  const encryptionKey = await loadKey(undefined, path);
  const { messages } = await downloadMessages(saved.device, {
    ...api,
    encryptionKey,
  });
  return { messages, device: saved, api };
}

async function list(
  name: "messages" | "pending",
  args: string[],
  io: Io,
): Promise<number> {
  const { values } = parse(name, args, OPTIONS);
  if (values.help) {
    print(io, name === "messages" ? help : pendingHelp);
    return EXIT.ok;
  }
  const { messages } = await queued(values, io.env);
  const shown = name === "messages"
    ? messages
    : messages.filter(needsAcknowledgement);
  const output = new Output(io.stdout);
  try {
    for (const message of shown) {
      await output.line(
        values.json
          ? JSON.stringify(toJson(message))
          : name === "pending"
          ? `${message.receipt}  ${formatLine(message)}`
          : formatLine(message),
      );
    }
  } catch (error) {
    if (error instanceof OutputClosed) return EXIT.ok;
    throw error;
  }
  if (shown.length === 0 && !values.json) {
    say(
      io,
      name === "messages"
        ? "no messages are queued"
        : "no emergency waits for acknowledgement",
    );
  }
  return EXIT.ok;
}

/** Runs `messages`. */
export const run = (args: string[], io: Io) => list("messages", args, io);
/** Runs `pending`. */
export const runPending = (args: string[], io: Io) => list("pending", args, io);
