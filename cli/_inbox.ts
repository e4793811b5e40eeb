// The command line's inbox: where it is, and opening it only when it is
// there (reading must not leave an empty inbox behind).

import { stat } from "node:fs/promises";
import type { Inbox } from "../inbox/mod.ts";
import type { Flags } from "./_command.ts";
import { defaultInboxPath } from "./_paths.ts";

/** The inbox flag of every command that reads or writes it. */
export const INBOX_FLAG = {
  inbox: {
    type: "string",
    value: "PATH",
    help: (env) => `the inbox (default\u00a0${defaultInboxPath(env)})`,
  },
} as const satisfies Flags;

/**
 * Opens the inbox to receive into, made if missing. Loaded on use: a
 * command that never touches the inbox never loads node:sqlite.
 */
export async function openInboxFile(path: string): Promise<Inbox> {
  const { openInbox } = await import("../inbox/mod.ts");
  return await openInbox(path);
}

/** The inbox at `path`, or undefined when there is none yet. */
export async function openExistingInbox(
  path: string,
): Promise<Inbox | undefined> {
  try {
    await stat(path);
  } catch {
    return undefined;
  }
  return await openInboxFile(path);
}
