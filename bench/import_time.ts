/**
 * Prints how many milliseconds `await import(module)` takes in this fresh
 * process: bench/run.ts compares mod.ts against an empty module.
 *
 *   <runtime> bench/import_time.ts <module path>
 *
 * @module
 */

import process from "node:process";

const module = new URL(process.argv.at(-1)!, `file://${process.cwd()}/`).href;
const start = performance.now();
await import(module);
console.log(JSON.stringify({ ms: performance.now() - start }));
