/**
 * What many streams cost one process: `--streams` streamMessages() loops
 * (`--mode library`), each on a device of its own, or as many bare WebSockets
 * that only log in (`--mode bare`: `login:<deviceId>:<secret>\n`, nothing
 * more), or bare WebSockets that also make the two requests a stream makes
 * when it starts (`--mode protocol`: download the welcome message, delete
 * it), against the fake server running in its own process (see
 * bench/server.ts). Reports the process's RSS and heap used (after a full
 * GC) before any socket and once all are idle, and the CPU it spends over an
 * idle window; bench/run.ts runs the modes and divides. The multi-device
 * work depends on this cost; what each stream keeps running while idle (a
 * timer, a watchdog) shows in the idle CPU, and what the platform's `fetch`
 * keeps after a thousand requests at once shows in `protocol`'s RSS. Prints
 * one JSON line.
 *
 *   <runtime with GC exposed> bench/many_streams.ts '<bench/server.ts JSON line>' --mode library|bare|protocol [--streams 1000] [--idle 10] [--settle 35]
 *
 * `--settle` (seconds) lets the connect-time downloads' and deletes' pooled
 * HTTP connections close (the fake's keep-alive is 5 s), what the runtime
 * does after a thousand requests at once (GC, its own threads) die down, and
 * each stream's request timer (lib/_timeouts.ts: armed by its first download
 * and delete, it fires once, 30 s on, finds nothing and stays off) before
 * measuring: both modes are measured holding only their WebSockets.
 * With 6 s instead of 20, Node's idle CPU after the streams start reads about
 * 1.5× higher.
 *
 * @module
 */

import process from "node:process";
import { streamMessages } from "../mod.ts";
import type { Device, MessageStream } from "../mod.ts";
import {
  collectGarbage,
  option,
  registerBenchDevices,
  runtimeName,
  serverFromArgs,
  type ServerInfo,
} from "./bench_server.ts";

const server: ServerInfo = serverFromArgs();

const MODE = option("mode", "library");
if (!["library", "bare", "protocol"].includes(MODE)) {
  throw new Error(`--mode must be library, bare or protocol: ${MODE}`);
}
const STREAMS = Number(option("streams", "1000"));
const IDLE_SECONDS = Number(option("idle", "10"));
const SETTLE_SECONDS = Number(option("settle", "35"));
/** Before any socket: the registrations' connections close. */
const REGISTERED_SECONDS = 6;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function memory(): { rss: number; heapUsed: number } {
  collectGarbage();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

/** A stream consumed by a `for await` loop; resolves once it had its welcome. */
function startStream(device: Device, streams: MessageStream[]): Promise<void> {
  const stream = streamMessages(device, {
    apiUrl: server.apiUrl,
    websocketUrl: server.websocketUrl,
  });
  streams.push(stream);
  return new Promise((welcomed) => {
    void (async () => {
      for await (const _ of stream) welcomed();
    })();
  });
}

/**
 * A WebSocket that logs in and, in `protocol` mode, downloads the queue and
 * deletes it by hand; resolves once that is done.
 */
function startBare(device: Device, sockets: WebSocket[]): Promise<void> {
  const ws = new WebSocket(server.websocketUrl);
  ws.binaryType = "arraybuffer";
  sockets.push(ws);
  return new Promise((done) => {
    ws.addEventListener("open", async () => {
      ws.send(`login:${device.deviceId}:${device.secret}\n`);
      if (MODE === "protocol") await downloadAndDelete(device);
      done();
    });
  });
}

async function downloadAndDelete({ deviceId, secret }: Device): Promise<void> {
  const queued = await fetch(
    `${server.apiUrl}/messages.json?secret=${secret}&device_id=${deviceId}`,
  );
  const { messages } = await queued.json();
  const deleted = await fetch(
    `${server.apiUrl}/devices/${deviceId}/update_highest_message.json`,
    {
      method: "POST",
      body: new URLSearchParams({ secret, message: messages.at(-1).id_str }),
    },
  );
  await deleted.body?.cancel();
}

const devices = await registerBenchDevices(
  server.apiUrl,
  STREAMS,
  `${MODE[0]}${process.pid % 100_000}`,
);
await sleep(REGISTERED_SECONDS * 1000);
const before = memory();
const streams: MessageStream[] = [];
const sockets: WebSocket[] = [];
const started = performance.now();
await Promise.all(
  devices.map((device) =>
    MODE === "library"
      ? startStream(device, streams)
      : startBare(device, sockets)
  ),
);
const upMs = performance.now() - started;
await sleep(SETTLE_SECONDS * 1000); // deletes done, pooled connections closed
// The idle window before the forced GCs of memory(): their concurrent
// sweeping, on helper threads, would count as idle CPU (more of it for the
// larger heap), which no stream spends.
const cpuBefore = process.cpuUsage();
const idleStarted = performance.now();
await sleep(IDLE_SECONDS * 1000);
const cpu = process.cpuUsage(cpuBefore);
const idleMs = performance.now() - idleStarted;
const cpuMs = (cpu.user + cpu.system) / 1000;
const after = memory();

await Promise.all(streams.map((stream) => stream.close()));
for (const ws of sockets) ws.close();
console.log(JSON.stringify({
  runtime: runtimeName(),
  mode: MODE,
  streams: STREAMS,
  upMs,
  before,
  after,
  idleMs,
  idleCpuMs: cpuMs,
  /** Percent of one core while idle. */
  idleCpuPercent: 100 * cpuMs / idleMs,
  perStream: {
    rssBytes: (after.rss - before.rss) / STREAMS,
    heapBytes: (after.heapUsed - before.heapUsed) / STREAMS,
    idleCpuUsPerSecond: 1000 * cpuMs / (idleMs / 1000) / STREAMS,
  },
}));
process.exit(0);
