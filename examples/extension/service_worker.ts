/**
 * A Manifest V3 extension's service worker: streams the device's messages
 * and shows each with `chrome.notifications`. The device comes from
 * `chrome.storage.local` (`config: { device, apiUrl?, websocketUrl? }`, saved
 * by an options page after `login` and `registerDevice`; streaming starts
 * when it is saved). Bundle it with
 * `esbuild service_worker.ts --bundle --format=esm --outfile=service_worker.js`.
 *
 * A service worker is stopped when idle; the open WebSocket keeps it alive
 * (Chrome ≥ 116), and an alarm each minute restarts the stream if Chrome
 * stopped the worker anyway. Messages are deleted only once shown, so a
 * stop loses nothing.
 *
 * @module
 */
import { streamMessages, toPlainText } from "../../mod.ts";
import type { Device, MessageStream } from "../../mod.ts";

/** The parts of the `chrome` extension API used here. */
declare const chrome: {
  storage: {
    local: { get(key: string): Promise<Record<string, unknown>> };
    onChanged: { addListener(listener: () => void): void };
  };
  notifications: {
    create(id: string, options: Record<string, unknown>): Promise<string>;
  };
  alarms: {
    create(name: string, options: { periodInMinutes: number }): void;
    onAlarm: { addListener(listener: () => void): void };
  };
  runtime: { onStartup: { addListener(listener: () => void): void } };
};

interface Config {
  device: Device;
  apiUrl?: string;
  websocketUrl?: string;
}

let running: MessageStream | undefined;

/** Streams until the worker stops; at most one stream at a time. */
export async function start(): Promise<void> {
  if (running) return;
  const { config } = await chrome.storage.local.get("config") as {
    config?: Config;
  };
  if (!config) return; // not set up yet
  const { device, apiUrl, websocketUrl } = config;
  running = streamMessages(device, { apiUrl, websocketUrl });
  try {
    for await (const message of running) {
      try {
        await chrome.notifications.create(message.id_str, {
          type: "basic",
          iconUrl: "icon.png", // the extension's own: always at hand
          title: message.title ?? message.app,
          message: toPlainText(message),
          priority: Math.max(-2, Math.min(2, message.priority)),
          requireInteraction: message.priority === 2,
        });
      } catch (error) {
        // Not shown: closed first (leaving the loop counts as handled), so
        // the message stays queued; the alarm tries again in a minute.
        console.error("cannot show a notification:", error);
        await running.close();
      }
    }
  } finally {
    running = undefined;
  }
}

chrome.alarms.create("stream", { periodInMinutes: 1 });
chrome.alarms.onAlarm.addListener(() => void start());
chrome.runtime.onStartup.addListener(() => void start());
// The options page saved a device: start at once.
chrome.storage.onChanged.addListener(() => void start());
void start();
