// `messages` and `pending`: what is queued, without deleting anything.

import { downloadMessages, needsAcknowledgement } from "../mod.ts";
import type { Message } from "../mod.ts";
import { defineCommand, type Env, type Net } from "./_command.ts";
import { EXIT } from "./_fail.ts";
import { type Io, say } from "./_io.ts";
import { INBOX_FLAG, openExistingInbox } from "./_inbox.ts";
import { defaultInboxPath } from "./_paths.ts";
import { loadKey, readCredentials } from "./_files.ts";
import { formatLine, toJson } from "./_format.ts";
import {
  API_FLAG,
  CONFIG_FLAG,
  configPath,
  type Endpoints,
  endpoints,
  urlFlags,
} from "./_options.ts";
import { Output, OutputClosed } from "./_output.ts";

/** Where the queue is: the credentials file and the URL flags. */
export interface QueueOptions {
  /** The credentials file. */
  config: string;
  /** `--config` as given, for hints. */
  configFlag: string | undefined;
  urls: Endpoints;
}

/** The queue's options from `--config` and `--api-url`. */
export function queueOptions(
  values: { config?: string; "api-url"?: string },
  env: Env,
): QueueOptions {
  return {
    config: configPath(values, env),
    configFlag: values.config,
    urls: urlFlags(values),
  };
}

/** The queue, decrypted when a key is saved. */
export async function queued(
  options: QueueOptions,
  net: Net,
): Promise<
  {
    messages: Message[];
    device: Awaited<ReturnType<typeof readCredentials>>;
    api: Endpoints & Net;
  }
> {
  const saved = await readCredentials(options.config, options.configFlag);
  const api = { ...endpoints(options.urls, saved), ...net };
  const encryptionKey = await loadKey(undefined, options.config);
  const { messages } = await downloadMessages(saved.device, {
    ...api,
    encryptionKey,
  });
  return { messages, device: saved, api };
}

const FLAGS = {
  json: {
    type: "boolean",
    help: "one JSON object per line (64-bit ids as strings)",
  },
  ...CONFIG_FLAG,
  ...API_FLAG,
} as const;

/**
 * How long an emergency can wait for acknowledgement: Pushover retries it
 * for at most 3 hours (`expire` ≤ 10800 s); after that its receipt is done.
 */
const EMERGENCY_LIFETIME = 3 * 3_600_000;

/**
 * The emergencies waiting for acknowledgement: those the inbox kept (a
 * listener received and deleted them) and those still queued, each once.
 */
export async function pendingEmergencies(
  options: QueueOptions & { inbox: string },
  net: Net,
): Promise<
  {
    messages: Message[];
    device: Awaited<ReturnType<typeof readCredentials>>;
    api: Endpoints & Net;
    /** Marks it acknowledged in the inbox too. */
    acknowledged(message: Message): void;
    close(): void;
  }
> {
  const { messages, device, api } = await queued(options, net);
  const inbox = await openExistingInbox(options.inbox);
  const kept = inbox
    ? inbox.pending(device.device.deviceId)
      // By when it arrived here, on this machine's clock: the sender's
      // `date` is any timestamp it chose, and the server's clock may differ.
      .filter((stored) => stored.receivedAt >= Date.now() - EMERGENCY_LIFETIME)
      .map((stored) => stored.message)
    : [];
  const receipts = new Set(kept.map((m) => m.receipt));
  return {
    messages: [
      ...kept,
      ...messages.filter((m) =>
        needsAcknowledgement(m) && !receipts.has(m.receipt)
      ),
    ],
    device,
    api,
    acknowledged: (message) => {
      if (message.receipt) inbox?.acknowledged(message.receipt);
    },
    close: () => inbox?.close(),
  };
}

/** `messages`: the queue as it is. */
export const messages = defineCommand({
  name: "messages",
  usage: ["[--json] [--config PATH]"],
  about:
    "Lists the messages queued on the server for this device, oldest first.\nNothing is deleted: `listen` still delivers them.",
  flags: FLAGS,
  options: ({ values }, env) => ({
    ...queueOptions(values, env),
    json: values.json === true,
  }),
  async run(options, { io, net }) {
    const { messages } = await queued(options, net);
    return await print(messages, options.json, io, "messages");
  },
});

/** `pending`: the emergencies kept in the inbox or still queued. */
export const pending = defineCommand({
  name: "pending",
  usage: ["[--json] [--config PATH]"],
  about:
    `Lists the emergency messages not acknowledged yet, with their receipts:
those the inbox keeps (from the last 3 hours: Pushover gives up on an
emergency after that) and those still queued on the server. Acknowledge them
with \`pushover-open-client ack RECEIPT\` or \`ack --all\`.`,
  flags: { ...FLAGS, ...INBOX_FLAG },
  options: ({ values }, env) => ({
    ...queueOptions(values, env),
    inbox: values.inbox ?? defaultInboxPath(env),
    json: values.json === true,
  }),
  async run(options, { io, net }) {
    const pending = await pendingEmergencies(options, net);
    try {
      return await print(pending.messages, options.json, io, "pending");
    } finally {
      pending.close();
    }
  },
});

/** Prints messages one a line (or JSON); says so when there is none. */
async function print(
  shown: Message[],
  json: boolean,
  io: Io,
  name: "messages" | "pending",
): Promise<number> {
  const output = new Output(io.stdout);
  try {
    for (const message of shown) {
      await output.line(
        json
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
  if (shown.length === 0 && !json) {
    say(
      io,
      name === "messages"
        ? "no messages are queued"
        : "no emergency waits for acknowledgement",
    );
  }
  return EXIT.ok;
}
