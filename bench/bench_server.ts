/**
 * The fake server as the benchmarks use it: accounts for each client, queue
 * times exposed for latency, no keep-alives. In a process of its own
 * (bench/server.ts) or in the benchmark's own process.
 *
 * @module
 */

import { startFakeServer } from "../testing/mod.ts";

/** Where the benchmark clients reach the server. */
export interface ServerInfo {
  apiUrl: string;
  websocketUrl: string;
  controlUrl: string;
}

/** The accounts the benchmark clients log in with (password "bench"). */
const BENCH_ACCOUNTS = ["floor", "library", "burst", "soak"];

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
