// `relay`: many devices in one process. Each device runs what `listen` runs
// — its stream, its inbox, its sinks, its status file — under a supervisor
// of its own: a device that fails is started again on its own, one that is
// refused or taken over stops on its own, and none of it touches the others.
// SIGHUP or a change of the file reloads the list: devices whose entry is
// unchanged keep running.

import process from "node:process";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { type Context, defineCommand, type Env } from "./_command.ts";
import { CliError, EXIT } from "./_fail.ts";
import { say } from "./_io.ts";
import { followSignal } from "./_signals.ts";
import { APP_FOLDER, xdgFolder } from "./_paths.ts";
import { readRelayFile, type RelayDevice } from "./_relay_file.ts";
import { deviceIo } from "./_relay_io.ts";
import { untilDone } from "./_retrying.ts";
import { readStatus, StatusFile } from "./_status_file.ts";
import type { RetryDelay } from "../lib/_retry.ts";
import { sleep } from "../lib/_wakeup.ts";
import { listen } from "./listen.ts";

/** How often the file is looked at for a change (ms). */
const FILE_POLL = 1_000;

/**
 * Devices start this far apart (ms): a thousand then open their sockets and
 * first downloads over ten seconds, not all at once against one server
 * that asks for few connections per address.
 */
const START_SPACING = 10;

/** A device whose listener failed starts again after 5 s, growing to 5 min. */
const RESTART: RetryDelay = { min: 5_000, max: 300_000, resetAfter: 0 };

/** Exit codes of a listener that starting again cannot change. */
const FINAL: readonly number[] = [
  EXIT.usage,
  EXIT.loginRequired,
  EXIT.sessionReplaced,
];

const FLAGS = {
  devices: {
    type: "string",
    value: "FILE",
    help: (env: Env) =>
      `the devices, as JSON (default\u00a0${defaultRelayFile(env)})`,
  },
} as const;

/** `relay`. */
export const relay = defineCommand({
  name: "relay",
  usage: ["[--devices FILE]"],
  about:
    `Listens for many devices in one process. Each device is an entry of FILE
with the credentials file \`login --config FILE\` wrote for it and any of
listen's flags; it has its own inbox, hooks and status file (under
$XDG_DATA_HOME and $XDG_STATE_HOME, pushover-open-client/relay/NAME), and
stops or starts again without touching the others. Lines are marked with
the device's name. SIGHUP or a change of FILE reloads it: unchanged devices
keep running, a device that had stopped starts again.`,
  flags: FLAGS,
  footer: `FILE, for example:
  {"devices": {
    "home": {"config": "home.json", "webhook": "http://127.0.0.1:8123/hook"},
    "work": {"config": "work.json", "exec": "./alert.sh", "min-priority": 1}
  }}
Paths are relative to FILE's folder. "ack" is refused: there is no terminal.
See each device with: status --devices FILE`,
  options: ({ values }, env) => ({
    file: values.devices ?? defaultRelayFile(env),
  }),
  run: runRelay,
});

/** The relay file unless `--devices` names another. */
export function defaultRelayFile(env: Env): string {
  return join(
    xdgFolder(env, "XDG_CONFIG_HOME", ".config"),
    APP_FOLDER,
    "relay.json",
  );
}

/** Runs the relay until stopped; returns the exit code. */
async function runRelay(
  { file }: { file: string },
  context: Context,
): Promise<number> {
  const { io } = context;
  // Stopped by Ctrl-C or SIGTERM as every command is, or when the reader of
  // stdout goes away (`relay | head`): the devices share it, so all stop.
  const stop = new AbortController();
  const { signal } = stop;
  const devicesContext = { ...context, signal };
  const readerGone = () => stop.abort();
  const tell = (line: string) => say(io, line);
  const runs = new Map<string, DeviceRun>();
  let version = await fileVersion(file);

  /** Starts what is new or changed (or stopped), stops what is gone. */
  const apply = async (devices: RelayDevice[]) => {
    const wanted = new Map(devices.map((device) => [device.name, device]));
    const leaving = [...runs.values()].filter((run) =>
      wanted.get(run.device.name)?.entry !== run.device.entry
    );
    await Promise.all(leaving.map((run) => run.stop()));
    for (const run of leaving) runs.delete(run.device.name);
    let starting = 0;
    for (const device of devices) {
      const running = runs.get(device.name);
      if (running?.state === "running") continue;
      // A stopped device: its last words (the status file) first.
      await running?.stop();
      const delay = START_SPACING * starting++;
      runs.set(
        device.name,
        new DeviceRun(device, devicesContext, delay, readerGone),
      );
    }
  };

  /** Reads the file again; a broken file leaves the devices as they are. */
  const reload = async (why: string) => {
    let devices: RelayDevice[];
    try {
      devices = await readRelayFile(file, io.env);
    } catch (error) {
      tell(`${(error as Error).message}; the devices keep running as they are`);
      return;
    }
    tell(`${why}: reloading ${file}`);
    await apply(devices);
  };

  const devices = await readRelayFile(file, io.env);
  tell(`relaying ${devices.length} device(s) from ${file}`);
  const unfollow = followSignal(context.signal, stop);
  await apply(devices);

  // One reload at a time, in the order asked for.
  let reloading = Promise.resolve();
  const queueReload = (why: string) => {
    reloading = reloading.then(() => signal.aborted ? undefined : reload(why));
  };
  const onHangup = () => queueReload("SIGHUP");
  // Only the process's own signals: a program embedding main() has its own.
  const hangups = io.signal === undefined;
  if (hangups) process.on("SIGHUP", onHangup);
  try {
    while (!signal.aborted) {
      await sleep(FILE_POLL, signal);
      const now = await fileVersion(file);
      if (now !== version && !signal.aborted) {
        version = now;
        queueReload(`${file} changed`);
      }
    }
    await reloading;
  } finally {
    if (hangups) process.off("SIGHUP", onHangup);
    await Promise.all([...runs.values()].map((run) => run.stop()));
    unfollow();
  }
  return EXIT.ok;
}

/** What tells a changed file: its modification time and size. */
async function fileVersion(path: string): Promise<string> {
  try {
    const { mtimeMs, size, ino } = await stat(path);
    return `${mtimeMs}:${size}:${ino}`;
  } catch {
    return "missing";
  }
}

/**
 * One device's listener, started again after a failure as the retry policy
 * says, until the relay stops it or a failure no restart can change.
 */
class DeviceRun {
  readonly device: RelayDevice;
  state: "running" | "stopped" = "running";
  readonly #stop = new AbortController();
  readonly #done: Promise<void>;

  readonly #readerGone: () => void;

  /**
   * Starts the device's listener `delay` ms from now; `readerGone` hears
   * that it ended by itself, which only the reader of stdout going away does.
   */
  constructor(
    device: RelayDevice,
    context: Context,
    delay: number,
    readerGone: () => void,
  ) {
    this.device = device;
    this.#readerGone = readerGone;
    const stopped = () => this.#stop.abort();
    context.signal.addEventListener("abort", stopped, { once: true });
    this.#done = sleep(delay, this.#stop.signal).then(() =>
      this.#stop.signal.aborted ? undefined : this.#run(context)
    ).finally(() => {
      this.state = "stopped";
      context.signal.removeEventListener("abort", stopped);
    });
  }

  /** Stops the device's listener; resolves once it has let go of all. */
  stop(): Promise<void> {
    this.#stop.abort();
    return this.#done;
  }

  async #run(context: Context): Promise<void> {
    const io = deviceIo(context.io, this.device.name, this.device.options.json);
    const signal = this.#stop.signal;
    const tell = (line: string) => say(io, line);
    try {
      await untilDone(
        async () => {
          await listen.run(this.device.options, { ...context, io, signal });
          if (!signal.aborted) this.#readerGone();
        },
        signal,
        ({ delay, reason }) =>
          tell(`${reason}; starting it again in ${Math.ceil(delay / 1000)} s`),
        RESTART,
        (error) => error instanceof CliError && FINAL.includes(error.code),
      );
    } catch (error) {
      // Before the line that says so: a reload that follows the line must
      // see the device stopped, and start it again.
      this.state = "stopped";
      const why = (error as Error).message;
      tell(
        `stopped: ${why} (the other devices go on; fix it, then SIGHUP or edit the file)`,
      );
      // Stopped before its listener wrote a status file: status says why.
      const { statusFile } = this.device.options;
      if (!await readStatus(statusFile)) {
        await new StatusFile(statusFile, this.device.name).update({
          state: "stopped",
          lastError: why,
        });
      }
    }
  }
}
