// Where the command line keeps things, the XDG way.

import { homedir } from "node:os";
import { join } from "node:path";

/** The folder of this program in each XDG folder. */
export const APP_FOLDER = "pushover-open-client";
const APP = APP_FOLDER;

/** The environment the folders come from. */
type Env = Readonly<Record<string, string | undefined>>;

/** An XDG folder: `variable` when absolute, else `fallback` under HOME. */
export function xdgFolder(
  env: Env,
  variable: string,
  fallback: string,
): string {
  const value = env[variable];
  // The spec: a relative path is invalid and must be ignored.
  return value && value.startsWith("/")
    ? value
    : join(env.HOME || homedir(), fallback);
}

/** The credentials file unless `--config` names another. */
export function defaultConfigPath(env: Env): string {
  return join(
    xdgFolder(env, "XDG_CONFIG_HOME", ".config"),
    APP,
    "credentials.json",
  );
}

/** The status file `listen` rewrites unless `--status-file` names another. */
export function defaultStatusPath(env: Env): string {
  return join(
    xdgFolder(env, "XDG_STATE_HOME", ".local/state"),
    APP,
    "status.json",
  );
}

/** Where `listen --http` keeps its access token when stderr is a log. */
export function webTokenPath(env: Env): string {
  return join(
    xdgFolder(env, "XDG_STATE_HOME", ".local/state"),
    APP,
    "web-token",
  );
}

/** The inbox `listen` keeps unless `--inbox` names another. */
export function defaultInboxPath(env: Env): string {
  return join(
    xdgFolder(env, "XDG_DATA_HOME", ".local/share"),
    APP,
    "inbox.sqlite",
  );
}

/** Where app icons are cached for desktop notifications. */
export function iconCacheDir(env: Env): string {
  return join(xdgFolder(env, "XDG_CACHE_HOME", ".cache"), APP, "icons");
}

/** The systemd user unit `service install` writes. */
export function unitPath(env: Env): string {
  return join(
    xdgFolder(env, "XDG_CONFIG_HOME", ".config"),
    "systemd",
    "user",
    `${APP}.service`,
  );
}
