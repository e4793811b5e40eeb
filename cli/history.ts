// `history`: what the inbox keeps — the latest messages, a search, a time
// or id range, the dead letters — and, with --follow, what arrives next.

import type { HistoryQuery, Inbox, StoredMessage } from "../inbox/mod.ts";
import { sleep } from "../lib/_wakeup.ts";
import { type Context, defineCommand } from "./_command.ts";
import { EXIT, usage } from "./_fail.ts";
import { formatLine, oneLine, toJson } from "./_format.ts";
import { say } from "./_io.ts";
import { INBOX_FLAG, openExistingInbox, openInboxFile } from "./_inbox.ts";
import { parseCount, parseDuration, parsePriority } from "./_options.ts";
import { Output, OutputClosed } from "./_output.ts";
import { defaultInboxPath } from "./_paths.ts";

/** How often --follow looks for what another process added (ms). */
const FOLLOW_POLL = 250;

/** How many --follow reads at once: a large batch takes several reads. */
const FOLLOW_PAGE = 1_000;

interface HistoryOptions {
  inbox: string;
  query: HistoryQuery;
  failed: boolean;
  json: boolean;
  follow: boolean;
}

/** `history`. */
export const history = defineCommand({
  name: "history",
  usage: ["[--search TEXT] [--since WHEN] [--limit N] [--json] [--follow]"],
  about:
    `Shows the messages the inbox keeps (\`listen\` receives into it), oldest of
the page first: the latest 20 unless told otherwise. Ids are exact.

WHEN is a message id (digits), a duration ago (30s, 5m, 2h, 1d) or a date
(2026-12-05, 2026-12-05T08:00:00Z).`,
  flags: {
    search: {
      type: "string",
      value: "TEXT",
      help:
        "messages with every word of TEXT in the title, body, app or link text",
    },
    since: {
      type: "string",
      value: "WHEN",
      help: "from this id (after it), time or date on",
    },
    until: {
      type: "string",
      value: "WHEN",
      help: "up to this id (before it), time or date",
    },
    app: { type: "string", value: "NAME", help: "only from app NAME" },
    "min-priority": {
      type: "string",
      value: "N",
      help: "only priority N (-2 to 2) and above",
    },
    limit: {
      type: "string",
      value: "N",
      help: "at most N messages (default 20)",
    },
    failed: {
      type: "boolean",
      help:
        "the dead letters instead: messages a sink could not take, with why (`retry` hands them over again)",
    },
    json: {
      type: "boolean",
      help:
        "one JSON object per line: seq, device, received_at and the message (64-bit ids as strings)",
    },
    follow: {
      type: "boolean",
      help: "then print each message as it arrives, until Ctrl-C",
    },
    ...INBOX_FLAG,
  },
  options: ({ values }, env): HistoryOptions => ({
    inbox: values.inbox ?? defaultInboxPath(env),
    query: {
      ...(values.search === undefined ? {} : { text: values.search }),
      ...when(values.since, "--since", "since", "afterId"),
      ...when(values.until, "--until", "until", "beforeId"),
      ...(values.app === undefined ? {} : { app: values.app }),
      ...(values["min-priority"] === undefined ? {} : {
        minPriority: parsePriority(values["min-priority"], "--min-priority"),
      }),
      limit: values.limit === undefined
        ? 20
        : parseCount(values.limit, "--limit"),
    },
    failed: values.failed === true,
    json: values.json === true,
    follow: values.follow === true,
  }),
  run: show,
});

/** --since/--until: an id, a duration ago, or a date. */
function when(
  value: string | undefined,
  flag: string,
  time: "since" | "until",
  id: "afterId" | "beforeId",
): HistoryQuery {
  if (value === undefined) return {};
  if (/^\d{1,20}$/.test(value)) return { [id]: value };
  if (/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(value)) {
    return { [time]: Date.now() - parseDuration(value, flag) };
  }
  const date = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(date)) {
    throw usage(
      `${flag}: '${
        oneLine(value)
      }' is not a message id, a duration (2h) or a date (2026-12-05)`,
    );
  }
  return { [time]: date };
}

/** One stored message as `history` prints it. */
function line(stored: StoredMessage, json: boolean): string {
  if (!json) return formatLine(stored.message);
  return JSON.stringify({
    seq: stored.seq,
    device: stored.device,
    received_at: new Date(stored.receivedAt).toISOString(),
    ...(stored.acknowledgedAt === undefined
      ? {}
      : { acknowledged_at: new Date(stored.acknowledgedAt).toISOString() }),
    message: toJson(stored.message),
  });
}

async function show(
  options: HistoryOptions,
  { io, signal }: Context,
): Promise<number> {
  // Following waits for what a listener will receive, even into an inbox
  // it has not made yet; a look at history makes none.
  const inbox = options.follow
    ? await openInboxFile(options.inbox)
    : await openExistingInbox(options.inbox);
  if (!inbox) {
    say(io, `no inbox at ${options.inbox} yet: \`listen\` keeps one`);
    return EXIT.ok;
  }
  const output = new Output(io.stdout);
  try {
    if (options.failed) return await showFailed(inbox, options, output);
    // Read first: --follow goes on from here, whatever the page shows —
    // a message added while it is read is followed, not passed over.
    const upTo = inbox.latest();
    // The latest page, newest first from the inbox, printed oldest first.
    const page = inbox.history({ ...options.query, beforeSeq: upTo + 1 })
      .reverse();
    for (const stored of page) await output.line(line(stored, options.json));
    if (page.length === 0 && !options.json && !options.follow) {
      say(io, "no message in the inbox matches");
    }
    if (options.follow) await follow(inbox, options, output, signal, upTo);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof OutputClosed) return EXIT.ok;
    throw error;
  } finally {
    inbox.close();
  }
}

/** Prints what arrives after `last`, until stopped. */
async function follow(
  inbox: Inbox,
  options: HistoryOptions,
  output: Output,
  signal: AbortSignal,
  last: number,
): Promise<void> {
  let after = last;
  while (!signal.aborted) {
    // Read before the messages: what is added while they print is after
    // it, and waits for the next look rather than being passed over.
    const upTo = inbox.latest();
    let page: StoredMessage[];
    do {
      page = inbox.history({
        ...options.query,
        afterSeq: after,
        beforeSeq: upTo + 1,
        order: "oldest",
        limit: FOLLOW_PAGE,
      });
      for (const stored of page) {
        await output.line(line(stored, options.json), signal);
        after = stored.seq;
      }
    } while (page.length === FOLLOW_PAGE);
    // Filtered out or not: what was added up to there is looked at once.
    after = Math.max(after, upTo);
    await sleep(FOLLOW_POLL, signal);
  }
}

async function showFailed(
  inbox: Inbox,
  options: HistoryOptions,
  output: Output,
): Promise<number> {
  for (const dead of inbox.deadLetters()) {
    const stored = inbox.get(dead.seq);
    if (options.json) {
      await output.line(JSON.stringify({
        sink: dead.sink,
        seq: dead.seq,
        attempts: dead.attempts,
        error: dead.error,
        state: dead.state,
        message: stored && toJson(stored.message),
      }));
    } else {
      await output.line(
        `${dead.seq}  ${dead.sink}: ${oneLine(dead.error)} (${dead.attempts} ${
          dead.attempts === 1 ? "try" : "tries"
        }${dead.state === "retry" ? ", handed over again" : ""})  ${
          stored ? formatLine(stored.message) : ""
        }`,
      );
    }
  }
  return EXIT.ok;
}
