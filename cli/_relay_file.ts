// The relay's file: which devices to listen for, each with listen's own
// settings. An entry's keys are listen's flags (without `--`), so one table
// checks a device in the file as it checks the command line, and the help of
// `listen` documents both.

import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import {
  type Env,
  type Flags,
  flagWithControl,
  type Parsed,
} from "./_command.ts";
import { CliError, EXIT } from "./_fail.ts";
import { oneLine } from "./_format.ts";
import { APP_FOLDER, xdgFolder } from "./_paths.ts";
import { listen, type ListenOptions } from "./listen.ts";

/** One device of the relay: its name, its entry as written, its settings. */
export interface RelayDevice {
  readonly name: string;
  /** The entry as the file has it, to tell a changed device on reload. */
  readonly entry: string;
  readonly options: ListenOptions;
}

/** A name is part of file names: letters, digits, `.`, `_`, `-`. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Flags a device may not have in the relay, and why. */
const REFUSED: Record<string, string> = {
  ack:
    "it asks on a terminal, and the relay has many devices and no terminal; acknowledge with `ack --config FILE`, or --notify's button",
  help: "it is not a setting",
};

/** Flags naming a file: relative to the relay file's folder. */
const PATHS = ["config", "inbox", "status-file", "e2ee-key-file"];

/** Where each device keeps its inbox and status unless its entry says. */
export function relayFolders(env: Env): { data: string; state: string } {
  return {
    data: join(
      xdgFolder(env, "XDG_DATA_HOME", ".local/share"),
      APP_FOLDER,
      "relay",
    ),
    state: join(
      xdgFolder(env, "XDG_STATE_HOME", ".local/state"),
      APP_FOLDER,
      "relay",
    ),
  };
}

/**
 * Reads and checks the relay file: every device's entry through listen's
 * own checks. Throws one line naming the file, the device and what is wrong.
 */
export async function readRelayFile(
  path: string,
  env: Env,
): Promise<RelayDevice[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new CliError(
      code === "ENOENT"
        ? `${path}: no such file; write one listing the devices (see relay --help)`
        : `${path}: cannot be read (${code ?? (error as Error).message})`,
      EXIT.usage,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(
      `${path}: not JSON (${oneLine((error as Error).message)})`,
      EXIT.usage,
    );
  }
  const devices = (parsed as { devices?: unknown } | null)?.devices;
  if (!isObject(devices) || Object.keys(devices).length === 0) {
    throw new CliError(
      `${path}: needs "devices": an object of devices by name, each {"config": FILE, …listen's flags}`,
      EXIT.usage,
    );
  }
  const folder = dirname(resolve(path));
  const folders = relayFolders(env);
  const checked = Object.entries(devices).map(([name, entry]) => {
    try {
      return {
        name,
        entry: JSON.stringify(entry),
        options: check(name, entry),
      };
    } catch (error) {
      throw new CliError(
        `${path}: device "${oneLine(name)}": ${(error as Error).message}`,
        EXIT.usage,
      );
    }
  });
  refuseShared(path, checked);
  return checked;

  function check(name: string, entry: unknown): ListenOptions {
    if (!NAME.test(name)) {
      throw new Error(
        "a name is 1 to 64 letters, digits, '.', '_' or '-' (it names the device's files)",
      );
    }
    if (!isObject(entry)) {
      throw new Error('must be an object: {"config": FILE, …listen\'s flags}');
    }
    if (typeof entry.config !== "string") {
      throw new Error(
        '"config" must name the file `login --config FILE` wrote for this device',
      );
    }
    const values = flagValues(entry, listen.flags);
    const flag = flagWithControl(values);
    if (flag !== undefined) {
      throw new Error(
        `"${flag}" holds a control character (a line break, a carriage return or an escape); remove it`,
      );
    }
    for (const key of PATHS) {
      const value = values[key];
      if (typeof value === "string") values[key] = resolve(folder, value);
    }
    values.inbox ??= values["no-inbox"]
      ? undefined
      : join(folders.data, `${name}.sqlite`);
    values["status-file"] ??= join(folders.state, `${name}.json`);
    return listen.options(
      { values, positionals: [], rest: [] } as Parsed<typeof listen.flags>,
      env,
    );
  }
}

/**
 * Two entries with one credentials file are one device with two owners,
 * which take it over from each other (`A`) for ever; two with one inbox or
 * status file overwrite each other's.
 */
function refuseShared(path: string, devices: RelayDevice[]): void {
  const files = {
    "credentials file": (o: ListenOptions) => o.config,
    inbox: (o: ListenOptions) => o.inbox,
    "status file": (o: ListenOptions) => o.statusFile,
  };
  for (const [what, fileOf] of Object.entries(files)) {
    const owners = new Map<string, string>();
    for (const { name, options } of devices) {
      const file = fileOf(options);
      if (file === undefined) continue;
      const other = owners.get(file);
      if (other !== undefined) {
        throw new CliError(
          `${path}: devices "${other}" and "${name}" have one ${what} (${file}); give each its own`,
          EXIT.usage,
        );
      }
      owners.set(file, name);
    }
  }
}

/** An entry's keys as flag values, each checked against the flag's type. */
function flagValues(
  entry: Record<string, unknown>,
  flags: Flags,
): Record<string, string | boolean | string[] | undefined> {
  const values: Record<string, string | boolean | string[] | undefined> = {};
  for (const [key, value] of Object.entries(entry)) {
    const flag = flags[key];
    if (REFUSED[key]) throw new Error(`"${key}" is refused: ${REFUSED[key]}`);
    if (!flag || flag.hidden) {
      throw new Error(
        `"${oneLine(key)}" is not one of listen's flags (see listen --help)`,
      );
    }
    if (flag.type === "boolean") {
      if (typeof value !== "boolean") {
        throw new Error(`"${key}" must be true or false`);
      }
      values[key] = value;
    } else if (flag.multiple) {
      const list = Array.isArray(value) ? value : [value];
      if (!list.every((item) => typeof item === "string")) {
        throw new Error(`"${key}" must be a string or a list of strings`);
      }
      values[key] = list as string[];
    } else if (typeof value === "string" || typeof value === "number") {
      values[key] = String(value);
    } else {
      throw new Error(`"${key}" must be a string`);
    }
  }
  return values;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
