// Where the command line keeps things, the XDG way.

import process from "node:process";
import { homedir } from "node:os";
import { join } from "node:path";

const APP = "pushover-open-client";

function xdg(variable: string, fallback: string): string {
  const value = process.env[variable];
  // The spec: a relative path is invalid and must be ignored.
  return value && value.startsWith("/") ? value : join(homedir(), fallback);
}

/** The credentials file unless `--config` names another. */
export function defaultConfigPath(): string {
  return join(xdg("XDG_CONFIG_HOME", ".config"), APP, "credentials.json");
}

/** The status file `listen` rewrites unless `--status-file` names another. */
export function defaultStatusPath(): string {
  return join(xdg("XDG_STATE_HOME", ".local/state"), APP, "status.json");
}

/** Where app icons are cached for desktop notifications. */
export function iconCacheDir(): string {
  return join(xdg("XDG_CACHE_HOME", ".cache"), APP, "icons");
}

/** The systemd user unit `service install` writes. */
export function unitPath(): string {
  return join(
    xdg("XDG_CONFIG_HOME", ".config"),
    "systemd",
    "user",
    `${APP}.service`,
  );
}
