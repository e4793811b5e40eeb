/**
 * Runs the whole test suite on every runtime the library promises: Deno (this
 * process's), Bun 1, Node 22 and Node 24; then the library inside Cloudflare's
 * workerd (tests/workerd/run.ts: Node 24 drives Miniflare), the Durable
 * Object deployment in Miniflare (tests/cloudflare/run.ts), Chromium and the
 * npm package. Missing runtimes
 * and tools are installed from npm into `.runtimes/` (git-ignored); nothing
 * else is needed but Node + npm.
 *
 *   deno task test              # every runtime
 *   deno task test node24 bun   # only those
 *   deno task test workerd      # only the Worker
 *   deno task test durable-objects
 *
 * The static checks a JSR release needs (fmt, lint, type check, doc lint,
 * publish dry run) run beside the runtimes (four at a time;
 * TEST_CONCURRENCY=1 runs one). Bun and Node, whose runners take a
 * process's files one after another, get them split over three processes
 * (tests/_shards.ts). Counts and failures come from each runner's JUnit XML
 * report (tests/_junit.ts), not from its human output, which is kept whole
 * in `.runtimes/test-output/`. Printed: each check's line; a line when each
 * runtime starts and when it ends; the summary; then every failing test by
 * file and name with its message, and a runner that ended without a report
 * with the end of its output. Exits non-zero if a check or a test failed,
 * or a runtime ran none.
 *
 * @module
 */

import {
  capture,
  exists,
  findBun,
  findNode,
  fromNpm,
  ROOT,
} from "./_runtimes.ts";
import { failureLine, parseJUnit, summarise } from "./_junit.ts";
import { shardFiles as splitFiles } from "./_shards.ts";
import { pruneStripCache } from "./_strip_cache.ts";

const TEST_FILES = [...Deno.readDirSync(`${ROOT}tests`)]
  .map((entry) => entry.name)
  .filter((name) => name.endsWith("_test.ts"))
  .sort()
  .map((name) => `tests/${name}`);

/** TEST_FILES split over `count` shards. */
const shardFiles = (count: number, files = TEST_FILES) =>
  splitFiles(count, files);

interface Runtime {
  name: string;
  /** Finds or installs the binary; returns its path. */
  binary(): Promise<string>;
  /**
   * The test command, given the binary, the test files to run and the path
   * its runner writes its JUnit XML report to.
   */
  command(binary: string, files: string[], report: string): string[];
  /**
   * Processes to split the files over, for a runner that runs its files
   * one after another (Bun; Node without isolation): much of a test waits
   * on timers and sockets.
   */
  shards?: number;
  /** Environment for its processes, and the processes its tests start. */
  env?: Record<string, string>;
  /** What the header names; `binary --version` by default. */
  version?(binary: string): Promise<string>;
}

/**
 * Node's test flags: its readable reporter for the log, JUnit for the
 * counts, and an exit once the tests are over — a test that timed out may
 * leave a socket or a child behind, and without it the process waits on
 * that for ever and its failure is never told. (A handle the library leaks
 * then no longer hangs Node: Deno's resource sanitizers, and the stream's
 * test that a process with a closed stream exits, still catch one.)
 */
const nodeTestFlags = (report: string) => [
  "--test-reporter=spec",
  "--test-reporter-destination=stdout",
  "--test-reporter=junit",
  `--test-reporter-destination=${report}`,
  "--test-force-exit",
];

/** Where tests/node22_strip_cache.mjs keeps Node 22's stripped files. */
const STRIP_CACHE = `${ROOT}.runtimes/node22-strip-cache`;

const node = (major: number): Runtime => ({
  name: `node${major}`,
  binary: () => findNode(major),
  // All of a shard's files in one process, as Deno and Bun run theirs: a
  // process per file (Node's default) strips and compiles the library
  // again for each, more than half the CPU of a run on Node 22.
  command: (binary, files, report) => [
    binary,
    "--test",
    ...nodeTestFlags(report),
    "--experimental-test-isolation=none",
    ...files,
  ],
  shards: 3,
  // Node 22 caches no stripped TypeScript: tests/node22_strip_cache.mjs
  // keeps what its stripper made, for the shards and every process a test
  // starts (they inherit NODE_OPTIONS).
  env: major === 22
    ? {
      NODE_OPTIONS: [
        Deno.env.get("NODE_OPTIONS"),
        `--import=${new URL("node22_strip_cache.mjs", import.meta.url).href}`,
      ].filter(Boolean).join(" "),
      NODE22_STRIP_CACHE: STRIP_CACHE,
    }
    : undefined,
});

/**
 * The library bundled (esbuild) into a Worker that Miniflare runs in workerd,
 * against the fake server, driven by a node:test script on Node 24: `workerd`
 * runs tests/workerd/run.ts (the library in a Worker), `durable-objects`
 * tests/cloudflare/run.ts (the inbox contract in a Durable Object's SQL, and
 * cloudflare/'s Worker and device objects).
 */
function workerd(name: string, script: string): Runtime {
  let tools: string[] = [];
  const packageVersion = async (name: string) =>
    JSON.parse(
      await Deno.readTextFile(
        `${ROOT}.runtimes/miniflare/node_modules/${name}/package.json`,
      ),
    ).version;
  return {
    name,
    binary: async () => {
      const esbuild = await fromNpm("esbuild", "esbuild@0", ".bin/esbuild");
      const miniflare = await fromNpm(
        "miniflare",
        "miniflare@4",
        "miniflare/dist/src/index.js",
      );
      tools = ["--esbuild", esbuild, "--miniflare", miniflare];
      return await findNode(24);
    },
    command: (binary, _files, report) => [
      binary,
      ...nodeTestFlags(report),
      script,
      ...tools,
    ],
    version: async (binary) => {
      const node = (await capture([binary, "--version"])).trim();
      const [workerd, miniflare] = await Promise.all(
        ["workerd", "miniflare"].map(packageVersion),
      );
      return `workerd ${workerd}, miniflare ${miniflare}, node ${node}`;
    },
  };
}

/**
 * `mcp` against the official MCP TypeScript SDK's client (npm, a test tool
 * only): tests/mcp/run.ts on Node 24; the client spawns the CLI over stdio.
 */
function mcpClient(): Runtime {
  let sdk = "";
  return {
    name: "mcp",
    binary: async () => {
      sdk = await fromNpm(
        "mcp-sdk",
        "@modelcontextprotocol/sdk@1",
        "@modelcontextprotocol/sdk/dist/esm/client/index.js",
      );
      return await findNode(24);
    },
    command: (binary, _files, report) => [
      binary,
      ...nodeTestFlags(report),
      "tests/mcp/run.ts",
      "--sdk",
      sdk,
    ],
    version: async () =>
      `@modelcontextprotocol/sdk ${
        JSON.parse(
          await Deno.readTextFile(
            `${ROOT}.runtimes/mcp-sdk/node_modules/@modelcontextprotocol/sdk/package.json`,
          ),
        ).version
      }`,
  };
}

/** A runtime that cannot run on this machine: a note, not a failure. */
class Skip extends Error {}

/** Debian's Chromium: found, or installed with apt-get where we are root. */
async function findChromium(): Promise<string> {
  for (const path of ["/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (await exists(path)) return path;
  }
  if (Deno.build.os !== "linux" || Deno.uid?.() !== 0) {
    throw new Skip(
      "no Chromium here and not root to apt-get it: install Debian's chromium package",
    );
  }
  console.log("installing chromium with apt-get …");
  const apt = (args: string[]) =>
    new Deno.Command("apt-get", {
      args,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdout: "null",
      stderr: "inherit",
    }).output().catch(() => {
      // Root without apt (Alpine, Fedora, Arch): a note, not a failure.
      throw new Skip("no Chromium here and no apt-get to install it");
    });
  const install = ["install", "-y", "--no-install-recommends", "chromium"];
  if (!(await apt(install)).success) {
    await apt(["update"]);
    if (!(await apt(install)).success) {
      throw new Skip("apt-get could not install chromium");
    }
  }
  return "/usr/bin/chromium";
}

/**
 * A real browser: headless Chromium, driven by puppeteer-core on Node 24,
 * runs `script` — the library in a page served by the fake
 * (tests/browser/run.ts, with esbuild), or the local web app of
 * `listen --http` (tests/browser/web_app.ts, with axe-core).
 */
function chromium(
  name: string,
  script: string,
  tool: "esbuild" | "axe",
): Runtime {
  let tools: string[] = [];
  let path = "";
  return {
    name,
    binary: async () => {
      path = await findChromium();
      const puppeteer = await fromNpm(
        "puppeteer",
        "puppeteer-core@24",
        "puppeteer-core/lib/esm/puppeteer/puppeteer-core.js",
      );
      const extra = tool === "esbuild"
        ? await fromNpm("esbuild", "esbuild@0", ".bin/esbuild")
        : await fromNpm("axe", "axe-core@4", "axe-core/axe.min.js");
      tools = [
        "--chromium",
        path,
        "--puppeteer",
        puppeteer,
        `--${tool}`,
        extra,
      ];
      return await findNode(24);
    },
    command: (binary, _files, report) => [
      binary,
      ...nodeTestFlags(report),
      script,
      ...tools,
    ],
    version: async () => (await capture([path, "--version"])).trim(),
  };
}

/**
 * The npm package built from the same source (npm/build.ts), checked as npm
 * users get it (npm/check.ts): publint, arethetypeswrong, a fresh project
 * importing and type-checking it, the CLI through npx.
 */
function npmPackage(): Runtime {
  return {
    name: "npm",
    binary: () => Promise.resolve(Deno.execPath()),
    // check.ts builds the tarball first: in the run, beside the runtimes,
    // not in the install pass that everything waits for.
    command: (binary, _files, report) => [
      binary,
      "run",
      "-A",
      "npm/check.ts",
      "--junit",
      report,
    ],
    version: async () => {
      const { name, version } = JSON.parse(
        await Deno.readTextFile(`${ROOT}deno.json`),
      );
      return `package ${name}@${version}`;
    },
  };
}

/** Folders this run made, removed at its end (or at Ctrl-C). */
const temporary: string[] = [];
const removeTemporary = () => {
  for (const folder of temporary.splice(0)) {
    Deno.removeSync(folder, { recursive: true });
  }
};
// The runners get the terminal's Ctrl-C too; this leaves no folder behind.
Deno.addSignalListener("SIGINT", () => {
  removeTemporary();
  Deno.exit(130);
});

/** What JSR publishes: the modules whose JSDoc examples `--doc` runs. */
const DOC_PATHS = [
  "README.md",
  "mod.ts",
  "lib/",
  "cli/",
  "inbox/",
  "cloudflare/",
  "testing/",
];

/**
 * Modules that each import a share of `files`, in a temporary folder: Deno
 * starts a worker and loads the library again for every test module, which
 * was a third of its row's CPU with one module per file. The files' tests
 * run as in their own modules (Node's shards and Bun already run them
 * side by side in one process); a failure names its test and its file.
 */
function groupModules(files: string[], count: number): string[] {
  const folder = Deno.makeTempDirSync({ prefix: "deno-test-groups-" });
  temporary.push(folder);
  return shardFiles(count, files).map((group, i) => {
    const path = `${folder}/group_${i + 1}_test.ts`;
    Deno.writeTextFileSync(
      path,
      group.map((file) =>
        `import ${
          JSON.stringify(new URL(`../${file}`, import.meta.url).href)
        };\n`
      ).join(""),
    );
    return path;
  });
}

const RUNTIMES: Runtime[] = [
  {
    name: "deno",
    binary: () => Promise.resolve(Deno.execPath()),
    // Type-checked once already, by the static checks. Four groups: as many
    // as DENO_JOBS runs at once.
    command: (binary, files, report) => [
      binary,
      "test",
      "-A",
      "--doc",
      "--parallel",
      "--no-check",
      `--junit-path=${report}`,
      ...DOC_PATHS,
      ...groupModules(files, 4),
    ],
  },
  {
    name: "bun",
    binary: findBun,
    command: (binary, files, report) => [
      binary,
      "test",
      // Bun's own default is 5 s a test: a busy machine starts a process
      // slower than that. A safety net, as every runner's here.
      "--timeout=120000",
      "--reporter=junit",
      `--reporter-outfile=${report}`,
      ...files.map((f) => `./${f}`),
    ],
    shards: 3,
  },
  node(22),
  node(24),
  workerd("workerd", "tests/workerd/run.ts"),
  workerd("durable-objects", "tests/cloudflare/run.ts"),
  chromium("chromium", "tests/browser/run.ts", "esbuild"),
  // The local web app (listen --http) in the real browser, axe-core beside.
  chromium("web", "tests/browser/web_app.ts", "axe"),
  mcpClient(),
  npmPackage(),
];

/** What one runtime's run came to. */
interface RunResult {
  /** Its line in the summary. */
  line: string;
  /** What failed: each failing test, and a runner that ended without report. */
  failures: Failure[];
}

/** One thing that failed, with what to show of it. */
interface Failure {
  line: string;
  details: string;
}

/** Where each run keeps every runner's whole output, to read after. */
const OUTPUT_DIR = `${ROOT}.runtimes/test-output`;
/** How much of a failure's message, or of a runner's output, is shown. */
const DETAIL_LINES = 25;

async function run(runtime: Runtime): Promise<RunResult> {
  let binary: string;
  try {
    binary = await runtime.binary();
  } catch (error) {
    if (!(error instanceof Skip)) throw error;
    return {
      line: `${runtime.name}: skipped — ${error.message}`,
      failures: [],
    };
  }
  const version = (await (runtime.version?.(binary) ??
    capture([binary, "--version"]))).split("\n")[0].trim();
  const shards = shardFiles(runtime.shards ?? 1);
  console.log(
    `${runtime.name} (${version}): running${
      shards.length > 1 ? ` in ${shards.length} processes` : ""
    } …`,
  );
  const started = performance.now();
  const reports = Deno.makeTempDirSync({ prefix: "test-reports-" });
  temporary.push(reports);
  const shardRuns = await Promise.all(
    shards.map(async (files, i) => {
      const name = shards.length > 1
        ? `${runtime.name}-${i + 1}`
        : runtime.name;
      const report = `${reports}/${name}.xml`;
      const [program, ...args] = runtime.command(binary, files, report);
      const result = await new Deno.Command(program, {
        args,
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
        // Deno runs as many files at once as there are cores by default;
        // most of a test waits on timers and sockets, so run more.
        env: {
          NO_COLOR: "1",
          DENO_JOBS: "4",
          // Node 24 keeps the stripped, compiled library for the next shard
          // and the next run (Node 22 strips again: it caches no TypeScript).
          NODE_COMPILE_CACHE: `${ROOT}.runtimes/node-compile-cache`,
          ...runtime.env,
        },
      }).output();
      const output = (new TextDecoder().decode(result.stdout) +
        new TextDecoder().decode(result.stderr)).trimEnd();
      const log = `${OUTPUT_DIR}/${name}.txt`;
      await Deno.writeTextFile(log, `${output}\n`);
      const xml = await Deno.readTextFile(report).catch(() => "");
      return { result, output, log, tests: parseJUnit(xml, ROOT) };
    }),
  );
  const took = seconds(started);
  const { passed, failed, failures } = summarise(
    shardRuns.flatMap((shard) => shard.tests),
  );
  const found: Failure[] = failures.map((test) => ({
    line: `${runtime.name}: ${failureLine(test)}`,
    details: lastLines(test.message ?? "", DETAIL_LINES, "head"),
  }));
  // A runner that failed with no failing test in its report crashed, timed
  // out or could not start: its own output says why.
  for (const { result, output, log, tests } of shardRuns) {
    const testFailed = tests.some((test) => test.outcome === "failed");
    if ((result.success && tests.length > 0) || testFailed) continue;
    found.push({
      line: `${runtime.name}: ${
        tests.length === 0 ? "no test report" : "no failing test reported"
      }, exit ${result.code} (whole output: ${log.slice(ROOT.length)})`,
      details: lastLines(output, DETAIL_LINES, "tail"),
    });
  }
  totals.passed += passed;
  totals.failed += failed + (found.length - failures.length);
  const line = `${runtime.name}: ${passed} passed, ${failed} failed${
    found.length > failures.length
      ? `, ${found.length - failures.length} runner failures`
      : ""
  } in ${took}`;
  console.log(line);
  return { line, failures: found };
}

/** The first or last `count` lines of `text`, indented, noting what is left out. */
function lastLines(text: string, count: number, end: "head" | "tail"): string {
  const lines = text.trimEnd().split("\n");
  const kept = end === "head" ? lines.slice(0, count) : lines.slice(-count);
  const left = lines.length - kept.length;
  const note = left > 0 ? [`… ${left} more lines`] : [];
  return (end === "head" ? [...kept, ...note] : [...note, ...kept])
    .map((line) => `    ${line}`).join("\n");
}

const CHECKS: [string, string[]][] = [
  ["fmt", ["fmt", "--check"]],
  ["lint", ["lint"]],
  // --doc: the JSDoc examples too, since the Deno run skips its own check.
  ["check", [
    "check",
    "--doc",
    "mod.ts",
    "lib",
    "cli",
    "inbox",
    "cloudflare",
    "testing",
    "tests",
    "examples",
    "bench",
    "npm",
  ]],
  ["doc-lint", [
    "doc",
    "--lint",
    "mod.ts",
    "testing/mod.ts",
    "cli/main.ts",
    "inbox/mod.ts",
    "cloudflare/mod.ts",
  ]],
  ["publish-dry-run", ["publish", "--dry-run", "--allow-dirty"]],
];

/** Runs the static checks; returns the names of those that failed. */
async function staticChecks(): Promise<string[]> {
  const failed: string[] = [];
  for (const [name, args] of CHECKS) {
    const started = performance.now();
    const result = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    console.log(
      `check ${name}: ${result.success ? "ok" : "FAILED"} in ${
        seconds(started)
      }`,
    );
    if (!result.success) {
      failed.push(name);
      console.log(new TextDecoder().decode(result.stderr).trimEnd());
      console.log(new TextDecoder().decode(result.stdout).trimEnd());
    }
  }
  return failed;
}

/** Wall time since `started` (a performance.now()), for the report. */
function seconds(started: number): string {
  return `${((performance.now() - started) / 1000).toFixed(1)} s`;
}

const totals = { passed: 0, failed: 0 };
const runStarted = performance.now();
const wanted = Deno.args.length > 0
  ? RUNTIMES.filter((r) => Deno.args.includes(r.name))
  : RUNTIMES;
// Runtimes are installed one after another, then run CONCURRENCY at a time
// (4: measured best on 2 cores; much of a test run waits on timers and
// sockets), beside the static checks. Each prints a line when it starts and
// when it ends; the summary and every failure come at the end.
const CONCURRENCY = Number(Deno.env.get("TEST_CONCURRENCY") ?? 4);
for (const runtime of wanted) await runtime.binary().catch(() => {});
pruneStripCache(STRIP_CACHE);
Deno.mkdirSync(OUTPUT_DIR, { recursive: true });
// A run of named runtimes is for debugging: it skips the static checks.
const checked = Deno.args.length > 0 ? Promise.resolve([]) : staticChecks();
const results: Promise<RunResult>[] = [];
const slots: Promise<unknown>[] = [];
for (const runtime of wanted) {
  while (slots.length >= CONCURRENCY) await Promise.race(slots);
  const result = run(runtime).catch((error): RunResult => {
    totals.failed++;
    const line = `${runtime.name}: could not run: ${(error as Error).message}`;
    console.log(line);
    return { line, failures: [{ line, details: "" }] };
  });
  const slot: Promise<unknown> = result.then((): void => {
    slots.splice(slots.indexOf(slot), 1);
  });
  slots.push(slot);
  results.push(result);
}
const finished = await Promise.all(results);
const failedChecks = await checked;
totals.failed += failedChecks.length;
const lines = finished.map((result) => result.line);
if (failedChecks.length > 0) {
  lines.push(`checks: ${failedChecks.join(", ")} failed`);
}
console.log(`\n=== summary ===\n${lines.join("\n")}`);
const failures = finished.flatMap((result) => result.failures);
if (failures.length > 0) {
  console.log(`\n=== failed (${failures.length}) ===`);
  for (const { line, details } of failures) {
    console.log(details ? `${line}\n${details}` : line);
  }
  console.log(failures.map((failure) => `✗ ${failure.line}`).join("\n"));
}
console.log(
  `total: ${totals.passed} passed, ${totals.failed} failed in ${
    seconds(runStarted)
  }`,
);
removeTemporary();
Deno.exit(totals.failed === 0 ? 0 : 1);
