/**
 * Get your Pushover notifications on this machine: log in once, then listen.
 * Runs on Deno, Bun and Node ≥ 22 (only `node:` built-ins besides the library):
 *
 *   deno run -A examples/listen.ts [options]
 *   node examples/listen.ts [options]
 *   bun examples/listen.ts [options]
 *
 * Run with --help for the options.
 *
 * @module
 */

import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { homedir, hostname } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import {
  acknowledge,
  deleteThrough,
  downloadMessages,
  login,
  LoginRequiredError,
  needsAcknowledgement,
  parseCredentials,
  PushoverError,
  registerDevice,
  SessionReplacedError,
  streamMessages,
  stringifyCredentials,
  toPlainText,
  TwoFactorRequiredError,
} from "../mod.ts";
import type {
  Message,
  RequestOptions,
  SavedCredentials,
  Session,
  StreamStatus,
} from "../mod.ts";
import { DesktopNotifier, hasNotifySend } from "./_desktop_notify.ts";
import { Terminal } from "./_terminal.ts";

/** Exit codes, so scripts and service managers can tell why it stopped. */
const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  loginRequired: 3,
  sessionReplaced: 4,
} as const;

const HELP = `Usage: listen [options]

Prints each Pushover notification as one line (or JSON) as it arrives.
The first run asks for your e-mail, password, 2FA code (if the account has
one) and a device name, registers this machine as a device, and saves the
device's secret (never the password) with mode 0600.

Options:
  --config PATH         credentials file (default: ${defaultConfigPath()});
                        a config file of the Python client is imported as is
  --json                one JSON object per message instead of a line
  --notify              also show desktop notifications (notify-send)
  --ack                 ask on the terminal to acknowledge emergency messages
  --e2ee-key-file PATH  the end-to-end key (64 hexadecimal characters) for
                        encrypted messages; the file must be private (mode
                        0600). Saved beside the credentials for later runs
  --backlog MODE        deliver | skip messages queued before the start
                        (default: skip on the first run, deliver afterwards)
  --api-url URL         REST API base (default https://api.pushover.net/1)
  --websocket-url URL   WebSocket (default wss://client.pushover.net/push)
  --help                this text

Exit codes: 0 stopped (Ctrl-C), 1 error, 2 bad usage, 3 login required,
4 another client took over this device.`;

function defaultConfigPath(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "pushover-open-client", "credentials.json");
}

function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "pushover-open-client", "icons");
}

/** The host name, made a valid device name (1–25 of A-Z a-z 0-9 _ -). */
function defaultDeviceName(): string {
  const name = hostname().split(".")[0].replace(/[^A-Za-z0-9_-]/g, "-")
    .slice(0, 25);
  return name || "open-client";
}

function parseOptions() {
  try {
    return parseArgs({
      options: {
        config: { type: "string" },
        json: { type: "boolean", default: false },
        notify: { type: "boolean", default: false },
        ack: { type: "boolean", default: false },
        backlog: { type: "string" },
        "e2ee-key-file": { type: "string" },
        "api-url": { type: "string" },
        "websocket-url": { type: "string" },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`);
    process.exit(EXIT.usage);
  }
}

/** Logs in (asking for the 2FA code when needed) and registers the device. */
async function firstRun(
  terminal: Terminal,
  api: RequestOptions,
): Promise<SavedCredentials> {
  console.error("First run: log in to Pushover to register this machine.");
  const email = await terminal.ask("E-mail: ");
  const password = await terminal.askHidden("Password: ");
  let session: Session | undefined;
  let twofa: string | undefined;
  for (let tries = 0; !session; tries++) {
    try {
      session = await login({ email, password, twofa }, api);
    } catch (error) {
      if (!(error instanceof TwoFactorRequiredError) || tries === 3) {
        throw error;
      }
      if (error.codeRejected) console.error("That code was not accepted.");
      twofa = await terminal.askHidden("Two-factor code: ");
    }
  }
  while (true) {
    const fallback = defaultDeviceName();
    const name = await terminal.ask(`Device name [${fallback}]: `) || fallback;
    try {
      const device = await registerDevice(session, name, api);
      // A new device's queue holds only the welcome message: clear it, as
      // Pushover's guide for Open Clients says, so it is not shown.
      const { messages } = await downloadMessages(device, api);
      const last = messages.at(-1);
      if (last) await deleteThrough(device, last, api);
      return { device, userKey: session.userKey, email, deviceName: name };
    } catch (error) {
      if (error instanceof RangeError || error instanceof PushoverError) {
        if (error instanceof LoginRequiredError) throw error;
        console.error(error.message);
        continue;
      }
      throw error;
    }
  }
}

async function loadOrCreate(
  path: string,
  terminal: Terminal,
  api: RequestOptions,
): Promise<{ saved: SavedCredentials; created: boolean }> {
  let text: string | undefined;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOENT") throw error;
  }
  if (text !== undefined) {
    return { saved: parseCredentials(text), created: false };
  }
  const saved = await firstRun(terminal, api);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, stringifyCredentials(saved), { mode: 0o600 });
  await chmod(path, 0o600); // in case the file existed with wider rights
  console.error(`Saved the device's credentials (no password) to ${path}`);
  return { saved, created: true };
}

/**
 * The end-to-end key: from --e2ee-key-file (checked like ssh checks a key:
 * refused when group or others may read it), then saved beside the
 * credentials with mode 0600; else from there; else none. A number is the
 * exit code of a refusal, already explained on stderr.
 */
async function loadKey(
  given: string | undefined,
  saved: string,
): Promise<string | undefined | number> {
  const path = given ?? saved;
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch {
    if (given === undefined) return undefined;
    console.error(`--e2ee-key-file: cannot read ${path}`);
    return EXIT.usage;
  }
  if ((mode & 0o077) !== 0) {
    console.error(
      `refusing the key file ${path}: group or others can read it; run chmod 600 ${path}`,
    );
    return EXIT.usage;
  }
  const key = (await readFile(path, "utf8")).trim();
  if (!/^[0-9a-fA-F]{64}$/.test(key)) {
    console.error(
      `${path} does not hold an end-to-end key: it must be 64 hexadecimal characters`,
    );
    return EXIT.usage;
  }
  if (given !== undefined && path !== saved) {
    await writeFile(saved, `${key}\n`, { mode: 0o600 });
    await chmod(saved, 0o600);
  }
  return key;
}

function formatLine(message: Message): string {
  const date = new Date(message.date * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  const time = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${
    pad(date.getDate())
  } ${pad(date.getHours())}:${pad(date.getMinutes())}:${
    pad(date.getSeconds())
  }`;
  const emergency = message.priority === 2 ? "EMERGENCY " : "";
  if (message.e2ee === "encrypted" || message.e2ee === "failed") {
    const why = message.e2ee === "encrypted"
      ? "set the key with --e2ee-key-file"
      : "the key does not decrypt it";
    return `${time} ${emergency}[${message.app}] (end-to-end encrypted: ${why})`;
  }
  const title = message.title ? ` ${message.title}:` : "";
  const text = toPlainText(message).replace(/\s*\n\s*/g, " ");
  const url = message.url ? `  <${message.url}>` : "";
  return `${time} ${emergency}[${message.app}]${title} ${text}${url}`;
}

/** Connection changes on stderr: "offline …" once, "back online" once. */
function statusPrinter(): (status: StreamStatus) => void {
  let offline = false;
  return (status) => {
    if (status.state === "connected") {
      console.error(offline ? "back online" : "online");
      offline = false;
    } else if (status.state === "reconnecting" && !offline) {
      offline = true;
      console.error(
        `offline: ${status.reason}; reconnecting in ${
          Math.round(status.delay / 1000)
        } s`,
      );
    } else if (status.state === "undecryptable") {
      console.error(`message ${status.id}: ${status.reason}`);
    } else if (status.state === "retrying") {
      console.error(
        `sync failed: ${status.reason}; retrying in ${
          Math.round(status.delay / 1000)
        } s`,
      );
    }
  };
}

async function main(): Promise<number> {
  const options = parseOptions();
  if (options.help) {
    console.log(HELP);
    return EXIT.ok;
  }
  const backlog = options.backlog;
  if (backlog !== undefined && backlog !== "deliver" && backlog !== "skip") {
    console.error(`--backlog must be deliver or skip, not '${backlog}'`);
    return EXIT.usage;
  }
  const api: RequestOptions = {};
  if (options["api-url"]) api.apiUrl = options["api-url"];
  const terminal = new Terminal();
  const configPath = options.config ?? defaultConfigPath();
  const { saved, created } = await loadOrCreate(configPath, terminal, api);
  const keyFile = join(dirname(configPath), "e2ee-key");
  const encryptionKey = await loadKey(options["e2ee-key-file"], keyFile);
  if (typeof encryptionKey === "number") return encryptionKey;

  let notifier: DesktopNotifier | undefined;
  if (options.notify) {
    if (await hasNotifySend()) {
      const assetUrl = new URL(api.apiUrl ?? "https://api.pushover.net/1")
        .origin;
      notifier = new DesktopNotifier(cacheDir(), assetUrl);
    } else {
      console.error("notify-send was not found: printing only");
    }
  }

  const stop = new AbortController();
  process.on("SIGINT", () => stop.abort());
  process.on("SIGTERM", () => stop.abort());
  const stream = streamMessages(saved.device, {
    ...api,
    websocketUrl: options["websocket-url"],
    signal: stop.signal,
    // Old messages are the welcome and whatever predates this machine.
    backlog: (backlog ?? (created ? "skip" : "deliver")) as "deliver" | "skip",
    encryptionKey,
    onStatus: statusPrinter(),
  });
  try {
    for await (const message of stream) {
      console.log(options.json ? JSON.stringify(message) : formatLine(message));
      await notifier?.notify(message);
      if (!needsAcknowledgement(message)) continue;
      if (!options.ack) {
        console.error("(emergency message: run with --ack to acknowledge it)");
        continue;
      }
      const answer = await terminal.ask("Acknowledge this emergency? [y/N] ");
      if (/^y(es)?$/i.test(answer)) {
        await acknowledge(saved.device, message, api);
        console.error("acknowledged");
      } else {
        console.error("not acknowledged");
      }
    }
  } catch (error) {
    if (stop.signal.aborted) return EXIT.ok;
    if (error instanceof LoginRequiredError) {
      console.error(
        `${error.message}\nDelete ${configPath} and run again to log in.`,
      );
      return EXIT.loginRequired;
    }
    if (error instanceof SessionReplacedError) {
      console.error(error.message);
      return EXIT.sessionReplaced;
    }
    throw error;
  }
  return EXIT.ok;
}

let code: number;
try {
  code = await main();
} catch (error) {
  console.error(
    error instanceof Error ? `${error.name}: ${error.message}` : error,
  );
  code = EXIT.error;
}
// Explicitly: signal handlers and stdin must not keep a finished listener up.
process.exit(code);
