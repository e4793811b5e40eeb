// Desktop notifications through `notify-send`, each app icon downloaded
// once and cached on disk; emergencies get an "Acknowledge" button where
// notify-send has --action and --wait (libnotify ≥ 0.7.9).

import { spawn } from "node:child_process";
import { stat, writeFile } from "node:fs/promises";
import { makePrivateDir } from "./_files.ts";
import { join } from "node:path";
import { iconUrl, isQuiet, isSilent, toPlainText } from "../mod.ts";
import { headline, oneLine } from "./_format.ts";
import { childEnvironment, withoutNul } from "./_hooks.ts";
import type { Message, UserInfo } from "../mod.ts";
import type { Io } from "./_io.ts";

/** What `notify-send` on this machine can do; undefined when it is missing. */
export async function probeNotifySend(env: Io["env"]): Promise<
  { actions: boolean } | undefined
> {
  const help = await new Promise<string | undefined>((resolve) => {
    let out = "";
    const child = spawn("notify-send", ["--help"], {
      env: childEnvironment(env),
      stdio: ["ignore", "pipe", "ignore"],
    });
    child.stdout.on("data", (chunk) => out += chunk);
    child.on("error", () => resolve(undefined));
    child.on("close", (code) => resolve(code === 0 ? out : undefined));
  });
  if (help === undefined) return undefined;
  return { actions: help.includes("--action") && help.includes("--wait") };
}

/** The arguments for one notification; the text comes after `--`. */
export function notifyArguments(
  message: Message,
  user: UserInfo | undefined,
  icon: string | undefined,
  withAction: boolean,
): string[] {
  // Quiet (−1, or 0 in quiet hours) is shown without fuss: low urgency.
  const urgency = isQuiet(message, user)
    ? "low"
    : message.priority >= 2
    ? "critical"
    : "normal";
  const args = [`--app-name=${oneLine(message.app)}`, `--urgency=${urgency}`];
  if (icon) args.push(`--icon=${icon}`);
  if (withAction) args.push("--action=ack=Acknowledge", "--wait");
  // `--`: a title like "-u" is text, not an option.
  args.push(
    "--",
    headline(message),
    escapeMarkup(toPlainText(message)),
  );
  return args.map((arg) => withoutNul(String(arg)));
}

/**
 * A body as text, not markup: notification servers that advertise
 * `body-markup` read `<a href>`, `<img>` and `&…;` in the body, and the
 * Desktop Notifications spec asks clients to escape `&`, `<` and `>`.
 */
export function escapeMarkup(text: string): string {
  return text.replace(/[&<>]/g, (c) => MARKUP_ESCAPES[c]);
}

const MARKUP_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
};

/** Shows messages with notify-send. */
export class DesktopNotifier {
  readonly #cacheDir: string;
  readonly #env: Io["env"];
  readonly #assetUrl: string;
  readonly #actions: boolean;
  readonly #onAcknowledge: (message: Message) => void;
  readonly #onError: (reason: string) => void;
  readonly #fetch: typeof fetch;
  readonly #icons = new Map<string, Promise<string | undefined>>();
  #broken = false;

  /**
   * `onAcknowledge` runs when the user clicks "Acknowledge" on an
   * emergency; `onError` hears once that notifications do not work.
   */
  constructor(
    options: {
      cacheDir: string;
      /** What notify-send runs with (PATH, DISPLAY, DBUS_…). */
      env: Io["env"];
      assetUrl: string;
      /** How icons are fetched (the platform's `fetch` unless given). */
      fetch?: typeof fetch;
      actions: boolean;
      onAcknowledge: (message: Message) => void;
      onError: (reason: string) => void;
    },
  ) {
    this.#cacheDir = options.cacheDir;
    this.#env = options.env;
    // Called through a field: a wrapper, since a bare global fetch may
    // refuse a `this` other than the global object.
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#assetUrl = options.assetUrl;
    this.#actions = options.actions;
    this.#onAcknowledge = options.onAcknowledge;
    this.#onError = options.onError;
  }

  /**
   * Shows `message` unless it is silent (−2); quiet ones (−1, or 0 during
   * the account's quiet hours) with low urgency. Does not wait for a click
   * (an emergency's button is watched in the background).
   */
  async notify(message: Message, user: UserInfo | undefined): Promise<void> {
    if (this.#broken || isSilent(message)) return;
    const emergency = message.priority === 2 && message.receipt !== undefined;
    const args = notifyArguments(
      message,
      user,
      await this.#icon(message),
      emergency && this.#actions,
    );
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn("notify-send", args, {
        env: childEnvironment(this.#env),
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (error) {
      this.#fail(`notify-send could not start: ${(error as Error).message}`);
      return;
    }
    let out = "";
    let err = "";
    child.stdout!.on("data", (chunk) => out += chunk);
    child.stderr!.on("data", (chunk) => err += chunk);
    const shown = new Promise<void>((resolve) => {
      child.on("error", (error) => {
        this.#fail(`notify-send could not start: ${error.message}`);
        resolve();
      });
      child.on("close", (code) => {
        if (code !== 0) {
          this.#fail(
            `notify-send failed (${
              err.trim().split("\n")[0] || `exit ${code}`
            }); is a desktop session (D-Bus) running?`,
          );
        } else if (out.trim() === "ack") this.#onAcknowledge(message);
        resolve();
      });
    });
    // With --wait it runs until the notification is closed: do not wait.
    if (!(emergency && this.#actions)) await shown;
  }

  #fail(reason: string): void {
    if (this.#broken) return;
    this.#broken = true;
    this.#onError(`${reason}: desktop notifications are off for this run`);
  }

  /** The icon's path on disk, fetched once per icon name and run. */
  #icon(message: Message): Promise<string | undefined> {
    let url: string;
    try {
      url = iconUrl(message, { assetUrl: this.#assetUrl });
    } catch {
      return Promise.resolve(undefined);
    }
    let path = this.#icons.get(url);
    if (!path) {
      path = this.#download(url);
      this.#icons.set(url, path);
    }
    return path;
  }

  async #download(url: string): Promise<string | undefined> {
    const name = decodeURIComponent(new URL(url).pathname.split("/").pop()!)
      .replace(/[^A-Za-z0-9_.-]/g, "_");
    const path = join(this.#cacheDir, name);
    try {
      await stat(path);
      return path; // cached by an earlier run
    } catch {
      // not cached yet
    }
    try {
      const response = await this.#fetch(url, {
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok) return undefined;
      await makePrivateDir(this.#cacheDir);
      await writeFile(path, new Uint8Array(await response.arrayBuffer()));
      return path;
    } catch {
      return undefined; // a notification without an icon is still one
    }
  }
}
