/**
 * The benchmarks, as `deno task bench`: every figure next to a baseline
 * measured in the same run, printed as a table and written to
 * bench/results.json.
 *
 * - latency and burst of streamMessages() on Deno, Bun and Node 24, against
 *   the fake server running in a process of its own (bench/stream_bench.ts);
 * - latency with the fake in the client's own process, over loopback and
 *   over the fake's in-process transport, messages 10 ms apart and
 *   back-to-back, against a bare loop (bench/latency_in_process.ts);
 * - under load: deletes and crash re-delivery with a steady flow and a slow
 *   consumer, and with slow downloads; the delay of a message queued in the
 *   login window (bench/load_bench.ts);
 * - an `R` storm: logins per second a server answering every login with `R`
 *   gets, against the retry policy's ceiling (bench/r_storm.ts);
 * - end-to-end decryption: a burst of 1 KB encrypted messages streamed with
 *   the key, against the same burst plain; one field through the library
 *   against the platform's floor (bench/decrypt_bench.ts);
 * - soak: 10,000 `R` reconnects while messages flow (bench/soak.ts);
 * - many streams: 1,000 streams in one process against 1,000 bare WebSockets
 *   — RSS, heap, idle CPU (bench/many_streams.ts);
 * - the relay: 1,000 devices in one `relay` process — time until all are
 *   online, RSS, idle CPU, send → the device's line (bench/relay_bench.ts);
 * - the inbox: receiving a backlog of 10,000 into it against the same
 *   stream without it; `listen` printing that backlog with its inbox against
 *   `listen --no-inbox`; full-text search over 100,000 stored messages, the
 *   first page of history, bytes per message (bench/inbox_bench.ts);
 * - footprint: each entry point bundled and minified by esbuild (from npm),
 *   gzipped, against its budget (bench/footprint.ts); import time of mod.ts
 *   against an empty module.
 *
 * The run fails (exit code 1) when a bundle is over its budget. Options, for
 * quick runs while developing (these write no results.json):
 *
 *   deno task bench --only many,latency   # sections: stream, latency, load, rstorm, decrypt, soak, many, relay, inbox, footprint
 *   deno task bench --runtimes deno,node24
 *   deno task bench --quick               # small counts everywhere
 *   deno task bench --only many --streams 200
 *
 * @module
 */

import { findBun, findNode, ROOT } from "../tests/_runtimes.ts";
import { bundleSizes } from "./footprint.ts";

const SECTIONS = [
  "stream",
  "latency",
  "load",
  "rstorm",
  "decrypt",
  "soak",
  "many",
  "relay",
  "inbox",
  "footprint",
];

function option(name: string): string | undefined {
  const index = Deno.args.indexOf(`--${name}`);
  return index === -1 ? undefined : Deno.args[index + 1];
}

const QUICK = Deno.args.includes("--quick");
const only = option("only")?.split(",") ?? SECTIONS;
for (const name of only) {
  if (!SECTIONS.includes(name)) {
    throw new Error(`--only: no section ${name} (${SECTIONS.join(", ")})`);
  }
}
const STREAMS = option("streams") ?? (QUICK ? "100" : "1000");
const PARTIAL = QUICK || option("only") !== undefined ||
  option("runtimes") !== undefined || option("streams") !== undefined;
const IMPORT_RUNS = QUICK ? 3 : 15;

/** A script's arguments in a quick run. */
const QUICK_ARGS: Record<string, string[]> = {
  "bench/stream_bench.ts": ["--messages", "200", "--burst", "2000"],
  "bench/latency_in_process.ts": ["--messages", "60"],
  "bench/r_storm.ts": ["--seconds", "3"],
  "bench/decrypt_bench.ts": ["--messages", "300", "--fields", "300"],
  "bench/soak.ts": ["--reconnects", "500"],
  "bench/many_streams.ts": ["--idle", "2", "--settle", "6"],
  "bench/relay_bench.ts": ["--idle", "2", "--settle", "6", "--samples", "10"],
};

interface Runtime {
  name: string;
  binary: string;
  /** Arguments before the script; `gc` adds what exposes a full GC. */
  args(gc?: boolean): string[];
}

const allRuntimes: Record<string, () => Promise<Runtime>> = {
  deno: () =>
    Promise.resolve({
      name: "deno",
      binary: Deno.execPath(),
      args: (gc) => ["run", "-A", ...(gc ? ["--v8-flags=--expose-gc"] : [])],
    }),
  bun: async () => ({ name: "bun", binary: await findBun(), args: () => [] }),
  node24: async () => ({
    name: "node24",
    binary: await findNode(24),
    args: (gc) => gc ? ["--expose-gc"] : [],
  }),
};
const runtimes: Runtime[] = [];
for (const name of option("runtimes")?.split(",") ?? Object.keys(allRuntimes)) {
  if (!allRuntimes[name]) throw new Error(`--runtimes: no runtime ${name}`);
  runtimes.push(await allRuntimes[name]());
}

/** Runs a script, returns the JSON object its stdout's last line holds. */
async function runJson(
  runtime: Runtime,
  script: string,
  args: string[],
  gc = false,
): Promise<Record<string, unknown>> {
  const result = await new Deno.Command(runtime.binary, {
    args: [
      ...runtime.args(gc),
      script,
      ...args,
      ...(QUICK ? QUICK_ARGS[script] ?? [] : []),
    ],
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

async function footprint() {
  const sizes = await bundleSizes();
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
  return { ...sizes, importTimes };
}

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine:
    `${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores, ${
      Math.round(Deno.systemMemoryInfo().total / 2 ** 30)
    } GiB`,
  stream: {},
  latencyInProcess: {},
  load: {},
  rStorm: {},
  decrypt: {},
  soak: {},
  manyStreams: {},
  relay: {},
  inbox: {},
};
const wanted = (section: string) => only.includes(section);
/** Stores one runtime's figures of a section. */
const put = (section: string, runtime: Runtime, value: unknown) =>
  (results[section] as Record<string, unknown>)[runtime.name] = value;

// The sections that need it get the fake in a process of its own.
const server = ["stream", "soak", "many", "relay", "inbox"].some(wanted)
  ? await startServer()
  : { info: "", stop: () => Promise.resolve() };
try {
  for (const runtime of runtimes) {
    if (wanted("stream")) {
      console.log(`stream bench on ${runtime.name} …`);
      put(
        "stream",
        runtime,
        await runJson(runtime, "bench/stream_bench.ts", [server.info]),
      );
    }
    if (wanted("latency")) {
      const byTransport: Record<string, unknown> = {};
      for (const transport of ["loopback", "memory"]) {
        console.log(
          `latency, fake in-process (${transport}), on ${runtime.name} …`,
        );
        byTransport[transport] = await runJson(
          runtime,
          "bench/latency_in_process.ts",
          ["--transport", transport],
        );
      }
      put("latencyInProcess", runtime, byTransport);
    }
    if (wanted("load")) {
      console.log(`load and the login window on ${runtime.name} …`);
      put(
        "load",
        runtime,
        await runJson(
          runtime,
          "bench/load_bench.ts",
          QUICK ? ["--quick"] : [],
        ),
      );
    }
    if (wanted("rstorm")) {
      console.log(`R storm on ${runtime.name} …`);
      put("rStorm", runtime, await runJson(runtime, "bench/r_storm.ts", []));
    }
    if (wanted("decrypt")) {
      console.log(`decryption on ${runtime.name} …`);
      put(
        "decrypt",
        runtime,
        await runJson(runtime, "bench/decrypt_bench.ts", []),
      );
    }
    if (wanted("soak")) {
      console.log(`soak on ${runtime.name} …`);
      put(
        "soak",
        runtime,
        await runJson(runtime, "bench/soak.ts", [server.info], true),
      );
    }
    if (wanted("inbox")) {
      console.log(`the inbox on ${runtime.name} …`);
      put(
        "inbox",
        runtime,
        await runJson(runtime, "bench/inbox_bench.ts", [
          server.info,
          ...(QUICK ? ["--backlog", "1000", "--stored", "10000"] : []),
        ]),
      );
    }
    if (wanted("many")) {
      const modes: Record<string, Record<string, number>> = {};
      for (const mode of ["library", "bare", "protocol"]) {
        console.log(`${STREAMS} ${mode} streams on ${runtime.name} …`);
        modes[mode] = await runJson(runtime, "bench/many_streams.ts", [
          server.info,
          "--mode",
          mode,
          "--streams",
          STREAMS,
        ], true) as Record<string, number>;
      }
      put("manyStreams", runtime, modes);
    }
    if (wanted("relay")) {
      console.log(`relay with ${STREAMS} devices on ${runtime.name} …`);
      put(
        "relay",
        runtime,
        await runJson(runtime, "bench/relay_bench.ts", [
          server.info,
          "--devices",
          STREAMS,
        ], true),
      );
    }
  }
} finally {
  await server.stop();
}
if (wanted("footprint")) {
  console.log("footprint …");
  results.footprint = await footprint();
}
if (!PARTIAL) {
  await Deno.writeTextFile(
    `${ROOT}bench/results.json`,
    `${JSON.stringify(results, null, 2)}\n`,
  );
}

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
for (const [name, transports] of Object.entries(r.latencyInProcess as Any)) {
  for (const [transport, t] of Object.entries(transports as Any)) {
    for (
      const [spacing, target, label] of [
        [t.spaced, 1.3, `${t.spaced.spacingMs} ms apart`],
        [t.backToBack, 2, "back-to-back"],
      ] as const
    ) {
      rows.push([
        `${name} in-process (${transport}) latency, ${label}`,
        `${f(spacing.clientMs.median, 3)} ms`,
        `bare ${f(spacing.bareMs.median, 3)} ms / ≤ ${target}×`,
        `${f(spacing.ratio.median)}×`,
        spacing.ratio.median <= target ? "yes" : "no",
      ]);
    }
  }
}
for (const [name, l] of Object.entries(r.load as Any)) {
  for (const [label, load] of [["A", l.loadA], ["B", l.loadB]] as const) {
    rows.push([
      `${name} load ${label}: deletes, crash re-delivery (max)`,
      `${load.deletes} for ${load.handled} handled`,
      "re-delivery ≤ 2 × 16 + 1",
      String(load.maxCrashRedelivery),
      load.deletes > 0 && load.maxCrashRedelivery <= 33 ? "yes" : "no",
    ]);
  }
  const window = l.loginWindow;
  rows.push([
    `${name} message queued in the login window`,
    window.maxMs === null ? "never" : `${window.maxMs} ms (max)`,
    "≤ login delay + one keep-alive (1.3 s)",
    "",
    window.missed === 0 && window.maxMs <= 1_500 ? "yes" : "no",
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
  rows.push([
    `${name} decrypt one 1 KB field`,
    `${f(d.perField.libraryMs, 3)} ms`,
    `platform by hand ${f(d.perField.floorMs, 3)} ms / ≤ 1.2×`,
    `${f(d.perField.ratio)}×`,
    d.perField.ratio <= 1.2 ? "yes" : "no",
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
const mib = (bytes: number) => `${f(bytes / 2 ** 20, 1)} MiB`;
const kib = (bytes: number) => `${f(bytes / 1024, 1)} KiB`;
for (const [name, i] of Object.entries(r.inbox as Any)) {
  rows.push([
    `${name} receive ${i.backlog} into the inbox, fake in-process`,
    `${f(i.receiveMs.inbox)} ms`,
    `without it ${f(i.receiveMs.plain)} ms`,
    `${f(i.receiveRatio)}×`,
    "",
  ]);
  if (i.receiveOverLoopbackRatio !== undefined) {
    rows.push([
      `${name} receive ${i.backlog} into the inbox, fake in its own process`,
      `${f(i.receiveOverLoopbackMs.inbox)} ms`,
      `without it ${f(i.receiveOverLoopbackMs.plain)} ms / ≤ 1.5×`,
      `${f(i.receiveOverLoopbackRatio)}×`,
      i.receiveOverLoopbackRatio <= 1.5 ? "yes" : "no",
    ]);
    rows.push([
      `${name} of which inside accept() (packed, written, synced)`,
      `${f(i.receiveOverLoopbackMs.accept)} ms`,
      "the inbox's own share of the above",
      "",
      "",
    ]);
  }
  if (i.listenRatio !== undefined) {
    rows.push([
      `${name} listen: ${i.backlog} to stdout with the inbox`,
      `${f(i.listenMs.inbox)} ms`,
      `--no-inbox ${f(i.listenMs.plain)} ms / ≤ 1.5×`,
      `${f(i.listenRatio)}×`,
      i.listenRatio <= 1.5 ? "yes" : "no",
    ]);
  }
  rows.push([
    `${name} search ${i.stored} stored, median`,
    `${f(i.searchMedianMs, 2)} ms`,
    "≤ 20 ms",
    "",
    i.searchMedianMs <= 20 ? "yes" : "no",
  ]);
  rows.push([
    `${name} history's first page, opening the file`,
    `${f(i.coldFirstPageMs, 1)} ms`,
    "≤ 50 ms",
    "",
    i.coldFirstPageMs <= 50 ? "yes" : "no",
  ]);
  rows.push([
    `${name} inbox bytes per stored message`,
    `${Math.round(i.bytesPerMessage)} B`,
    "",
    "",
    "",
  ]);
}
for (const [name, m] of Object.entries(r.manyStreams as Any)) {
  const { library: l, bare: b } = m;
  const rss = l.after.rss / b.after.rss;
  const cpu = l.idleCpuMs / b.idleCpuMs;
  rows.push([
    `${name} ${l.streams} streams: process RSS`,
    mib(l.after.rss),
    `${b.streams} bare sockets ${mib(b.after.rss)} / ≤ 1.15×`,
    `${f(rss)}×`,
    rss <= 1.15 ? "yes" : "no",
  ]);
  const p = m.protocol;
  rows.push([
    `${name} ${p.streams} sockets + their 2 requests: RSS`,
    mib(p.after.rss),
    "the platform's fetch after 2 requests a socket",
    `${f(l.after.rss / p.after.rss)}×`,
    "",
  ]);
  rows.push([
    `${name} per stream: RSS, heap`,
    `${kib(l.perStream.rssBytes)}, ${kib(l.perStream.heapBytes)}`,
    `bare ${kib(b.perStream.rssBytes)}, ${kib(b.perStream.heapBytes)}`,
    `${f(l.perStream.rssBytes / b.perStream.rssBytes)}×`,
    "",
  ]);
  rows.push([
    `${name} ${l.streams} streams: idle CPU`,
    `${f(l.idleCpuPercent, 3)} % of a core`,
    `bare ${f(b.idleCpuPercent, 3)} % / ≤ 2×`,
    `${f(cpu)}×`,
    cpu <= 2 ? "yes" : "no",
  ]);
}
for (const [name, x] of Object.entries((r.relay ?? {}) as Any)) {
  rows.push([
    `${name} relay, ${x.devices} devices: all online`,
    `${f(x.upMs / 1000)} s`,
    "",
    "",
    "",
  ]);
  rows.push([
    `${name} relay, ${x.devices} devices: RSS, idle CPU`,
    `${mib(x.after.rss)}, ${f(x.idleCpuPercent, 3)} % of a core`,
    `per device ${kib(x.perDevice.rssBytes)}`,
    "",
    "",
  ]);
  rows.push([
    `${name} relay: send → the device's line, median / p95`,
    `${f(x.sendToSinkMs.median)} / ${f(x.sendToSinkMs.p95)} ms`,
    "",
    "",
    "",
  ]);
}
const fp = r.footprint ?? { entries: {}, importTimes: {}, overBudget: [] };
for (const [entry, size] of Object.entries(fp.entries as Any)) {
  rows.push([
    `${entry} bundled + minified`,
    `${size.bytes} B`,
    `gzip ${size.gzipBytes} B / ≤ ${size.gzipBudget} B`,
    "",
    size.gzipBytes <= size.gzipBudget ? "yes" : "OVER BUDGET",
  ]);
}
if (fp.decryptionShakenOut !== undefined) {
  rows.push([
    "streamMessages without encryptionKey: decryption left out",
    fp.decryptionShakenOut ? "yes" : "no",
    "not without an API change (bench/footprint.ts)",
    "",
    "",
  ]);
}
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
console.log(
  PARTIAL
    ? "\na partial run: bench/results.json left as it was"
    : "\nwritten to bench/results.json",
);
if (fp.overBudget.length > 0) {
  console.error(
    `\nFAILED: over its gzipped budget: ${
      fp.overBudget.join(", ")
    } (budgets in bench/footprint.ts)`,
  );
  Deno.exit(1);
}
