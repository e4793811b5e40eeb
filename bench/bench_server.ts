/**
 * The fake server as the benchmarks use it: accounts for each client, queue
 * times exposed for latency, no keep-alives; run in a process of its own by
 * bench/server.ts.
 *
 * @module
 */

import process from "node:process";
import { login, registerDevice } from "../mod.ts";
import type { Device } from "../mod.ts";
import { startFakeServer } from "../testing/mod.ts";

/** The runtime running this benchmark, with its version, e.g. "bun 1.4.5". */
export function runtimeName(): string {
  const g = globalThis as {
    Deno?: { version: { deno: string } };
    Bun?: { version: string };
  };
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun) return `bun ${g.Bun.version}`;
  return `node ${process.versions.node}`;
}

/**
 * A full garbage collection, where the runtime lets a script ask for one
 * (Node and Deno with `--expose-gc`, Bun always); nothing elsewhere.
 */
export function collectGarbage(): void {
  const g = globalThis as {
    gc?: () => void;
    Bun?: { gc(force: boolean): void };
  };
  for (let i = 0; i < 3; i++) g.gc ? g.gc() : g.Bun?.gc(true);
}

/** Where the benchmark clients reach the server. */
export interface ServerInfo {
  apiUrl: string;
  websocketUrl: string;
  controlUrl: string;
}

/** The accounts the benchmark clients log in with (password "bench"). */
const BENCH_ACCOUNTS = ["floor", "library", "burst", "soak", "many"];

/** Starts the fake for the benchmarks. */
export async function startBenchServer(): Promise<
  ServerInfo & { close(): Promise<void> }
> {
  const server = await startFakeServer({
    keepAliveInterval: 0,
    exposeQueueTime: true,
    accounts: BENCH_ACCOUNTS.map((name) => ({
      email: `${name}@bench.example`,
      password: "bench",
    })),
  });
  return {
    apiUrl: server.apiUrl,
    websocketUrl: server.websocketUrl,
    controlUrl: `${server.assetUrl}/control`,
    close: () => server.close(),
  };
}

/**
 * `count` new devices named `${tag}-0`, `${tag}-1`, … on the account `many`
 * of the bench server at `apiUrl`, registered over REST 20 at a time.
 */
export async function registerBenchDevices(
  apiUrl: string,
  count: number,
  tag: string,
): Promise<Device[]> {
  const api = { apiUrl };
  const session = await login(
    { email: "many@bench.example", password: "bench" },
    api,
  );
  const devices: Device[] = [];
  for (let i = 0; i < count; i += 20) {
    const names = Array.from(
      { length: Math.min(20, count - i) },
      (_, j) => `${tag}-${i + j}`,
    );
    devices.push(
      ...await Promise.all(names.map((n) => registerDevice(session, n, api))),
    );
  }
  return devices;
}

/** The bench server's JSON line, the one argument of a script that is JSON. */
export function serverFromArgs(): ServerInfo {
  return JSON.parse(process.argv.find((a) => a.startsWith("{"))!);
}

/** A script's `--name VALUE`, or `fallback`. */
export function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
}
