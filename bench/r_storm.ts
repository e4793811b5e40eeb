/**
 * Logins per second that a server answering every WebSocket login with `R`
 * gets from one streamMessages() with the default retry policy, over a fixed
 * window, next to the ceiling the policy promises (two logins per
 * `retryDelay.min`). Runs on Deno, Bun and Node; prints one JSON line.
 *
 *   <runtime> bench/r_storm.ts [--seconds 10]
 *
 * @module
 */

import process from "node:process";
import { login, registerDevice, streamMessages } from "../mod.ts";
import { startFakeServer } from "../testing/mod.ts";

const index = process.argv.indexOf("--seconds");
const SECONDS = index === -1 ? 10 : Number(process.argv[index + 1]);
const MIN_DELAY = 5_000; // the default retryDelay.min

const server = await startFakeServer({
  keepAliveInterval: 0,
  accounts: [{ email: "storm@bench.example", password: "bench" }],
});
const api = { apiUrl: server.apiUrl };
const session = await login(
  { email: "storm@bench.example", password: "bench" },
  api,
);
const device = await registerDevice(session, "storm", api);
server.replyToLogins("R");
const stream = streamMessages(device, {
  ...api,
  websocketUrl: server.websocketUrl,
});
const iterator = stream[Symbol.asyncIterator]();
void iterator.next().catch(() => {});
await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
await stream.close();
const logins = server.log.sockets("login").length;
const downloads = server.log.requests("download").length;
await server.close();
console.log(JSON.stringify({
  seconds: SECONDS,
  logins,
  downloads,
  loginsPerSecond: logins / SECONDS,
  ceilingPerSecond: 2 / (MIN_DELAY / 1000),
}));
