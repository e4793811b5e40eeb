// `status`: what the listener's status file says; the exit code says
// whether a listener is connected (0) or not (1), for scripts and monitors.

import { EXIT } from "./_fail.ts";
import { oneLine } from "./_format.ts";
import { type Io, print } from "./_io.ts";
import { parse } from "./_options.ts";
import { defaultStatusPath } from "./_paths.ts";
import { isRunning, readStatus } from "./_status_file.ts";

export const help = (env: Io["env"]): string =>
  `Usage: pushover-open-client status [--status-file PATH] [--json]

Reads the status file \`listen\` keeps and says whether the listener runs and
is connected, since when, when the last message came and the last problem.
Exit code 0 when a listener is connected, 1 otherwise.

Options:
  --status-file PATH    (default ${defaultStatusPath(env)})
  --json                the file as it is, with "running" added
  --help                this text`;

const OPTIONS = {
  "status-file": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean" },
} as const;

/** Runs `status`. */
export async function run(args: string[], io: Io): Promise<number> {
  const { values } = parse("status", args, OPTIONS);
  if (values.help) {
    print(io, help(io.env));
    return EXIT.ok;
  }
  const path = values["status-file"] ?? defaultStatusPath(io.env);
  const status = await readStatus(path);
  if (!status) {
    print(io, `not running (no status file at ${path})`);
    return EXIT.error;
  }
  const running = status.state !== "stopped" && isRunning(status.pid);
  const connected = running && status.state === "connected";
  if (values.json) {
    print(io, JSON.stringify({ ...status, running }));
    return connected ? EXIT.ok : EXIT.error;
  }
  const lines = [
    running
      ? `${status.state} since ${status.since} (pid ${status.pid})`
      : status.state === "stopped"
      ? `stopped since ${status.since}`
      : `not running (the listener, pid ${status.pid}, ended without saying so)`,
  ];
  if (status.device) lines.push(`device: ${oneLine(status.device)}`);
  if (status.lastMessageAt) lines.push(`last message: ${status.lastMessageAt}`);
  // The file may come from another version, or another hand: cleaned again.
  if (status.lastError) {
    lines.push(`last problem: ${oneLine(status.lastError)}`);
  }
  if (status.desktopLicensed === false) {
    lines.push(
      "the account has no Desktop licence: Open Client devices stop after their 30-day trial",
    );
  }
  print(io, lines.join("\n"));
  return connected ? EXIT.ok : EXIT.error;
}
