// `logout`: forget the device on this machine.

import { readFile, rm } from "node:fs/promises";
import { defineCommand } from "./_command.ts";
import { EXIT, usage } from "./_fail.ts";
import { type Io, say } from "./_io.ts";
import { exists, keyPathBeside, readCredentials } from "./_files.ts";
import { CONFIG_FLAG, configPath } from "./_options.ts";
import { defaultStatusPath } from "./_paths.ts";
import { isRunning, readStatus } from "./_status_file.ts";

/** `logout`. */
export const logout = defineCommand({
  name: "logout",
  usage: ["[--config PATH]"],
  about:
    `Deletes the saved device (and its end-to-end key) from this machine. The
device stays on your Pushover dashboard until you delete it there
(https://pushover.net/); a later \`login\` can take its name over with
--force.`,
  flags: CONFIG_FLAG,
  options: ({ values }, env) => ({
    path: configPath(values, env),
    configFlag: values.config,
  }),
  run: (options, { io }) => forget(options, io),
});

async function forget(
  { path, configFlag }: { path: string; configFlag: string | undefined },
  io: Io,
): Promise<number> {
  // Logged out already is what was asked for: said, and done (exit 0).
  if (!(await exists(path))) {
    say(io, `not logged in: no device is saved in ${path}`);
    return EXIT.ok;
  }
  const saved = await readCredentials(path, configFlag).catch(
    async (error) => {
      // A broken file in the usual place (cut short, edited by hand) is
      // forgotten all the same: logging out is deleting it. A file named
      // with --config may be any file: left alone.
      if (configFlag !== undefined) throw error;
      if (await readable(path)) return undefined;
      // Not a file it can read (a folder, no permission): not known to be
      // credentials at all, so not deleted.
      throw usage(
        `cannot read ${path}, so nothing was deleted: check what it is, and delete it yourself if it is not needed`,
      );
    },
  );
  await rm(path);
  const key = keyPathBeside(path);
  if (await exists(key)) await rm(key);
  const name = saved?.deviceName ? ` "${saved.deviceName}"` : "";
  const what = saved ? "" : ", which was not a credentials file";
  say(
    io,
    `Forgot the device${name} (deleted ${path}${what}). It stays on your dashboard at https://pushover.net/ until you delete it there.`,
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

/** Whether the file's bytes can be read (whatever they are). */
async function readable(path: string): Promise<boolean> {
  try {
    await readFile(path);
    return true;
  } catch {
    return false;
  }
}
