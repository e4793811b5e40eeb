/**
 * Latency of streamMessages() with the fake server in the client's own
 * process (a test suite, a Worker, a page against a local fake), where the
 * fake's work and the client's share one event loop: from the fake sending
 * `!` (server.send(), which queues the message and writes the frame) to the
 * message in a `for await` loop's hands, against a bare loop doing the same
 * protocol work on the same fake — a WebSocket; on `!` one fetch of
 * messages.json; the delete through the message once the loop asks for the
 * next one (when the library deletes too: moving on means handled).
 * Two spacings: each message sent `--spacing` ms after the previous one
 * arrived, and back-to-back (sent from the loop body, as soon as the previous
 * one arrived). Bare and library alternate in rounds, to share the machine's
 * drift. Prints one JSON line.
 *
 *   <runtime> bench/latency_in_process.ts [--messages 600] [--spacing 10] [--transport loopback|memory]
 *
 * `loopback` (default): the fake listens on 127.0.0.1 in this process and
 * both clients use the platform's fetch and WebSocket; `memory`: both use the
 * fake's in-process fetch and WebSocket (testing/memory.ts), no socket at all.
 *
 * @module
 */

import process from "node:process";
import { streamMessages } from "../mod.ts";
import type { Device, Message } from "../mod.ts";
import { startFakeServer } from "../testing/mod.ts";
import { runtimeName } from "./bench_server.ts";

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
}

const MESSAGES = Number(option("messages", "600"));
const SPACING = Number(option("spacing", "10"));
const TRANSPORT = option("transport", "loopback");
if (TRANSPORT !== "loopback" && TRANSPORT !== "memory") {
  throw new Error(`--transport must be loopback or memory: ${TRANSPORT}`);
}
const WARM_UP = Math.min(50, MESSAGES);
/** Messages per turn: bare and library alternate often, to share drift. */
const PER_ROUND = 10;

const server = await startFakeServer({
  listen: TRANSPORT === "loopback",
  keepAliveInterval: 0,
});
const inMemory = TRANSPORT === "memory";
const fetchFn: typeof fetch = inMemory ? server.fetch : fetch;
const WebSocketClass = inMemory
  ? server.WebSocket
  : (globalThis.WebSocket as typeof server.WebSocket);

/** A device of its own account, with an empty queue (no welcome). */
function newDevice(name: string): Device & { user: string } {
  const account = server.addAccount({ email: `${name}@bench`, password: "-" });
  const secret = server.store.issueSecret(account);
  const record = server.store.addDevice(account, name);
  record.queue = [];
  return { secret, deviceId: record.id, user: account.email };
}

/** The protocol by hand, as an async iterable of messages. */
function bareLoop(device: Device): AsyncIterable<Message> {
  const download =
    `${server.apiUrl}/messages.json?secret=${device.secret}&device_id=${device.deviceId}`;
  const remove =
    `${server.apiUrl}/devices/${device.deviceId}/update_highest_message.json`;
  const ready: Message[] = [];
  let waiting: ((message: Message) => void) | undefined;
  let handled: Message | undefined;
  const ws = new WebSocketClass(server.websocketUrl);
  ws.binaryType = "arraybuffer";
  ws.addEventListener("open", () => {
    ws.send(`login:${device.deviceId}:${device.secret}\n`);
  });
  ws.addEventListener("message", async () => {
    const body = await (await fetchFn(download)).json();
    const last: Message | undefined = body.messages.at(-1);
    if (!last) return;
    if (waiting) waiting(last);
    else ready.push(last);
    waiting = undefined;
  });
  const deleteHandled = async (message: Message) => {
    const answer = await fetchFn(remove, {
      method: "POST",
      body: new URLSearchParams({
        secret: device.secret,
        message: message.id_str,
      }),
    });
    await answer.body?.cancel();
  };
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        if (handled) void deleteHandled(handled);
        return new Promise<IteratorResult<Message>>((resolve) => {
          const take = (value: Message) => {
            handled = value;
            resolve({ done: false, value });
          };
          if (ready.length > 0) take(ready.shift()!);
          else waiting = take;
        });
      },
      return: () => {
        ws.close();
        return Promise.resolve({ done: true, value: undefined });
      },
    }),
  };
}

function library(device: Device): AsyncIterable<Message> {
  return streamMessages(device, {
    apiUrl: server.apiUrl,
    websocketUrl: server.websocketUrl,
    fetch: fetchFn,
    WebSocket: WebSocketClass,
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One client, iterated as `for await` does (next() once the body is done);
 * `measure(count, spacing)` sends `count` messages one at a time and returns
 * each one's latency in ms.
 */
async function connect(
  name: string,
  make: (d: Device) => AsyncIterable<Message>,
) {
  const device = newDevice(name);
  const iterator = make(device)[Symbol.asyncIterator]();
  let received = iterator.next(); // starts the stream
  await server.waitForLogin(device.deviceId);
  await sleep(50); // the library's connect-time download is done
  let sentAt = 0;
  let n = 0;
  const send = () => {
    sentAt = performance.now();
    server.send({ message: `${name} ${n++}`, user: device.user });
  };
  return {
    async measure(count: number, spacing: number): Promise<number[]> {
      const times: number[] = [];
      send();
      for (let i = 0; i < count; i++) {
        await received;
        times.push(performance.now() - sentAt);
        // The sender is not the loop: it sends the next message `spacing`
        // ms after this one arrived (at once: before the loop asks for more).
        if (i < count - 1) spacing > 0 ? setTimeout(send, spacing) : send();
        received = iterator.next();
      }
      return times;
    },
    close: () => iterator.return?.(),
  };
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function compare(spacing: number) {
  const bare = await connect(`bare${spacing}`, bareLoop);
  const client = await connect(`client${spacing}`, library);
  await bare.measure(WARM_UP, spacing);
  await client.measure(WARM_UP, spacing);
  const bareTimes: number[] = [];
  const clientTimes: number[] = [];
  for (let sent = 0; sent < MESSAGES; sent += PER_ROUND) {
    bareTimes.push(...await bare.measure(PER_ROUND, spacing));
    clientTimes.push(...await client.measure(PER_ROUND, spacing));
  }
  await bare.close();
  await client.close();
  const summary = (times: number[]) => ({
    median: quantile(times, 0.5),
    p90: quantile(times, 0.9),
  });
  const b = summary(bareTimes), c = summary(clientTimes);
  return {
    spacingMs: spacing,
    messages: clientTimes.length,
    bareMs: b,
    clientMs: c,
    ratio: { median: c.median / b.median, p90: c.p90 / b.p90 },
  };
}

const spaced = await compare(SPACING);
const backToBack = await compare(0);
await server.close();
console.log(JSON.stringify({
  runtime: runtimeName(),
  transport: TRANSPORT,
  spaced,
  backToBack,
}));
