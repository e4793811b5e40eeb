// The page the browser test loads from the fake server's own origin: the
// library, bundled by esbuild, runs the whole flow with the browser's own
// fetch and WebSocket, and leaves its checks in `window.report`.

import {
  deleteThrough,
  downloadMessages,
  login,
  registerDevice,
  streamMessages,
} from "../../mod.ts";

/** One check: what was shown, and whether it held. */
interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

const origin = location.origin;
const api = { apiUrl: `${origin}/1` };
const websocketUrl = `${origin.replace(/^http/, "ws")}/push`;
const checks: Check[] = [];
const check = (name: string, ok: boolean, detail?: string) =>
  checks.push({ name, ok, ...(detail === undefined ? {} : { detail }) });

/** Queues a message through the fake's control endpoint (sends `!`). */
async function send(message: string): Promise<void> {
  await fetch(`${origin}/control/send`, {
    method: "POST",
    body: new URLSearchParams({ message }),
  });
}

async function flow(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const session = await login({
    email: params.get("email")!,
    password: params.get("password")!,
  }, api);
  check("login with the browser's fetch", session.secret.length > 0);
  const device = await registerDevice(session, "browser", api);
  check("registerDevice", /^[a-z0-9]+$/.test(device.deviceId));
  const { messages } = await downloadMessages(device, api);
  check(
    "downloadMessages: the welcome",
    messages.length === 1 && /Welcome/.test(messages[0].title ?? ""),
    messages.map((m) => m.message).join(" | "),
  );
  await deleteThrough(device, messages[0], api);
  check(
    "deleteThrough empties the queue",
    (await downloadMessages(device, api)).messages.length === 0,
  );
  let synced!: () => void;
  const firstSync = new Promise<void>((resolve) => synced = resolve);
  const stream = streamMessages(device, {
    ...api,
    websocketUrl,
    onStatus: (status) => status.state === "synced" && synced(),
  });
  const iterator = stream[Symbol.asyncIterator]();
  const seen: string[] = [];
  const first = iterator.next();
  // Logged in and synced once: from now on the fake pushes `!` per message.
  await firstSync;
  await send("one");
  seen.push((await first).value!.message);
  await send("two");
  seen.push((await iterator.next()).value!.message);
  await send("three");
  seen.push((await iterator.next()).value!.message);
  check(
    "streamMessages over the browser's WebSocket: three messages pushed by !",
    seen.join(",") === "one,two,three",
    seen.join(","),
  );
  // "three" is held: close() must leave it queued, "one" and "two" deleted.
  await stream.close();
  const left = (await downloadMessages(device, api)).messages.map((m) =>
    m.message
  );
  check(
    "close() keeps the held message queued and deletes what came before",
    left.join(",") === "three",
    left.join(","),
  );
}

flow().catch((error) => check("the flow ran", false, String(error)))
  .finally(() => {
    (globalThis as unknown as { report: Check[] }).report = checks;
  });
