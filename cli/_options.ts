// Flags every subcommand shares, parsed and checked before anything else
// happens (before a prompt, a request, a file).

import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { LOOPBACK_HOSTS } from "../lib/_secure_url.ts";
import type { SavedCredentials } from "../mod.ts";
import { usage } from "./_fail.ts";
import { oneLine } from "./_format.ts";
import { defaultConfigPath } from "./_paths.ts";

/** parseArgs option specs: the shared ones and a subcommand's own. */
type Specs = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

/** The flags of every subcommand that talks to the service. */
export const COMMON = {
  config: { type: "string" },
  "api-url": { type: "string" },
  "websocket-url": { type: "string" },
  help: { type: "boolean" },
} as const satisfies Specs;

/**
 * Parses `args` against `options`; an unknown flag, a missing value or a
 * stray argument is a usage error naming it and pointing to `--help`.
 */
export function parse<const O extends Specs>(
  command: string,
  args: string[],
  options: O,
  positionals = 0,
) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: positionals > 0 });
  } catch (error) {
    // node:util's messages name the flag; some take two lines (a hint).
    const message = (error as Error).message.replace(/\s*\n\s*/g, " ");
    throw usage(`${command}: ${message}; see ${command} --help`);
  }
  if (parsed.positionals.length > positionals) {
    throw usage(
      `${command}: unexpected argument '${
        oneLine(parsed.positionals[positionals])
      }'; see ${command} --help`,
    );
  }
  // A line break or an escape in a value ends a unit file's line, forges a
  // log line or moves a terminal's cursor: none is wanted in any flag.
  for (const [name, value] of Object.entries(parsed.values)) {
    const values = Array.isArray(value) ? value : [value];
    if (values.some((v) => typeof v === "string" && CONTROL.test(v))) {
      throw usage(
        `${command}: --${name} holds a control character (a line break, a carriage return or an escape); remove it`,
      );
    }
  }
  return parsed;
}

/** Control characters but tab (C0, DEL, C1). */
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;

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

/** The URL flags, checked; `saved` fills in what they leave out. */
export function endpoints(
  values: { "api-url"?: string; "websocket-url"?: string },
  saved?: SavedCredentials,
): Endpoints {
  const out: Endpoints = {};
  const api = values["api-url"] ?? saved?.apiUrl;
  const ws = values["websocket-url"] ?? saved?.websocketUrl;
  if (api !== undefined) out.apiUrl = checkUrl(api, "--api-url", "https:");
  if (ws !== undefined) {
    out.websocketUrl = checkUrl(ws, "--websocket-url", "wss:");
  }
  return out;
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
export function parseDuration(value: string, flag: string): number {
  const match = value.trim().match(/^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/);
  if (!match) {
    throw usage(
      `${flag}: '${value}' is not a duration; use e.g. 30s, 5m, 2h or 1d`,
    );
  }
  const ms = Number(match[1]) * UNITS[match[2] ?? "s"];
  // A timer takes up to 2^31 − 1 ms (24.8 days); beyond, it fires at once.
  if (!(ms > 0 && ms <= MAX_TIMER)) {
    throw usage(
      `${flag}: '${value}' is out of range; give more than 0 and at most 24 days`,
    );
  }
  return ms;
}

const MAX_TIMER = 2 ** 31 - 1;
