/**
 * `relay` with many devices in one process, against the fake server running
 * in its own process (see bench/server.ts): each device registered on the
 * bench's account and saved in a credentials file of its own, all listed in
 * one relay file, each with its inbox (the default) and stdout. Runs the
 * CLI's main() in this process, its stdout counted line by line, and reports:
 * the time until every device said "online" (connected and synced), the
 * process's RSS and heap (after a full GC) before and once all are idle, the
 * CPU it spends over an idle window, and the time from the fake's `send` to
 * the device's line on stdout (median and 95th percentile over `--samples`
 * devices, one at a time). Prints one JSON line.
 *
 *   <runtime with GC exposed> bench/relay_bench.ts '<bench/server.ts JSON line>' [--devices 1000] [--idle 10] [--settle 35] [--samples 50]
 *
 * @module
 */

import process from "node:process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { stringifyCredentials } from "../lib/credentials.ts";
import { main } from "../cli/main.ts";
import {
  collectGarbage,
  option,
  registerBenchDevices,
  runtimeName,
  serverFromArgs,
  type ServerInfo,
} from "./bench_server.ts";

const server: ServerInfo = serverFromArgs();

const DEVICES = Number(option("devices", "1000"));
const IDLE_SECONDS = Number(option("idle", "10"));
const SETTLE_SECONDS = Number(option("settle", "35"));
const SAMPLES = Math.min(DEVICES, Number(option("samples", "50")));
/** `--no-inbox`: the devices keep no inbox (what the inbox costs). */
const NO_INBOX = process.argv.includes("--no-inbox");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function memory(): { rss: number; heapUsed: number } {
  collectGarbage();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

/** Lines as they come, and who waits for which. */
class Lines {
  readonly #waiting = new Map<
    string,
    { ending: string; resolve: () => void }
  >();
  count = 0;

  stream(): Writable {
    let partial = "";
    return new Writable({
      write: (chunk, _encoding, done) => {
        const text = partial + String(chunk);
        const lines = text.split("\n");
        partial = lines.pop()!;
        for (const line of lines) {
          this.count++;

          for (const [needle, { ending, resolve }] of this.#waiting) {
            if (line.includes(needle) && line.endsWith(ending)) {
              this.#waiting.delete(needle);
              resolve();
            }
          }
        }
        done();
      },
    });
  }
  /** Resolves once a line holds `needle` (and ends with `ending`). */
  waitFor(needle: string, ending = ""): Promise<void> {
    return new Promise((resolve) =>
      this.#waiting.set(needle, { ending, resolve })
    );
  }
}

const dir = await mkdtemp(join(tmpdir(), "relay-bench-"));
const tag = `r${process.pid % 100_000}`;
const devices = await registerBenchDevices(server.apiUrl, DEVICES, tag);
const entries: Record<string, { config: string; "no-inbox"?: true }> = {};
for (const [i, device] of devices.entries()) {
  const name = `${tag}-${i}`;
  await writeFile(
    join(dir, `${name}.json`),
    stringifyCredentials({
      device,
      deviceName: name,
      apiUrl: server.apiUrl,
      websocketUrl: server.websocketUrl,
    }),
    { mode: 0o600 },
  );
  entries[name] = {
    config: `${name}.json`,
    ...(NO_INBOX ? { "no-inbox": true } : {}),
  };
}
const relayFile = join(dir, "relay.json");
await writeFile(relayFile, JSON.stringify({ devices: entries }));
await sleep(6_000); // the registrations' pooled connections close
const before = memory();

const stdout = new Lines();
const stderr = new Lines();
let online = 0;
const onlineLines: Promise<void>[] = Object.keys(entries).map((name) =>
  // "online", or "back online" after a first connection failed.
  stderr.waitFor(`${name}: `, "online").then(() => void online++)
);
// Progress on stderr (run.ts shows it only if the script fails).
const progress = setInterval(
  () => console.error(`${online} of ${DEVICES} online, ${stderr.count} lines`),
  10_000,
);
const stop = new AbortController();
const started = performance.now();
const exited = main(["relay", "--devices", relayFile], {
  env: {
    ...process.env,
    XDG_DATA_HOME: join(dir, "data"),
    XDG_STATE_HOME: join(dir, "state"),
    XDG_CACHE_HOME: join(dir, "cache"),
  },
  stdin: new PassThrough(),
  stdout: stdout.stream(),
  stderr: stderr.stream(),
  signal: stop.signal,
});
await Promise.race([
  Promise.all(onlineLines),
  exited.then((code) => {
    throw new Error(`the relay ended first (${code})`);
  }),
]);
const upMs = performance.now() - started;
clearInterval(progress);
await sleep(SETTLE_SECONDS * 1000);

const cpuBefore = process.cpuUsage();
const idleStarted = performance.now();
await sleep(IDLE_SECONDS * 1000);
const cpu = process.cpuUsage(cpuBefore);
const idleMs = performance.now() - idleStarted;
const idleCpuMs = (cpu.user + cpu.system) / 1000;
const after = memory();

// One message at a time to devices spread over the list: send → its line.
const latencies: number[] = [];
for (let i = 0; i < SAMPLES; i++) {
  const name = `${tag}-${Math.floor(i * DEVICES / SAMPLES)}`;
  const body = `bench ${i}`;
  const arrived = stdout.waitFor(`${body}`);
  const sent = performance.now();
  const response = await fetch(`${server.controlUrl}/send`, {
    method: "POST",
    body: new URLSearchParams({
      message: body,
      device: name,
      user: "many@bench.example",
    }),
  });
  await response.body?.cancel();
  await arrived;
  latencies.push(performance.now() - sent);
}
latencies.sort((a, b) => a - b);

stop.abort();
await exited;
await rm(dir, { recursive: true, force: true });
console.log(JSON.stringify({
  runtime: runtimeName(),
  devices: DEVICES,
  inbox: !NO_INBOX,
  upMs,
  before,
  after,
  idleMs,
  idleCpuMs,
  idleCpuPercent: 100 * idleCpuMs / idleMs,
  perDevice: {
    rssBytes: (after.rss - before.rss) / DEVICES,
    heapBytes: (after.heapUsed - before.heapUsed) / DEVICES,
  },
  sendToSinkMs: {
    median: latencies[Math.floor(latencies.length / 2)],
    p95: latencies[Math.floor(latencies.length * 0.95)],
  },
}));
process.exit(0);
