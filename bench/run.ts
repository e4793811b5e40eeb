/**
 * The benchmarks, as `deno task bench`: every figure next to a baseline
 * measured in the same run, printed as a table and written to
 * bench/results.json.
 *
 * - latency and burst of streamMessages() on Deno, Bun and Node 24, against
 *   the fake server running in a process of its own (bench/stream_bench.ts),
 *   and again with the fake in the client's process;
 * - an `R` storm: logins per second a server answering every login with `R`
 *   gets, against the retry policy's ceiling (bench/r_storm.ts);
 * - end-to-end decryption: a burst of 1 KB encrypted messages streamed with
 *   the key, against the same burst plain (bench/decrypt_bench.ts);
 * - soak: 10,000 `R` reconnects while messages flow (bench/soak.ts);
 * - footprint: mod.ts bundled and minified by esbuild (from npm), raw and
 *   gzipped; import time of mod.ts against an empty module.
 *
 * @module
 */

import {
  capture,
  findBun,
  findNode,
  fromNpm,
  ROOT,
} from "../tests/_runtimes.ts";

const IMPORT_RUNS = 15;

interface Runtime {
  name: string;
  binary: string;
  /** Arguments before the script; `gc` adds what exposes a full GC. */
  args(gc?: boolean): string[];
}

const runtimes: Runtime[] = [
  {
    name: "deno",
    binary: Deno.execPath(),
    args: (gc) => ["run", "-A", ...(gc ? ["--v8-flags=--expose-gc"] : [])],
  },
  { name: "bun", binary: await findBun(), args: () => [] },
  {
    name: "node24",
    binary: await findNode(24),
    args: (gc) => gc ? ["--expose-gc"] : [],
  },
];

/** Runs a script, returns the JSON object its stdout's last line holds. */
async function runJson(
  runtime: Runtime,
  script: string,
  args: string[],
  gc = false,
): Promise<Record<string, unknown>> {
  const result = await new Deno.Command(runtime.binary, {
    args: [...runtime.args(gc), script, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(result.stdout).trim().split("\n");
  if (!result.success) {
    throw new Error(
      `${runtime.name} ${script} failed:\n${
        new TextDecoder().decode(result.stderr)
      }`,
    );
  }
  return JSON.parse(out.at(-1)!);
}

/** The fake server in its own process; stops when its stdin closes. */
async function startServer() {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "bench/server.ts"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the bench server did not start");
    text += value;
  }
  return {
    info: text.split("\n")[0],
    stop: async () => {
      await child.stdin.close();
      await reader.cancel();
      await child.status;
    },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Bytes of `entry` bundled and minified by esbuild, raw and gzipped. */
async function bundleSize(esbuild: string, entry: string) {
  const bundle = await capture([
    esbuild,
    entry,
    "--bundle",
    "--minify",
    "--format=esm",
    "--log-level=error",
  ]);
  const bytes = new TextEncoder().encode(bundle);
  const gzipped = await new Response(
    new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip")),
  ).arrayBuffer();
  return { bytes: bytes.length, gzipBytes: gzipped.byteLength };
}

async function footprint() {
  const esbuild = await fromNpm("esbuild", "esbuild@0", ".bin/esbuild");
  const whole = await bundleSize(esbuild, `${ROOT}mod.ts`);
  // What a receiver that only streams pays, after tree shaking.
  const entry = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(
    entry,
    `export { streamMessages } from "${ROOT}mod.ts";\n`,
  );
  const streamOnly = await bundleSize(esbuild, entry);
  await Deno.remove(entry);
  const importTimes: Record<string, unknown> = {};
  for (const runtime of runtimes) {
    const times = { mod: [] as number[], empty: [] as number[] };
    for (let i = 0; i < IMPORT_RUNS; i++) {
      for (
        const [key, module] of [["mod", "mod.ts"], [
          "empty",
          "bench/empty_module.ts",
        ]] as const
      ) {
        const { ms } = await runJson(runtime, "bench/import_time.ts", [module]);
        times[key].push(ms as number);
      }
    }
    importTimes[runtime.name] = {
      modMs: median(times.mod),
      emptyMs: median(times.empty),
      ratio: median(times.mod) / median(times.empty),
    };
  }
  return {
    bundleBytes: whole.bytes,
    gzipBytes: whole.gzipBytes,
    streamOnly,
    esbuild: (await capture([esbuild, "--version"])).trim(),
    importTimes,
  };
}

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine:
    `${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores, ${
      Math.round(Deno.systemMemoryInfo().total / 2 ** 30)
    } GiB`,
  stream: {},
  streamInProcess: {},
  rStorm: {},
  decrypt: {},
  soak: {},
};
const server = await startServer();
try {
  for (const runtime of runtimes) {
    console.log(`stream bench on ${runtime.name} …`);
    (results.stream as Record<string, unknown>)[runtime.name] = await runJson(
      runtime,
      "bench/stream_bench.ts",
      [server.info],
    );
    console.log(`stream bench, fake in-process, on ${runtime.name} …`);
    (results.streamInProcess as Record<string, unknown>)[runtime.name] =
      await runJson(runtime, "bench/stream_bench.ts", ["--in-process"]);
    console.log(`R storm on ${runtime.name} …`);
    (results.rStorm as Record<string, unknown>)[runtime.name] = await runJson(
      runtime,
      "bench/r_storm.ts",
      [],
    );
    console.log(`decryption on ${runtime.name} …`);
    (results.decrypt as Record<string, unknown>)[runtime.name] = await runJson(
      runtime,
      "bench/decrypt_bench.ts",
      [],
    );
    console.log(`soak on ${runtime.name} …`);
    (results.soak as Record<string, unknown>)[runtime.name] = await runJson(
      runtime,
      "bench/soak.ts",
      [server.info],
      true,
    );
  }
} finally {
  await server.stop();
}
console.log("footprint …");
results.footprint = await footprint();
await Deno.writeTextFile(
  `${ROOT}bench/results.json`,
  `${JSON.stringify(results, null, 2)}\n`,
);

// ---- the table ----
// The results are plain JSON, read back untyped for printing.
// deno-lint-ignore no-explicit-any
type Any = Record<string, any>;
const r = results as Any;
const rows: string[][] = [[
  "figure",
  "value",
  "baseline / target",
  "ratio",
  "ok",
]];
const f = (n: number, digits = 2) => n.toFixed(digits);
for (const name of Object.keys(r.stream)) {
  const { latency, burst } = r.stream[name];
  rows.push([
    `${name} latency median`,
    `${f(latency.libraryMs.median, 3)} ms`,
    `floor ${f(latency.floorMs.median, 3)} ms / ≤ 1.3×`,
    `${f(latency.ratio.median)}×`,
    latency.ratio.median <= 1.3 ? "yes" : "no",
  ]);
  rows.push([
    `${name} latency p99`,
    `${f(latency.libraryMs.p99, 3)} ms`,
    `floor ${f(latency.floorMs.p99, 3)} ms`,
    `${f(latency.ratio.p99)}×`,
    "",
  ]);
  rows.push([
    `${name} burst of ${burst.messages}`,
    `${Math.round(burst.messagesPerSecond)} msg/s`,
    "≥ 100000 msg/s",
    "",
    burst.messagesPerSecond >= 100_000 ? "yes" : "no",
  ]);
  rows.push([
    `${name} burst requests`,
    String(burst.requests),
    "≤ 2",
    "",
    burst.requests <= 2 ? "yes" : "no",
  ]);
}
for (const name of Object.keys(r.streamInProcess)) {
  const { latency, burst } = r.streamInProcess[name];
  rows.push([
    `${name} latency median, fake in-process`,
    `${f(latency.libraryMs.median, 3)} ms`,
    `floor ${f(latency.floorMs.median, 3)} ms`,
    `${f(latency.ratio.median)}×`,
    "",
  ]);
  rows.push([
    `${name} burst requests, fake in-process`,
    String(burst.requests),
    "≤ 2",
    "",
    burst.requests <= 2 ? "yes" : "no",
  ]);
}
for (const name of Object.keys(r.rStorm)) {
  const storm = r.rStorm[name];
  rows.push([
    `${name} R storm: logins per second`,
    f(storm.loginsPerSecond),
    `≤ ${f(storm.ceilingPerSecond)} (2 per retryDelay.min)`,
    "",
    storm.loginsPerSecond <= storm.ceilingPerSecond ? "yes" : "no",
  ]);
}
for (const name of Object.keys(r.decrypt)) {
  const d = r.decrypt[name];
  rows.push([
    `${name} stream 1 KB messages, decrypting`,
    `${Math.round(d.decrypting.messagesPerSecond)} msg/s`,
    `plain ${Math.round(d.plain.messagesPerSecond)} msg/s`,
    `${f(d.decrypting.messagesPerSecond / d.plain.messagesPerSecond)}×`,
    "",
  ]);
  rows.push([
    `${name} decryption added per 1 KB message`,
    `${f(d.addedMsPerMessage, 3)} ms`,
    `decryptMessage() alone ${f(d.decryptMessageMs, 3)} ms / ≤ 0.1 ms`,
    "",
    d.addedMsPerMessage <= 0.1 ? "yes" : "no",
  ]);
}
for (const name of Object.keys(r.soak)) {
  const soak = r.soak[name];
  const left = Object.values(soak.leftOpen as Record<string, number>)
    .reduce((a, b) => a + b, 0);
  rows.push([
    `${name} soak ${soak.reconnects} R: heap growth`,
    `${f(soak.heapGrowth / 1024, 0)} KiB`,
    `${f(soak.heapBefore / 2 ** 20, 1)} MiB before / ≤ 1024 KiB`,
    "",
    soak.heapGrowth <= 2 ** 20 ? "yes" : "no",
  ]);
  rows.push([
    `${name} soak: left open after close`,
    JSON.stringify(soak.leftOpen),
    "0",
    "",
    left === 0 ? "yes" : "no",
  ]);
}
const fp = r.footprint;
rows.push([
  "mod.ts bundled + minified",
  `${fp.bundleBytes} B`,
  `gzip ${fp.gzipBytes} B / ≤ 4096 B`,
  "",
  fp.gzipBytes <= 4096 ? "yes" : "no",
]);
rows.push([
  "streamMessages only (tree-shaken)",
  `${fp.streamOnly.bytes} B`,
  `gzip ${fp.streamOnly.gzipBytes} B / ≤ 5120 B`,
  "",
  // Issue 13's target: a streaming receiver ships at most 5 KB gzipped.
  fp.streamOnly.gzipBytes <= 5120 ? "yes" : "no",
]);
for (const [name, t] of Object.entries(fp.importTimes as Any)) {
  rows.push([
    `${name} import mod.ts`,
    `${f(t.modMs)} ms`,
    `empty module ${f(t.emptyMs)} ms`,
    `${f(t.ratio)}×`,
    "",
  ]);
}
const widths = rows[0].map((_, i) =>
  Math.max(...rows.map((row) => row[i].length))
);
console.log(`\n${r.machine}`);
for (const row of rows) {
  console.log(row.map((cell, i) => cell.padEnd(widths[i])).join("  "));
}
console.log(`\nwritten to bench/results.json`);
