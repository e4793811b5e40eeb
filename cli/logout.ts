// `logout`: forget the device on this machine.

import { rm } from "node:fs/promises";
import { EXIT } from "./_fail.ts";
import { type Io, print, say } from "./_io.ts";
import { exists, keyPathBeside, readCredentials } from "./_files.ts";
import { configPath, parse } from "./_options.ts";
import { defaultStatusPath } from "./_paths.ts";
import { isRunning, readStatus } from "./_status_file.ts";

export const help = `Usage: pushover-open-client logout [--config PATH]

Deletes the saved device (and its end-to-end key) from this machine. The
device stays on your Pushover dashboard until you delete it there
(https://pushover.net/); a later \`login\` can take its name over with
--force.

Options:
  --config PATH         the credentials file
  --help                this text`;

const OPTIONS = {
  config: { type: "string" },
  help: { type: "boolean" },
} as const;

/** Runs `logout`. */
export async function run(args: string[], io: Io): Promise<number> {
  const { values } = parse("logout", args, OPTIONS);
  if (values.help) {
    print(io, help);
    return EXIT.ok;
  }
  const path = configPath(values, io.env);
  // Logged out already is what was asked for: said, and done (exit 0).
  if (!(await exists(path))) {
    say(io, `not logged in: no device is saved in ${path}`);
    return EXIT.ok;
  }
  const saved = await readCredentials(path, values.config);
  await rm(path);
  const key = keyPathBeside(path);
  if (await exists(key)) await rm(key);
  const name = saved.deviceName ? ` "${saved.deviceName}"` : "";
  say(
    io,
    `Forgot the device${name} (deleted ${path}). It stays on your dashboard at https://pushover.net/ until you delete it there.`,
  );
  // The listener's status names the device: gone with it, unless a
  // listener still runs as that device (it does until it is stopped).
  const statusPath = defaultStatusPath(io.env);
  const status = await readStatus(statusPath);
  if (status && status.state !== "stopped" && isRunning(status.pid)) {
    say(
      io,
      `A listener (pid ${status.pid}) still runs as this device: stop it (Ctrl-C, or systemctl --user stop pushover-open-client).`,
    );
  } else if (status) {
    await rm(statusPath, { force: true });
  }
  return EXIT.ok;
}
