/**
 * The stream under sustained load, and the login window (issue 19), measured
 * from outside against the fake server listening on 127.0.0.1 in this process
 * (real TCP sockets and the runtime's own `fetch` and `WebSocket`, as an
 * application would use them). Runs on Deno, Bun and Node; prints one JSON
 * object as its last line.
 *
 *   <runtime> bench/load_bench.ts [--quick] [--lib <mod.ts>] [--testing <testing/mod.ts>]
 *
 * - Load A: a message every 40 ms, a consumer taking 60 ms each, for 5 s.
 * - Load B: downloads taking 200 ms, a message every 150 ms, a consumer
 *   taking 30 ms, for 5 s.
 *
 *   For both: messages handled, delete requests the fake received, messages
 *   still queued on it at the end, and what a crash would re-deliver — at
 *   each message handed to the loop, the messages handed out so far (that one
 *   included) still queued on the server; the largest such count and the
 *   count at the end.
 * - Login window: the push host registers a login 300 ms after it arrives
 *   (`loginDelay`), keep-alives every second. Once the stream's connect-time
 *   download has been answered, one message is sent (inside the window: no
 *   `!` announces it); the figure is the time from sending it to the loop
 *   having it, capped at 8 s (null: not within 8 s). Five fresh devices.
 *
 * Only `for await` is used, so the script measures an older library too:
 * `--lib` names the library's mod.ts and `--testing` the fake's (each
 * defaulting to this checkout's), e.g. the library of an earlier commit
 * against this fake, which has `loginDelay`. `--quick`: loads of 1 s and two
 * login-window runs. The script stops by itself (a watchdog ends it after
 * three minutes whatever happens).
 *
 * @module
 */

import process from "node:process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type * as Library from "../mod.ts";
import type { Device, MessageStream } from "../mod.ts";
import type * as Testing from "../testing/mod.ts";
import type { FakeServer, FakeServerOptions } from "../testing/mod.ts";
import { runtimeName } from "./bench_server.ts";

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

/** A module named on the command line (relative to the working folder), or ours. */
function moduleUrl(given: string | undefined, fallback: string): string {
  return given === undefined
    ? new URL(fallback, import.meta.url).href
    : pathToFileURL(resolve(given)).href;
}

const QUICK = process.argv.includes("--quick");
const LIB = moduleUrl(option("lib"), "../mod.ts");
const TESTING = moduleUrl(option("testing"), "../testing/mod.ts");
const lib: typeof Library = await import(LIB);
const testing: typeof Testing = await import(TESTING);

const LOAD_MS = QUICK ? 1_000 : 5_000;
const LOGIN_RUNS = QUICK ? 2 : 5;
const LOGIN_CAP_MS = 8_000;
const ACCOUNT = { email: "load@bench.example", password: "bench-load" };

const watchdog = setTimeout(() => {
  console.error("load_bench: still running after 3 minutes, giving up");
  process.exit(2);
}, 180_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fake on loopback with one fresh device registered through the library. */
async function fakeWithDevice(options: FakeServerOptions) {
  const server = await testing.startFakeServer({
    accounts: [ACCOUNT],
    ...options,
  });
  const api = { apiUrl: server.apiUrl };
  const session = await lib.login(ACCOUNT, api);
  const device = await lib.registerDevice(session, "bench-load", api);
  return { server, device };
}

function streamOf(server: FakeServer, device: Device): MessageStream {
  return lib.streamMessages(device, {
    apiUrl: server.apiUrl,
    websocketUrl: server.websocketUrl,
  });
}

/** The message bodies still queued on the server for the device. */
function queued(server: FakeServer, device: Device): string[] {
  return server.store.devices.get(device.deviceId)!.queue.map((m) => m.message);
}

/** Resolves `promise`, or undefined after `ms`; leaves no timer. */
async function bounded<T>(promise: Promise<T>, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface Load {
  /** Milliseconds between messages sent. */
  every: number;
  /** Milliseconds the consumer takes per message. */
  handle: number;
  /** Milliseconds each download takes on the fake (0: as fast as it goes). */
  download: number;
}

interface LoadResult {
  /** Messages sent during the run (the welcome message comes on top). */
  sent: number;
  /** Messages whose handling had finished at the end. */
  handled: number;
  downloads: number;
  deletes: number;
  /** Messages queued on the server at the end. */
  queuedAtEnd: number;
  /** The most a crash would have re-delivered, over every handed-out message. */
  maxCrashRedelivery: number;
  /** What a crash at the end would re-deliver. */
  finalCrashRedelivery: number;
}

async function underLoad(load: Load): Promise<LoadResult> {
  const { server, device } = await fakeWithDevice({});
  if (load.download > 0) {
    server.failNext({ type: "delay", ms: load.download }, {
      endpoint: "download",
      count: 1_000_000,
    });
  }
  const handed = new Set<string>();
  const redelivery = () =>
    queued(server, device).filter((m) => handed.has(m)).length;
  let maxCrashRedelivery = 0;
  let handled = 0;
  let sent = 0;
  let result: LoadResult | undefined;
  const stream = streamOf(server, device);
  const producer = setInterval(
    () => server.send({ message: `load ${sent++}` }),
    load.every,
  );
  const end = setTimeout(() => {
    clearInterval(producer);
    result = {
      sent,
      handled,
      downloads: server.log.requests("download").length,
      deletes: server.log.requests("delete").length,
      queuedAtEnd: queued(server, device).length,
      maxCrashRedelivery,
      finalCrashRedelivery: redelivery(),
    };
    // Ends the loop even if it is waiting for a message.
    void stream.close();
  }, LOAD_MS);
  const loop = (async () => {
    for await (const message of stream) {
      if (result) break;
      handed.add(message.message);
      maxCrashRedelivery = Math.max(maxCrashRedelivery, redelivery());
      await sleep(load.handle);
      handled++;
      if (result) break;
    }
  })();
  try {
    await loop;
  } finally {
    clearInterval(producer);
    clearTimeout(end);
    await bounded(stream.close(), 5_000);
    await server.close();
  }
  if (!result) throw new Error("the stream ended before the load did");
  return result;
}

interface WindowRun {
  /** ms from sending the message to the loop having it; null: not within the cap. */
  delayMs: number | null;
  /** Whether the push host had not yet taken the login when it was sent. */
  sentInWindow: boolean;
}

async function loginWindow(): Promise<WindowRun> {
  const { server, device } = await fakeWithDevice({
    loginDelay: 300,
    keepAliveInterval: 1_000,
  });
  const TEXT = "queued in the login window";
  let arrived!: (at: number) => void;
  const arrival = new Promise<number>((r) => arrived = r);
  const stream = streamOf(server, device);
  const loop = (async () => {
    for await (const message of stream) {
      if (message.message === TEXT) arrived(performance.now());
    }
  })();
  try {
    // The connect-time download, answered: what follows it is not in it.
    await bounded(
      server.log.waitFor((e) =>
        e.kind === "http" && e.endpoint === "download" &&
        e.status !== undefined
      ),
      LOGIN_CAP_MS,
    );
    const sentInWindow = server.connections(device.deviceId) === 0;
    const sentAt = performance.now();
    server.send({ message: TEXT });
    const at = await bounded(arrival, LOGIN_CAP_MS);
    return {
      delayMs: at === undefined ? null : Math.round(at - sentAt),
      sentInWindow,
    };
  } finally {
    await bounded(stream.close(), 5_000);
    await bounded(loop, 5_000);
    await server.close();
  }
}

const loadA = await underLoad({ every: 40, handle: 60, download: 0 });
const loadB = await underLoad({ every: 150, handle: 30, download: 200 });
const runs: WindowRun[] = [];
for (let i = 0; i < LOGIN_RUNS; i++) runs.push(await loginWindow());
const delays = runs.map((r) => r.delayMs);
clearTimeout(watchdog);

console.log(JSON.stringify({
  runtime: runtimeName(),
  lib: LIB,
  testing: TESTING,
  quick: QUICK,
  loadMs: LOAD_MS,
  loadA,
  loadB,
  loginWindow: {
    capMs: LOGIN_CAP_MS,
    delaysMs: delays,
    maxMs: delays.includes(null)
      ? null
      : Math.max(...delays.map((d) => d ?? 0)),
    missed: delays.filter((d) => d === null).length,
    allSentInWindow: runs.every((r) => r.sentInWindow),
  },
}));
