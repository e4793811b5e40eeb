/**
 * Forward every Pushover message to another service as JSON (a chat
 * webhook, ntfy, Home Assistant), deleting each one only after it was taken;
 * stops with exit code 1, the refused message still queued, when it is not:
 *
 *   CREDENTIALS=~/.config/pushover-open-client/credentials.json \
 *   FORWARD_URL=https://example.com/hook deno run -A examples/forward.ts
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import process from "node:process";
import { parseCredentials, streamMessages } from "../mod.ts";

const saved = parseCredentials(
  await readFile(process.env.CREDENTIALS!, "utf8"),
);
const stop = new AbortController();
process.on("SIGINT", () => stop.abort());
const { apiUrl, websocketUrl } = saved; // the service it was registered with
const stream = streamMessages(saved.device, {
  apiUrl,
  websocketUrl,
  signal: stop.signal,
});
try {
  await stream.forEach(async (message) => {
    const { title = message.app, message: text, priority, url } = message;
    const response = await fetch(process.env.FORWARD_URL!, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ title, text, priority, url }),
    });
    // Not taken: throwing stops the stream and leaves the message queued for
    // the next start (a supervisor restarts the forwarder).
    if (!response.ok) {
      throw new Error(
        `the other service answered ${response.status}; the message stays queued`,
      );
    }
  });
} catch (error) {
  if (!stop.signal.aborted) {
    console.error(`forward: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
