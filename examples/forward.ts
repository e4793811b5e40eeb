/**
 * Forward every Pushover message to another service as JSON (a chat
 * webhook, ntfy, Home Assistant), deleting each one only after it was taken:
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
for await (const message of stream) {
  const { title = message.app, message: text, priority, url } = message;
  const response = await fetch(process.env.FORWARD_URL!, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ title, text, priority, url }),
  });
  if (!response.ok) {
    // Not taken: close first (a plain `break` counts the message as
    // handled), so it stays queued for the next start.
    await stream.close();
    break;
  }
}
