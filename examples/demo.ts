/**
 * The whole Open Client flow against the fake Pushover server on loopback:
 * log in (with a 2FA code), register a device, drain the old messages,
 * receive new ones, delete them, acknowledge an emergency one — then listen
 * on the WebSocket as messages arrive live, through a reconnect, and stop.
 *
 *   deno task demo        (also: bun examples/demo.ts, node examples/demo.ts)
 *
 * @module
 */

import {
  acknowledge,
  deleteThrough,
  downloadMessages,
  login,
  registerDevice,
  streamMessages,
  TwoFactorRequiredError,
} from "../mod.ts";
import type { Message, Session } from "../mod.ts";
import { startFakeServer } from "../testing/mod.ts";

const account = { email: "demo@example.com", password: "demo-password" };
const server = await startFakeServer({
  accounts: [{ ...account, twofa: "123456" }],
});
const api = { apiUrl: server.apiUrl };
const step = (text: string) => console.log(`\n▶ ${text}`);
const show = (m: Message) =>
  console.log(
    `  #${m.id_str} [${m.app}] ${m.title ?? "(no title)"}: ${m.message}` +
      (m.priority === 2 ? `  (emergency, acked=${m.acked})` : ""),
  );

try {
  step(`Fake Pushover server on ${server.apiUrl}`);

  step(`Log in as ${account.email}`);
  let session: Session;
  try {
    session = await login(account, api);
  } catch (error) {
    if (!(error instanceof TwoFactorRequiredError)) throw error;
    console.log(`  ${error.message}`);
    console.log(
      "  → the account has 2FA; asking the user for the code … 123456",
    );
    session = await login({ ...account, twofa: "123456" }, api);
  }
  console.log(
    `  logged in: user key ${session.userKey} (secret kept, password forgotten)`,
  );

  step("Register this program as device 'demo-desktop'");
  const device = await registerDevice(session, "demo-desktop", api);
  console.log(`  device id ${device.deviceId}`);

  step("Drain what was queued before we existed (not shown to the user)");
  const old = await downloadMessages(device, api);
  old.messages.forEach(show);
  await deleteThrough(device, old.messages.at(-1)!, api);
  console.log(`  deleted through #${old.messages.at(-1)!.id_str}`);

  step("Someone sends three notifications");
  server.send({
    app: "Backups",
    message: "Nightly backup finished",
    priority: -1,
  });
  server.send({
    app: "Monitor",
    title: "db01",
    message: "Disk <b>95%</b> full",
    html: true,
    url: "https://example.com/db01",
    url_title: "Dashboard",
  });
  const { receipt } = server.send({
    app: "Alarm",
    title: "Smoke detected",
    message: "Kitchen sensor",
    priority: 2,
    sound: "si",
  });

  step("Download them, in id order (ids kept exact as strings)");
  const batch = await downloadMessages(device, api);
  batch.messages.forEach(show);
  console.log(
    `  desktop licence: ${batch.user?.is_desktop_licensed}, quiet hours: ${batch.user?.quiet_hours}`,
  );

  step("Delete them on the server, now that they are handled");
  await deleteThrough(device, batch.messages.at(-1)!, api);
  const left = await downloadMessages(device, api);
  console.log(`  ${left.messages.length} messages left on the server`);

  step("The user acknowledges the emergency alert");
  const emergency = batch.messages.find((m) => m.priority === 2)!;
  await acknowledge(device, emergency, api);
  console.log(
    `  receipt ${emergency.receipt} acknowledged; server says pending: ${
      server.store.isPending(receipt!)
    }`,
  );

  step("Listen live on the WebSocket (streamMessages)");
  const stream = streamMessages(device, {
    ...api,
    websocketUrl: server.websocketUrl,
    // An R this soon after connecting counts as a failed attempt; the demo
    // waits a quarter second for it, not the 5 s the real service asks for.
    retryDelay: { min: 250, max: 2_000 },
    onStatus: (status) => console.log(`  [status] ${JSON.stringify(status)}`),
  });
  // Meanwhile, the world sends us things (the fake server's side of the story).
  const world = (async () => {
    await server.waitForLogin(device.deviceId, 1);
    server.send({ app: "Doorbell", message: "Someone is at the door" });
    server.sendFrame("R"); // the server asks us to reconnect
    await server.waitForLogin(device.deviceId, 2);
    server.send({ app: "Alarm", message: "Water leak", priority: 2 });
    server.send({ app: "Backups", message: "Weekly backup finished" });
  })();
  let received = 0;
  for await (const message of stream) {
    show(message);
    if (message.priority === 2 && message.acked === 0) {
      console.log("  → the user presses 'Acknowledge'");
      await acknowledge(device, message, api);
    }
    if (++received === 3) break; // break: this message counts as handled
  }
  await world;
  console.log(
    `  stream stopped; ${
      (await downloadMessages(device, api)).messages.length
    } messages left on the server`,
  );

  step("Done: the fake saw these requests");
  for (const request of server.log.requests()) {
    console.log(`  ${request.method} ${request.path} → ${request.status}`);
  }
} finally {
  await server.close();
}
