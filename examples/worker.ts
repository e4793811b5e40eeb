/**
 * A Cloudflare Worker that drains the device's queue on a schedule (a Cron
 * Trigger) and forwards each message, deleting only what was forwarded.
 * Secrets come from the Worker's environment (`wrangler secret put`).
 * A Worker lives per request, so it polls instead of holding a WebSocket.
 *
 *   # wrangler.toml: main = "worker.ts", [triggers] crons = ["* * * * *"]
 *
 * @module
 */
import { deleteThrough, downloadMessages } from "../mod.ts";

/** The Worker's environment: set with `wrangler secret put`. */
interface Env {
  PUSHOVER_SECRET: string;
  PUSHOVER_DEVICE_ID: string;
  FORWARD_URL: string;
  /** Another service than Pushover's (a fake server in tests). */
  PUSHOVER_API_URL?: string;
}

export default {
  async scheduled(_event: unknown, env: Env): Promise<void> {
    const device = {
      secret: env.PUSHOVER_SECRET,
      deviceId: env.PUSHOVER_DEVICE_ID,
    };
    const api = { apiUrl: env.PUSHOVER_API_URL };
    const { messages } = await downloadMessages(device, api);
    let forwarded;
    for (const message of messages) {
      const response = await fetch(env.FORWARD_URL, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(message),
      });
      if (!response.ok) break; // the rest waits for the next run
      forwarded = message;
    }
    if (forwarded) await deleteThrough(device, forwarded, api);
  },
};
