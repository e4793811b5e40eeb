/**
 * What end-to-end decryption costs: a burst of 1 KB messages streamed from
 * the fake (in-process) with `encryptionKey`, against the same burst sent
 * plain and streamed without a key, in the same run; and decryptMessage()
 * alone. Runs on Deno, Bun and Node; prints one JSON line.
 *
 *   <runtime> bench/decrypt_bench.ts [--messages 2000]
 *
 * @module
 */

import process from "node:process";
import {
  decryptMessage,
  downloadMessages,
  login,
  registerDevice,
  streamMessages,
} from "../mod.ts";
import type { Message } from "../mod.ts";
import { startFakeServer } from "../testing/mod.ts";
import { runtimeName } from "./bench_server.ts";

const index = process.argv.indexOf("--messages");
const MESSAGES = index === -1 ? 2000 : Number(process.argv[index + 1]);
const KEY = "3c".repeat(32);
const BODY = "disk 95% full on db01; ".repeat(45).slice(0, 1024);

async function burst(encrypted: boolean): Promise<number> {
  const server = await startFakeServer({
    listen: false,
    keepAliveInterval: 0,
    accounts: [{ email: "bench@example.com", password: "pw" }],
  });
  const api = { apiUrl: server.apiUrl, fetch: server.fetch };
  const session = await login(
    { email: "bench@example.com", password: "pw" },
    api,
  );
  const device = await registerDevice(session, "bench", api);
  for (let i = 0; i < MESSAGES; i++) {
    server.send({
      message: BODY,
      title: "db01",
      ...(encrypted ? { encryptWith: KEY } : {}),
    });
  }
  const stream = streamMessages(device, {
    ...api,
    websocketUrl: server.websocketUrl,
    WebSocket: server.WebSocket,
    autoDelete: false,
    ...(encrypted ? { encryptionKey: KEY } : {}),
  });
  const started = performance.now();
  let seen = 0;
  for await (const _ of stream) if (++seen === MESSAGES + 1) break;
  const elapsed = performance.now() - started;
  await server.close();
  return elapsed;
}

async function alone(): Promise<number> {
  const server = await startFakeServer({
    listen: false,
    accounts: [{ email: "a@example.com", password: "pw" }],
  });
  const api = { apiUrl: server.apiUrl, fetch: server.fetch };
  const device = await registerDevice(
    await login({ email: "a@example.com", password: "pw" }, api),
    "alone",
    api,
  );
  server.send({ message: BODY, title: "db01", encryptWith: KEY });
  const sealed = (await downloadMessages(device, api)).messages[1] as Message;
  await server.close();
  await decryptMessage(sealed, KEY); // warm: the key is imported once
  const started = performance.now();
  for (let i = 0; i < MESSAGES; i++) await decryptMessage(sealed, KEY);
  return (performance.now() - started) / MESSAGES;
}

// Warm both paths (JIT), then measure.
await burst(false);
await burst(true);
const plainMs = await burst(false);
const decryptMs = await burst(true);
const perMessageMs = await alone();
const runtime = runtimeName();
console.log(JSON.stringify({
  runtime,
  messages: MESSAGES,
  bodyBytes: BODY.length,
  plain: { elapsedMs: plainMs, messagesPerSecond: MESSAGES / (plainMs / 1000) },
  decrypting: {
    elapsedMs: decryptMs,
    messagesPerSecond: MESSAGES / (decryptMs / 1000),
  },
  addedMsPerMessage: (decryptMs - plainMs) / MESSAGES,
  decryptMessageMs: perMessageMs,
}));
