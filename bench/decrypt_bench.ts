/**
 * What end-to-end decryption costs: a burst of 1 KB messages streamed from
 * the fake (in-process) with `encryptionKey`, against the same burst sent
 * plain and streamed without a key, in the same run; and decryptMessage()
 * alone. Then the cost of one encrypted field against the platform's floor:
 * the same field opened by hand with no library code — base64 to bytes,
 * WebCrypto HMAC verify and AES-CBC decrypt, a DecompressionStream gunzip,
 * TextDecoder — one field at a time, floor and library alternating in
 * rounds. Decryption keeps DecompressionStream on every runtime (one
 * mechanism, no `node:zlib` path), so on Node the floor is mostly that
 * stream and WebCrypto's jobs; the library is to stay within 1.2× of it.
 * Runs on Deno, Bun and Node; prints one JSON line.
 *
 *   <runtime> bench/decrypt_bench.ts [--messages 2000] [--fields 2000]
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

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

const MESSAGES = option("messages", 2000);
const FIELDS = option("fields", 2000);
const ROUNDS = 10;
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

/** One field as a sender sealed it: only `message` is encrypted. */
async function sealedField(): Promise<Message> {
  const server = await startFakeServer({
    listen: false,
    accounts: [{ email: "f@example.com", password: "pw" }],
  });
  const api = { apiUrl: server.apiUrl, fetch: server.fetch };
  const device = await registerDevice(
    await login({ email: "f@example.com", password: "pw" }, api),
    "field",
    api,
  );
  server.send({ message: BODY, encryptWith: KEY });
  const sealed = (await downloadMessages(device, api)).messages[1] as Message;
  await server.close();
  return sealed;
}

/** The platform's own work for one field, by hand: the floor. */
async function openByHand(
  value: string,
  keys: { aes: CryptoKey; mac: CryptoKey },
): Promise<string> {
  const binary = atob(value);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const end = bytes.length - 32;
  const signed = bytes.subarray(0, end);
  if (
    !await crypto.subtle.verify("HMAC", keys.mac, bytes.subarray(end), signed)
  ) {
    throw new Error("the bench's field does not verify");
  }
  const gzipped = await crypto.subtle.decrypt(
    { name: "AES-CBC", iv: bytes.subarray(0, 16) },
    keys.aes,
    bytes.subarray(16, end),
  );
  const gunzip = new DecompressionStream("gzip");
  const writer = gunzip.writable.getWriter();
  writer.write(new Uint8Array(gzipped)).catch(() => {});
  writer.close().catch(() => {});
  const reader = gunzip.readable.getReader();
  const chunks: Uint8Array[] = [];
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    chunks.push(read.value);
  }
  const text = chunks.length === 1 ? chunks[0] : new Uint8Array(
    await new Blob(chunks as Uint8Array<ArrayBuffer>[]).arrayBuffer(),
  );
  return new TextDecoder("utf-8", { fatal: true }).decode(text);
}

/** Milliseconds per field, by hand and through decryptMessage(). */
async function perField() {
  const sealed = await sealedField();
  const raw = Uint8Array.from(
    KEY.match(/../g)!,
    (pair) => parseInt(pair, 16),
  );
  const keys = {
    aes: await crypto.subtle.importKey("raw", raw, "AES-CBC", false, [
      "decrypt",
    ]),
    mac: await crypto.subtle.importKey(
      "raw",
      raw,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    ),
  };
  const value = sealed.message;
  if (await openByHand(value, keys) !== BODY) throw new Error("floor is wrong");
  if ((await decryptMessage(sealed, KEY)).message !== BODY) {
    throw new Error("library is wrong");
  }
  let floorMs = 0, libraryMs = 0;
  const perRound = Math.ceil(FIELDS / ROUNDS);
  // A warm-up round of each, then rounds alternating.
  for (let round = -1; round < ROUNDS; round++) {
    let started = performance.now();
    for (let i = 0; i < perRound; i++) await openByHand(value, keys);
    if (round >= 0) floorMs += performance.now() - started;
    started = performance.now();
    for (let i = 0; i < perRound; i++) await decryptMessage(sealed, KEY);
    if (round >= 0) libraryMs += performance.now() - started;
  }
  const fields = perRound * ROUNDS;
  return {
    fields,
    floorMs: floorMs / fields,
    libraryMs: libraryMs / fields,
    ratio: libraryMs / floorMs,
  };
}

// Warm both paths (JIT), then measure.
await burst(false);
await burst(true);
const plainMs = await burst(false);
const decryptMs = await burst(true);
const perMessageMs = await alone();
const field = await perField();
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
  perField: field,
}));
