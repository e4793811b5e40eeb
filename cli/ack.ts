// `ack RECEIPT` / `ack --all`: acknowledge emergencies from the command line.

import { acknowledge, needsAcknowledgement } from "../mod.ts";
import { EXIT, usage } from "./_fail.ts";
import { type Io, print, say } from "./_io.ts";
import { readCredentials } from "./_files.ts";
import { COMMON, configPath, endpoints, parse } from "./_options.ts";
import { oneLine } from "./_format.ts";
import { queued } from "./messages.ts";

export const help = `Usage: pushover-open-client ack RECEIPT
       pushover-open-client ack --all

Acknowledges emergency messages, so the sender's retries stop. RECEIPT is
the one \`pending\` (or \`listen --json\`) shows; --all acknowledges every
emergency still queued for this device.

Options:
  --all                 every emergency waiting for acknowledgement
  --config PATH         the credentials file
  --api-url URL         REST API base (default: as saved at login)
  --help                this text`;

const OPTIONS = { ...COMMON, all: { type: "boolean" } } as const;

/** Runs `ack`. */
export async function run(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse("ack", args, OPTIONS, 1);
  if (values.help) {
    print(io, help);
    return EXIT.ok;
  }
  const receipt = positionals[0];
  if ((values.all === true) === (receipt !== undefined)) {
    throw usage("ack: give a RECEIPT or --all (one of them); see ack --help");
  }
  if (receipt !== undefined) {
    if (!/^[A-Za-z0-9]+$/.test(receipt)) {
      throw usage(
        `ack: '${receipt}' is not a receipt (letters and digits); see pushover-open-client pending`,
      );
    }
    const saved = await readCredentials(
      configPath(values, io.env),
      values.config,
    );
    await acknowledge(saved.device, receipt, endpoints(values, saved));
    say(io, `acknowledged ${receipt}`);
    return EXIT.ok;
  }
  const { messages, device, api } = await queued(values, io.env);
  const pending = messages.filter(needsAcknowledgement);
  for (const message of pending) {
    await acknowledge(device.device, message, api);
    say(
      io,
      `acknowledged "${
        oneLine(String(message.title ?? message.app))
      }" (${message.receipt})`,
    );
  }
  if (pending.length === 0) {
    say(io, "no emergency waits for acknowledgement");
  }
  return EXIT.ok;
}
