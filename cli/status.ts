// `status`: what the listener's status file says; the exit code says
// whether a listener is connected (0) or not (1), for scripts and monitors.

import { defineCommand } from "./_command.ts";
import { EXIT } from "./_fail.ts";
import { oneLine } from "./_format.ts";
import { type Io, print } from "./_io.ts";
import { defaultInboxPath, defaultStatusPath } from "./_paths.ts";
import { INBOX_FLAG, openExistingInbox } from "./_inbox.ts";
import type { InboxStats } from "../inbox/mod.ts";
import { isRunning, type ListenerStatus, readStatus } from "./_status_file.ts";

/** `status`. */
export const status = defineCommand({
  name: "status",
  usage: ["[--status-file PATH] [--json]", "--devices FILE [--json]"],
  about:
    `Reads the status file \`listen\` keeps and says whether the listener runs and
is connected, since when, when the last message came and the last problem
(and whether the listener connected again since).
Exit code 0 when a listener is connected, 1 otherwise. With --devices, the
same for each device of a relay, a line each; 0 only when all are connected.`,
  flags: {
    "status-file": {
      type: "string",
      value: "PATH",
      help: (env) => `(default\u00a0${defaultStatusPath(env)})`,
    },
    json: {
      type: "boolean",
      help: 'the file as it is, with "running" and "inbox" added',
    },
    ...INBOX_FLAG,
    devices: {
      type: "string",
      value: "FILE",
      help: "each device of the relay that FILE lists (see relay --help)",
    },
  },
  options: ({ values }, env) => ({
    path: values["status-file"] ?? defaultStatusPath(env),
    inbox: values.inbox ?? defaultInboxPath(env),
    json: values.json === true,
    devices: values.devices,
  }),
  run: (options, { io }) =>
    options.devices === undefined
      ? report(options, io)
      : reportDevices(options.devices, options.json, io),
});

/** Each relay device's state, a block each; 0 only when all are connected. */
async function reportDevices(
  file: string,
  json: boolean,
  io: Io,
): Promise<number> {
  // Loaded only here: it brings listen's table, which status needs not.
  const { readRelayFile } = await import("./_relay_file.ts");
  const devices = await readRelayFile(file, io.env);
  let connected = 0;
  for (const { name, options } of devices) {
    const status = options.statusFile;
    const state = await readStatus(status);
    const running = state !== undefined && state.state !== "stopped" &&
      isRunning(state.pid);
    if (running && state.state === "connected") connected++;
    if (json) {
      print(io, JSON.stringify({ name, ...state, running }));
    } else {
      const lines = state
        ? statusLines(state, running)
        : [`not running (no status file at ${status})`];
      print(
        io,
        [`${name}: ${lines[0]}`, ...lines.slice(1).map((l) => `  ${l}`)].join(
          "\n",
        ),
      );
    }
  }
  return connected === devices.length ? EXIT.ok : EXIT.error;
}

/** The inbox's counts, or undefined when there is no inbox. */
async function inboxStats(path: string): Promise<InboxStats | undefined> {
  const inbox = await openExistingInbox(path);
  if (!inbox) return undefined;
  try {
    return inbox.stats();
  } finally {
    inbox.close();
  }
}

/** The inbox's state in a few lines. */
function inboxLines(path: string, stats: InboxStats): string[] {
  const when = (ms?: number) =>
    ms === undefined ? "" : new Date(ms).toISOString();
  const lines = [
    `inbox: ${stats.messages} message(s), ${
      Math.ceil(stats.bytes / 1024)
    } KiB of text${
      stats.oldest === undefined
        ? ""
        : `, from ${when(stats.oldest)} to ${when(stats.newest)}`
    } (${path})`,
  ];
  for (const sink of stats.sinks) {
    lines.push(
      `  ${oneLine(sink.name)}: at ${sink.position}, ${sink.behind} to go${
        sink.dead ? `, ${sink.dead} set aside (history --failed)` : ""
      }${
        sink.redriven
          ? `, ${sink.redriven} of them to be handed over again`
          : ""
      }`,
    );
  }
  return lines;
}

/** Prints what the status file says; the exit code says if connected. */
async function report(
  { path, inbox, json }: { path: string; inbox: string; json: boolean },
  io: Io,
): Promise<number> {
  const file = await readStatus(path);
  const stats = await inboxStats(inbox);
  if (!file) {
    print(io, `not running (no status file at ${path})`);
    if (stats && !json) print(io, inboxLines(inbox, stats).join("\n"));
    return EXIT.error;
  }
  const running = file.state !== "stopped" && isRunning(file.pid);
  const connected = running && file.state === "connected";
  if (json) {
    print(io, JSON.stringify({ ...file, running, inbox: stats ?? null }));
    return connected ? EXIT.ok : EXIT.error;
  }
  const lines = statusLines(file, running);
  if (stats) lines.push(...inboxLines(inbox, stats));
  print(io, lines.join("\n"));
  return connected ? EXIT.ok : EXIT.error;
}

/** What a status file says, in lines: the state first. */
function statusLines(file: ListenerStatus, running: boolean): string[] {
  const lines = [
    running
      ? `${file.state} since ${file.since} (pid ${file.pid})`
      : file.state === "stopped"
      ? `stopped since ${file.since}`
      : `not running (the listener, pid ${file.pid}, ended without saying so)`,
  ];
  if (file.device) lines.push(`device: ${oneLine(file.device)}`);
  if (file.lastMessageAt) lines.push(`last message: ${file.lastMessageAt}`);
  // The file may come from another version, or another hand: cleaned again.
  if (file.lastError) {
    // A problem before the connection that runs now is over: said so, not
    // left to read like a current one.
    const over = running && file.state === "connected" &&
      file.lastErrorAt !== undefined && file.lastErrorAt <= file.since;
    const when = file.lastErrorAt === undefined
      ? ""
      : ` (at ${oneLine(file.lastErrorAt)}${
        over ? "; connected again since" : ""
      })`;
    lines.push(`last problem: ${oneLine(file.lastError)}${when}`);
  }
  if (file.desktopLicensed === false) {
    lines.push(
      "the account has no Desktop licence: Open Client devices stop after their 30-day trial",
    );
  }
  return lines;
}
