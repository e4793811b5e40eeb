// Flags several commands share, and the checks of their values: run by each
// command's `options`, before anything else happens (a prompt, a request, a
// file).

import { hostname } from "node:os";
import { LOOPBACK_HOSTS } from "../lib/_secure_url.ts";
import type { SavedCredentials } from "../mod.ts";
import type { Flags } from "./_command.ts";
import { usage } from "./_fail.ts";
import { oneLine } from "./_format.ts";
import { defaultConfigPath } from "./_paths.ts";

/** The credentials file flag, as most commands read it. */
export const CONFIG_FLAG = {
  config: { type: "string", value: "PATH", help: "the credentials file" },
} as const satisfies Flags;

/** The REST base flag, for commands that only make requests. */
export const API_FLAG = {
  "api-url": {
    type: "string",
    value: "URL",
    help: "REST API base (default: as saved at login)",
  },
} as const satisfies Flags;

/** The WebSocket flag, for commands that listen. */
export const WEBSOCKET_FLAG = {
  "websocket-url": {
    type: "string",
    value: "URL",
    help: "WebSocket (default: as saved at login)",
  },
} as const satisfies Flags;

/** Checks a URL flag: a URL, secure unless it points at this machine. */
function checkUrl(value: string, flag: string, secure: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw usage(`${flag}: '${oneLine(value)}' is not a URL`);
  }
  const plain = secure === "https:" ? "http:" : "ws:";
  if (
    url.protocol !== secure &&
    !(url.protocol === plain && LOOPBACK_HOSTS.test(url.hostname))
  ) {
    throw usage(
      `${flag} must use ${secure}// (${plain}// only for this machine): the device's secret would travel in clear text to ${url.host}`,
    );
  }
  return value.replace(/\/+$/, "");
}

/** The service to talk to: flags first, then what the device was saved with. */
export interface Endpoints {
  apiUrl?: string;
  websocketUrl?: string;
}

/** The URL flags, checked (before any I/O). */
export function urlFlags(
  values: { "api-url"?: string; "websocket-url"?: string },
): Endpoints {
  const out: Endpoints = {};
  const api = values["api-url"];
  const ws = values["websocket-url"];
  if (api !== undefined) out.apiUrl = checkUrl(api, "--api-url", "https:");
  if (ws !== undefined) {
    out.websocketUrl = checkUrl(ws, "--websocket-url", "wss:");
  }
  return out;
}

/**
 * The service to talk to: the URL flags (checked already), then what the
 * device was saved with — a file may say anything, so checked too.
 */
export function endpoints(
  flags: Endpoints,
  saved: SavedCredentials,
): Endpoints {
  return {
    ...urlFlags({
      "api-url": saved.apiUrl,
      "websocket-url": saved.websocketUrl,
    }),
    ...flags,
  };
}

/** The credentials file: `--config` or the default. */
export function configPath(
  values: { config?: string },
  env: Readonly<Record<string, string | undefined>>,
): string {
  return values.config ?? defaultConfigPath(env);
}

/** The host name, made a valid device name (1–25 of A-Z a-z 0-9 _ -). */
export function defaultDeviceName(): string {
  const name = hostname().split(".")[0].replace(/[^A-Za-z0-9_-]/g, "-")
    .replace(/^-+|-+$/g, "").slice(0, 25);
  return name || "open-client";
}

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** A duration flag (`90`, `90s`, `5m`, `2h`, `1d`, `500ms`) in ms. */
export function parseDuration(
  value: string,
  flag: string,
  max = MAX_TIMER,
): number {
  const match = value.trim().match(/^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/);
  if (!match) {
    throw usage(
      `${flag}: '${value}' is not a duration; use e.g. 30s, 5m, 2h or 1d`,
    );
  }
  const ms = Number(match[1]) * UNITS[match[2] ?? "s"];
  // A timer takes up to 2^31 − 1 ms (24.8 days); beyond, it fires at once.
  if (!(ms > 0 && ms <= max)) {
    throw usage(
      `${flag}: '${value}' is out of range; give more than 0 and at most ${
        Math.floor(max / 86_400_000)
      } days`,
    );
  }
  return ms;
}

const MAX_TIMER = 2 ** 31 - 1;

/** A priority flag (-2 to 2), decimal digits only: Number() reads "" as 0 and "0x1" as 1. */
export function parsePriority(value: string, flag: string): number {
  const given = value.trim();
  const priority = /^[+-]?\d$/.test(given) ? Number(given) : NaN;
  if (!(priority >= -2 && priority <= 2)) {
    throw usage(
      `${flag}: '${oneLine(value)}' is not a priority; use -2, -1, 0, 1 or 2`,
    );
  }
  return priority;
}

/** A count flag: a whole number from 1 on, in decimal digits. */
export function parseCount(value: string, flag: string): number {
  const n = /^\d{1,9}$/.test(value.trim()) ? Number(value) : NaN;
  if (!(n >= 1)) {
    throw usage(`${flag}: '${oneLine(value)}' is not a count from 1 on`);
  }
  return n;
}
