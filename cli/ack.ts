// `ack RECEIPT` / `ack --all`: acknowledge emergencies from the command line.

import { acknowledge, LoginRequiredError, PushoverError } from "../mod.ts";
import { defineCommand } from "./_command.ts";
import { EXIT, usage } from "./_fail.ts";
import { say } from "./_io.ts";
import { readCredentials } from "./_files.ts";
import { API_FLAG, CONFIG_FLAG, endpoints } from "./_options.ts";
import { headline, oneLine } from "./_format.ts";
import { pendingEmergencies, queueOptions } from "./messages.ts";
import { INBOX_FLAG, openExistingInbox } from "./_inbox.ts";
import { defaultInboxPath } from "./_paths.ts";

/** `ack`. */
export const ack = defineCommand({
  name: "ack",
  usage: ["RECEIPT", "--all"],
  about:
    `Acknowledges emergency messages, so the sender's retries stop. RECEIPT is
the one \`pending\` (or \`listen --json\`) shows; --all acknowledges every
emergency still queued for this device.`,
  flags: {
    all: {
      type: "boolean",
      help: "every emergency waiting for acknowledgement",
    },
    ...CONFIG_FLAG,
    ...API_FLAG,
    ...INBOX_FLAG,
  },
  positionals: 1,
  options({ values, positionals }, env) {
    const receipt = positionals[0];
    if ((values.all === true) === (receipt !== undefined)) {
      throw usage("ack: give a RECEIPT or --all (one of them); see ack --help");
    }
    if (receipt !== undefined && !/^[A-Za-z0-9]+$/.test(receipt)) {
      throw usage(
        `ack: '${
          oneLine(receipt)
        }' is not a receipt (letters and digits); see pushover-open-client pending`,
      );
    }
    return {
      ...queueOptions(values, env),
      inbox: values.inbox ?? defaultInboxPath(env),
      receipt,
    };
  },
  async run(options, { io, net }) {
    const { receipt } = options;
    if (receipt !== undefined) {
      const saved = await readCredentials(options.config, options.configFlag);
      const inbox = await openExistingInbox(options.inbox);
      try {
        await acknowledge(saved.device, receipt, {
          ...endpoints(options.urls, saved),
          ...net,
        }).catch((error) => {
          // Refused for good: it waits for nothing here either.
          if (refusedForGood(error)) inbox?.acknowledged(receipt);
          throw error;
        });
        inbox?.acknowledged(receipt);
      } finally {
        inbox?.close();
      }
      say(io, `acknowledged ${receipt}`);
      return EXIT.ok;
    }
    const pending = await pendingEmergencies(options, net);
    let refused = 0;
    try {
      for (const message of pending.messages) {
        const name = `"${headline(message)}" (${message.receipt})`;
        try {
          await acknowledge(pending.device.device, message, pending.api);
        } catch (error) {
          // One receipt the server will not take (expired, acknowledged
          // elsewhere) holds back none of the others; anything else
          // (offline, logged out) stops here, the rest still pending.
          if (!refusedForGood(error)) throw error;
          refused++;
          pending.acknowledged(message);
          say(
            io,
            `could not acknowledge ${name}: ${
              (error as Error).message
            }; no longer listed as pending`,
          );
          continue;
        }
        pending.acknowledged(message);
        say(io, `acknowledged ${name}`);
      }
      if (pending.messages.length === 0) {
        say(io, "no emergency waits for acknowledgement");
      }
    } finally {
      pending.close();
    }
    return refused > 0 ? EXIT.error : EXIT.ok;
  },
});

/**
 * The server answered, and will not take this receipt whatever is tried
 * again (expired, unknown, acknowledged elsewhere) — not a lost connection,
 * a rate limit or a device that must log in again.
 */
function refusedForGood(error: unknown): boolean {
  return error instanceof PushoverError && !error.transient &&
    !(error instanceof LoginRequiredError);
}
