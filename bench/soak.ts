/**
 * Soak: thousands of `R` reconnects while messages flow through one
 * streamMessages(). Reports heap after GC before and after, and what the
 * runtime still holds open once the stream is closed. One JSON line.
 *
 *   <runtime with GC exposed> bench/soak.ts '<bench/server.ts JSON line>' [--reconnects 10000]
 *
 * @module
 */

import process from "node:process";
import { login, registerDevice, streamMessages } from "../mod.ts";
import { collectGarbage } from "./bench_server.ts";

const server = JSON.parse(process.argv.find((a) => a.startsWith("{"))!) as {
  apiUrl: string;
  websocketUrl: string;
  controlUrl: string;
};
const index = process.argv.indexOf("--reconnects");
const RECONNECTS = index === -1 ? 10_000 : Number(process.argv[index + 1]);

function heap(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** Open handles by kind (Node; elsewhere an empty list). */
function openResources(): Record<string, number> {
  const info = (process as { getActiveResourcesInfo?: () => string[] })
    .getActiveResourcesInfo?.() ?? [];
  const counts: Record<string, number> = {};
  for (const kind of info) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** Kinds of handle open now beyond those open at the start. */
function leftOpen(
  start: Record<string, number>,
  now: Record<string, number>,
): Record<string, number> {
  const left: Record<string, number> = {};
  for (const [kind, count] of Object.entries(now)) {
    if (count > (start[kind] ?? 0)) left[kind] = count - (start[kind] ?? 0);
  }
  return left;
}

async function control(
  path: string,
  fields: Record<string, string>,
): Promise<{ sockets?: number }> {
  const response = await fetch(`${server.controlUrl}/${path}`, {
    method: "POST",
    body: new URLSearchParams(fields),
  });
  return await response.json();
}

// What the process holds before any stream exists (stdio pipes, pools).
const resourcesAtStart = openResources();
const api = { apiUrl: server.apiUrl };
const device = await registerDevice(
  await login({ email: "soak@bench.example", password: "bench" }, api),
  `soak-${Date.now() % 1e6}`,
  api,
);

let connected: () => void = () => {};
const stream = streamMessages(device, {
  ...api,
  websocketUrl: server.websocketUrl,
  // An R on a link younger than resetAfter counts as a failure and backs
  // off; the soak wants each R answered at once, so every link is "old".
  retryDelay: { min: 1, max: 1, resetAfter: 1 },
  onStatus: (status) => {
    if (status.state === "connected") connected();
  },
});
const iterator = stream[Symbol.asyncIterator]();

/** `R` until `count` reconnects are done; a message every tenth. */
async function reconnect(count: number): Promise<number> {
  let received = 0;
  for (let i = 0; i < count; i++) {
    const back = new Promise<void>((resolve) => connected = resolve);
    // "connected" means our login frame is sent, not yet read by the
    // server (the protocol has no acknowledgement): R reaches no socket
    // until it is, so ask again.
    while (
      (await control("frame", { frame: "R", device: device.deviceId }))
        .sockets === 0
    );
    await back;
    if (i % 10 === 0) {
      const next = iterator.next();
      await control("send", {
        message: `soak ${i}`,
        user: "soak@bench.example",
      });
      await next;
      received++;
    }
  }
  return received;
}

await iterator.next(); // the welcome
await reconnect(200); // warm-up: pools, JIT, lazily built structures
const heapBefore = heap();
const resourcesBefore = openResources();
const started = performance.now();
const received = await reconnect(RECONNECTS);
const elapsed = performance.now() - started;
const heapAfter = heap();
await stream.close();
// Let the closed socket's last events run before counting what is left.
await new Promise((resolve) => setTimeout(resolve, 100));
console.log(JSON.stringify({
  reconnects: RECONNECTS,
  messages: received,
  elapsedMs: elapsed,
  heapBefore,
  heapAfter,
  heapGrowth: heapAfter - heapBefore,
  resourcesBefore,
  resourcesAfterClose: openResources(),
  leftOpen: leftOpen(resourcesAtStart, openResources()),
}));
process.exit(0);
