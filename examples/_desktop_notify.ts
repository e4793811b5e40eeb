// Desktop notifications for examples/listen.ts through `notify-send`, with
// each app icon downloaded once and cached on disk.

import { spawn } from "node:child_process";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { iconUrl, isSilent, toPlainText } from "../mod.ts";
import type { Message } from "../mod.ts";

/** Whether `notify-send` can be started at all. */
export function hasNotifySend(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn("notify-send", ["--version"], { stdio: "ignore" });
    child.on("error", () => resolve(false));
    child.on("close", (code) => resolve(code === 0));
  });
}

/** Sends `notify-send` for messages: none for −2, low for −1, critical for 2. */
export class DesktopNotifier {
  readonly #cacheDir: string;
  readonly #assetUrl: string;
  readonly #icons = new Map<string, Promise<string | undefined>>();

  constructor(cacheDir: string, assetUrl: string) {
    this.#cacheDir = cacheDir;
    this.#assetUrl = assetUrl;
  }

  async notify(message: Message): Promise<void> {
    if (isSilent(message)) return;
    const urgency = message.priority <= -1
      ? "low"
      : message.priority >= 2
      ? "critical"
      : "normal";
    const args = [`--app-name=${message.app}`, `--urgency=${urgency}`];
    const icon = await this.#icon(message);
    if (icon) args.push(`--icon=${icon}`);
    args.push(message.title ?? message.app, toPlainText(message));
    await new Promise<void>((resolve) => {
      const child = spawn("notify-send", args, { stdio: "ignore" });
      child.on("error", () => resolve());
      child.on("close", () => resolve());
    });
  }

  /** The icon's path on disk, fetched once per icon name and run. */
  #icon(message: Message): Promise<string | undefined> {
    const url = iconUrl(message, { assetUrl: this.#assetUrl });
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
      const response = await fetch(url);
      if (!response.ok) return undefined;
      await mkdir(this.#cacheDir, { recursive: true });
      await writeFile(path, new Uint8Array(await response.arrayBuffer()));
      return path;
    } catch {
      return undefined; // a notification without an icon is still one
    }
  }
}
