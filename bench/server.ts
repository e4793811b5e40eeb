/**
 * The fake server in a process of its own for the benchmarks, so its work
 * runs beside the client's, as a real server's would. Prints one JSON line
 * ({ apiUrl, websocketUrl, controlUrl }) and runs until its stdin closes.
 *
 * @module
 */

import process from "node:process";
import { startBenchServer } from "./bench_server.ts";

const { close, ...info } = await startBenchServer();
console.log(JSON.stringify(info));
process.stdin.resume();
process.stdin.on("end", async () => {
  await close();
  process.exit(0);
});
