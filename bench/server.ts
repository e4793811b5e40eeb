/**
 * The fake server in a process of its own for the benchmarks, so its work
 * runs beside the client's, as a real server's would. Prints one JSON line
 * ({ apiUrl, websocketUrl, controlUrl }) and runs until its stdin closes.
 *
 * @module
 */

import process from "node:process";
import { startFakeServer } from "../tests/fake_server/mod.ts";

/** The accounts the benchmark clients log in with (password "bench"). */
const BENCH_ACCOUNTS = ["floor", "library", "burst", "soak"];

const server = await startFakeServer({
  keepAliveInterval: 0,
  exposeQueueTime: true,
  accounts: BENCH_ACCOUNTS.map((name) => ({
    email: `${name}@bench.example`,
    password: "bench",
  })),
});
console.log(JSON.stringify({
  apiUrl: server.apiUrl,
  websocketUrl: server.websocketUrl,
  controlUrl: `${server.assetUrl}/control`,
}));
process.stdin.resume();
process.stdin.on("end", async () => {
  await server.close();
  process.exit(0);
});
