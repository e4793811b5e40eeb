// `--on-offline CMD`: run once when the listener has been offline for
// `--offline-after` (a lost network, a server down, not yet connected), and
// once more when it is back — as a pager beeps and stops. CMD runs with
// `sh -c`, PUSHOVER_STATE=offline or online, its output on stderr.

import { spawn } from "node:child_process";
import { childEnvironment } from "./_hooks.ts";
import type { Io } from "./_io.ts";
import type { ListenerState } from "./_listener_state.ts";

/** Watches `state`; returns what stops watching. */
export function watchOffline(
  state: ListenerState,
  { command, after, io, tell }: {
    command: string;
    /** ms offline before CMD runs. */
    after: number;
    io: Io;
    tell(line: string): void;
  },
): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let reported = false;
  const run = (which: "offline" | "online") => {
    const child = spawn("sh", ["-c", command], {
      // As every child: never the login's answers (password, 2FA code).
      env: { ...childEnvironment(io.env), PUSHOVER_STATE: which },
      stdio: ["ignore", "pipe", "pipe"],
    });
    // As a hook's: piped, minding a stderr that nobody reads.
    child.stdout.pipe(io.stderr, { end: false });
    child.stderr.pipe(io.stderr, { end: false });
    child.on(
      "error",
      (error) => tell(`--on-offline: cannot run the command: ${error.message}`),
    );
    child.on("exit", (code) => {
      if (code !== 0 && code !== null) {
        tell(`--on-offline: the command exited with ${code}`);
      }
    });
  };
  const arm = () => {
    timer ??= setTimeout(() => {
      reported = true;
      run("offline");
    }, after);
  };
  const stop = state.onChange((online) => {
    if (!online) return arm();
    clearTimeout(timer);
    timer = undefined;
    if (reported) {
      reported = false;
      run("online");
    }
  });
  // Not connected yet counts as offline too.
  if (!state.online) arm();
  return () => {
    stop();
    clearTimeout(timer);
  };
}
