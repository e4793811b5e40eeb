/**
 * Latency and burst of streamMessages() against the fake server running in
 * its own process (see bench/server.ts), each figure a ratio to a baseline
 * measured in the same run; bench/latency_in_process.ts measures latency
 * with the fake in the client's own process. Runs on Deno, Bun and Node;
 * prints one JSON line.
 *
 *   <runtime> bench/stream_bench.ts '<bench/server.ts JSON line>' [--messages 1000] [--burst 10000]
 *
 * Latency: from the fake queueing a message (its clock, offset-corrected) to
 * the consumer having it. The floor is the protocol with no library: a raw
 * WebSocket logged in as the device that, on each `!`, does one fetch of
 * messages.json and parses it (and, being a floor, never deletes: its queue
 * is emptied by the server's control endpoint, outside the measured time).
 *
 * @module
 */

import process from "node:process";
import { login, registerDevice, streamMessages } from "../mod.ts";
import type { Device, Message } from "../mod.ts";
import { runtimeName, type ServerInfo } from "./bench_server.ts";

const server: ServerInfo = JSON.parse(
  process.argv.find((a) => a.startsWith("{"))!,
);

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

const MESSAGES = option("messages", 2000);
const BURST = option("burst", 10_000);
const ROUNDS = 20; // floor and library alternate, to share the machine's drift

const now = () => performance.timeOrigin + performance.now();

async function control(path: string, fields: Record<string, string> = {}) {
  const response = await fetch(`${server.controlUrl}/${path}`, {
    method: "POST",
    body: new URLSearchParams(fields),
  });
  return await response.json();
}

/**
 * The fake's clock minus ours, from the ping with the shortest round trip
 * (its error is at most half that round trip).
 */
async function clockOffset(): Promise<number> {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 200; i++) {
    const before = now();
    const { now: theirs } = await control("time");
    const after = now();
    if (after - before < best.rtt) {
      best = { rtt: after - before, offset: theirs - (before + after) / 2 };
    }
  }
  return best.offset;
}

async function newDevice(name: string): Promise<Device> {
  const api = { apiUrl: server.apiUrl };
  const session = await login(
    { email: `${name}@bench.example`, password: "bench" },
    api,
  );
  return await registerDevice(session, `${name}-${Date.now() % 1e6}`, api);
}

interface Client {
  next(): Promise<Message>;
  close(): Promise<void> | void;
}

/** The floor: one fetch + parse per `!`, nothing else. */
async function floorClient(device: Device): Promise<Client> {
  const socket = new WebSocket(server.websocketUrl);
  socket.binaryType = "arraybuffer";
  await new Promise((resolve) => socket.addEventListener("open", resolve));
  socket.send(`login:${device.deviceId}:${device.secret}\n`);
  const url =
    `${server.apiUrl}/messages.json?secret=${device.secret}&device_id=${device.deviceId}`;
  let deliver: (message: Message) => void = () => {};
  socket.addEventListener("message", async () => {
    const body = await (await fetch(url)).json();
    const last = body.messages.at(-1);
    if (last) deliver(last);
  });
  return {
    next: () => new Promise<Message>((resolve) => deliver = resolve),
    close: () => socket.close(),
  };
}

/** The library, as its users use it. */
function libraryClient(device: Device): Client {
  const stream = streamMessages(device, {
    apiUrl: server.apiUrl,
    websocketUrl: server.websocketUrl,
  });
  const iterator = stream[Symbol.asyncIterator]();
  return {
    next: async () => (await iterator.next()).value as Message,
    close: () => stream.close(),
  };
}

/** Milliseconds from queueing to receipt, one message at a time. */
async function latencies(
  client: Client,
  user: string,
  count: number,
  offset: number,
  clearQueue?: Device,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const received = client.next();
    await control("send", { message: `m${i}`, user });
    const message = await received;
    times.push(now() - ((message.fake_queued_at as number) - offset));
    if (clearQueue) {
      await fetch(
        `${server.apiUrl}/devices/${clearQueue.deviceId}/update_highest_message.json`,
        {
          method: "POST",
          body: new URLSearchParams({
            secret: clearQueue.secret,
            message: message.id_str,
          }),
        },
      ).then((r) => r.body?.cancel());
    }
  }
  return times;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function latency() {
  const offset = await clockOffset();
  const floorDevice = await newDevice("floor");
  const libraryDevice = await newDevice("library");
  const floor = await floorClient(floorDevice);
  const library = libraryClient(libraryDevice);
  // The welcome messages, and a warm-up of both paths (JIT, pooled sockets).
  await library.next();
  await latencies(floor, "floor@bench.example", 50, offset, floorDevice);
  await latencies(library, "library@bench.example", 50, offset);
  const floorTimes: number[] = [];
  const libraryTimes: number[] = [];
  const perRound = Math.ceil(MESSAGES / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    floorTimes.push(
      ...await latencies(
        floor,
        "floor@bench.example",
        perRound,
        offset,
        floorDevice,
      ),
    );
    libraryTimes.push(
      ...await latencies(library, "library@bench.example", perRound, offset),
    );
  }
  await floor.close();
  await library.close();
  const summary = (times: number[]) => ({
    median: quantile(times, 0.5),
    p99: quantile(times, 0.99),
  });
  const f = summary(floorTimes);
  const l = summary(libraryTimes);
  return {
    messages: libraryTimes.length,
    floorMs: f,
    libraryMs: l,
    ratio: { median: l.median / f.median, p99: l.p99 / f.p99 },
  };
}

async function burst() {
  const device = await newDevice("burst");
  let requests = 0;
  const countingFetch: typeof fetch = (input, init) => {
    requests++;
    return fetch(input, init);
  };
  const stream = streamMessages(device, {
    apiUrl: server.apiUrl,
    websocketUrl: server.websocketUrl,
    fetch: countingFetch,
  });
  const iterator = stream[Symbol.asyncIterator]();
  await iterator.next(); // the welcome: connected, synced and idle
  requests = 0;
  // The clock starts once all are queued (the control call returns then):
  // what is measured is how fast the stream hands them out.
  const first = iterator.next();
  await control("send", {
    message: "burst",
    user: "burst@bench.example",
    count: String(BURST),
  });
  const start = now();
  await first;
  for (let i = 1; i < BURST; i++) await iterator.next();
  const elapsed = now() - start;
  await stream.close(); // the last batch's delete belongs to the burst
  return {
    messages: BURST,
    elapsedMs: elapsed,
    messagesPerSecond: BURST / (elapsed / 1000),
    requests,
  };
}

const runtime = runtimeName();
console.log(
  JSON.stringify({ runtime, latency: await latency(), burst: await burst() }),
);
