/**
 * Runs the whole test suite on every runtime the library promises: Deno (this
 * process's), Bun 1, Node 22 and Node 24; then the library inside Cloudflare's
 * workerd (tests/workerd/run.ts: Node 24 drives Miniflare). Missing runtimes
 * and tools are installed from npm into `.runtimes/` (git-ignored); nothing
 * else is needed but Node + npm.
 *
 *   deno task test              # every runtime
 *   deno task test node24 bun   # only those
 *   deno task test workerd      # only the Worker
 *
 * The static checks a JSR release needs (fmt, lint, type check, doc lint,
 * publish dry run) run beside the runtimes (four at a time;
 * TEST_CONCURRENCY=1 runs one). Bun and Node, whose runners take a
 * process's files one after another, get them split over three processes.
 * Printed: each check's line, each runner's own output, then one line per
 * runtime with its wall time and a total. Exits non-zero if a check or a
 * test failed, or a runtime ran none.
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

const TEST_FILES = [...Deno.readDirSync(`${ROOT}tests`)]
  .map((entry) => entry.name)
  .filter((name) => name.endsWith("_test.ts"))
  .sort()
  .map((name) => `tests/${name}`);

/**
 * About how long (s) a file takes on its own, where that is far from the
 * half second most take: tests that wait on real time by design (an 8 s
 * SIGSTOP, a 2 s stop grace, child processes, 50 MB bodies). Only for
 * balancing shards: a wrong figure costs time, never a result.
 */
const FILE_SECONDS: Record<string, number> = {
  "tests/stream_resume_test.ts": 9,
  "tests/stream_edges_test.ts": 3.5,
  "tests/stream_reconnect_test.ts": 3.5,
  "tests/hostile_input_test.ts": 3,
  "tests/cli_listen_test.ts": 2,
  "tests/cli_test.ts": 1.5,
  "tests/deleter_test.ts": 1.5,
  "tests/stream_lifecycle_test.ts": 1.5,
};

/** `files` split over `count` shards of about equal time. */
function shardFiles(count: number, files = TEST_FILES): string[][] {
  const shards = Array.from({ length: count }, () => ({
    seconds: 0,
    files: [] as string[],
  }));
  const seconds = (file: string) => FILE_SECONDS[file] ?? 0.5;
  const longestFirst = [...files].sort((a, b) => seconds(b) - seconds(a));
  for (const file of longestFirst) {
    const lightest = shards.reduce((a, b) => b.seconds < a.seconds ? b : a);
    lightest.files.push(file);
    lightest.seconds += seconds(file);
  }
  return shards.map((shard) => shard.files.sort());
}

interface Runtime {
  name: string;
  /** Finds or installs the binary; returns its path. */
  binary(): Promise<string>;
  /** The test command, given the binary and the test files to run. */
  command(binary: string, files: string[]): string[];
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
  /** Passed and failed counts from the runner's output. */
  count(output: string): { passed: number; failed: number } | undefined;
}

const nodeCount = (output: string) => {
  const pass = output.match(/^(?:#|ℹ) pass (\d+)$/m);
  const fail = output.match(/^(?:#|ℹ) fail (\d+)$/m);
  return pass && fail
    ? { passed: Number(pass[1]), failed: Number(fail[1]) }
    : undefined;
};

/** Where tests/node22_strip_cache.mjs keeps Node 22's stripped files. */
const STRIP_CACHE = `${ROOT}.runtimes/node22-strip-cache`;

const node = (major: number): Runtime => ({
  name: `node${major}`,
  binary: () => findNode(major),
  // All of a shard's files in one process, as Deno and Bun run theirs: a
  // process per file (Node's default) strips and compiles the library
  // again for each, more than half the CPU of a run on Node 22.
  command: (binary, files) => [
    binary,
    "--test",
    "--test-reporter=spec",
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
  count: nodeCount,
});

/**
 * The library bundled (esbuild) into a Worker that Miniflare runs in workerd,
 * against the fake server, driven by a node:test script on Node 24.
 */
function workerd(): Runtime {
  let tools: string[] = [];
  const packageVersion = async (name: string) =>
    JSON.parse(
      await Deno.readTextFile(
        `${ROOT}.runtimes/miniflare/node_modules/${name}/package.json`,
      ),
    ).version;
  return {
    name: "workerd",
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
    command: (binary) => [
      binary,
      "--test-reporter=spec",
      "tests/workerd/run.ts",
      ...tools,
    ],
    version: async (binary) => {
      const node = (await capture([binary, "--version"])).trim();
      const [workerd, miniflare] = await Promise.all(
        ["workerd", "miniflare"].map(packageVersion),
      );
      return `workerd ${workerd}, miniflare ${miniflare}, node ${node}`;
    },
    count: nodeCount,
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
 * A real browser: headless Chromium runs the library in a page served by
 * the fake (tests/browser/run.ts, driven by puppeteer-core on Node 24).
 */
function chromium(): Runtime {
  let tools: string[] = [];
  let path = "";
  return {
    name: "chromium",
    binary: async () => {
      path = await findChromium();
      const esbuild = await fromNpm("esbuild", "esbuild@0", ".bin/esbuild");
      const puppeteer = await fromNpm(
        "puppeteer",
        "puppeteer-core@24",
        "puppeteer-core/lib/esm/puppeteer/puppeteer-core.js",
      );
      tools = [
        "--chromium",
        path,
        "--puppeteer",
        puppeteer,
        "--esbuild",
        esbuild,
      ];
      return await findNode(24);
    },
    command: (binary) => [
      binary,
      "--test-reporter=spec",
      "tests/browser/run.ts",
      ...tools,
    ],
    version: async () => (await capture([path, "--version"])).trim(),
    count: nodeCount,
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
    command: (binary) => [binary, "run", "-A", "npm/check.ts"],
    version: async () => {
      const { name, version } = JSON.parse(
        await Deno.readTextFile(`${ROOT}deno.json`),
      );
      return `package ${name}@${version}`;
    },
    count: nodeCount,
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
const DOC_PATHS = ["README.md", "mod.ts", "lib/", "cli/", "testing/"];

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
    command: (binary, files) => [
      binary,
      "test",
      "-A",
      "--doc",
      "--parallel",
      "--no-check",
      ...DOC_PATHS,
      ...groupModules(files, 4),
    ],
    count: (output) => {
      const line = output.match(
        /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/,
      );
      return line
        ? { passed: Number(line[1]), failed: Number(line[2]) }
        : undefined;
    },
  },
  {
    name: "bun",
    binary: findBun,
    command: (binary, files) => [binary, "test", ...files.map((f) => `./${f}`)],
    shards: 3,
    count: (output) => {
      const pass = output.match(/^\s*(\d+) pass$/m);
      const fail = output.match(/^\s*(\d+) fail$/m);
      return pass && fail
        ? { passed: Number(pass[1]), failed: Number(fail[1]) }
        : undefined;
    },
  },
  node(22),
  node(24),
  workerd(),
  chromium(),
  npmPackage(),
];

/** What one runtime's run printed, and its summary line. */
interface RunResult {
  output: string;
  line: string;
}

async function run(runtime: Runtime): Promise<RunResult> {
  let binary: string;
  try {
    binary = await runtime.binary();
  } catch (error) {
    if (!(error instanceof Skip)) throw error;
    return { output: "", line: `${runtime.name}: skipped — ${error.message}` };
  }
  const version = await (runtime.version?.(binary) ??
    capture([binary, "--version"]));
  const started = performance.now();
  const header = `\n=== ${runtime.name} (${version.split("\n")[0].trim()}) ===`;
  const shards = runtime.shards ?? 1;
  const results = await Promise.all(
    shardFiles(shards).map((files) => {
      const [program, ...args] = runtime.command(binary, files);
      return new Deno.Command(program, {
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
    }),
  );
  const took = seconds(started);
  const outputs = results.map((result) =>
    (new TextDecoder().decode(result.stdout) +
      new TextDecoder().decode(result.stderr)).trimEnd()
  );
  const output = `${header}\n${outputs.join("\n")}`;
  let counts: { passed: number; failed: number } | undefined = {
    passed: 0,
    failed: 0,
  };
  for (const text of outputs) {
    const shard = runtime.count(text);
    counts = shard && counts && {
      passed: counts.passed + shard.passed,
      failed: counts.failed + shard.failed,
    };
  }
  const result = results.find((r) => !r.success) ?? results[0];
  if (!counts) {
    totals.failed++;
    return {
      output,
      line:
        `${runtime.name}: no test count found (exit ${result.code}, ${took})`,
    };
  }
  const ok = result.success && counts.failed === 0 && counts.passed > 0;
  totals.passed += counts.passed;
  totals.failed += counts.failed + (ok ? 0 : counts.failed === 0 ? 1 : 0);
  return {
    output,
    line: `${runtime.name}: ${counts.passed} passed, ${counts.failed} failed${
      ok ? "" : ` (exit ${result.code})`
    } in ${took}`,
  };
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
    "testing",
    "tests",
    "examples",
    "bench",
    "npm",
  ]],
  ["doc-lint", ["doc", "--lint", "mod.ts", "testing/mod.ts", "cli/main.ts"]],
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

/**
 * Node 22's strip cache keeps a file per version of each .ts file it loaded;
 * once it holds many checkouts' worth, it starts over.
 */
function pruneStripCache(limit = 5_000): void {
  try {
    let entries = 0;
    for (const _ of Deno.readDirSync(STRIP_CACHE)) {
      if (++entries > limit) {
        Deno.removeSync(STRIP_CACHE, { recursive: true });
        return;
      }
    }
  } catch {
    // No cache yet.
  }
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
const lines: string[] = [];
// Runtimes are installed one after another, then run CONCURRENCY at a time
// (4: measured best on 2 cores; much of a test run waits on timers and
// sockets), beside the static checks. Each one's output is printed whole,
// in the order of RUNTIMES.
const CONCURRENCY = Number(Deno.env.get("TEST_CONCURRENCY") ?? 4);
for (const runtime of wanted) await runtime.binary().catch(() => {});
pruneStripCache();
// A run of named runtimes is for debugging: it skips the static checks.
const checked = Deno.args.length > 0 ? Promise.resolve([]) : staticChecks();
const results: Promise<RunResult>[] = [];
const slots: Promise<unknown>[] = [];
for (const runtime of wanted) {
  while (slots.length >= CONCURRENCY) await Promise.race(slots);
  const result = run(runtime).catch((error): RunResult => {
    totals.failed++;
    return {
      output: "",
      line: `${runtime.name}: could not run: ${(error as Error).message}`,
    };
  });
  const slot: Promise<unknown> = result.then((): void => {
    slots.splice(slots.indexOf(slot), 1);
  });
  slots.push(slot);
  results.push(result);
}
for (const result of results) {
  const { output, line } = await result;
  if (output) console.log(output);
  lines.push(line);
}
const failedChecks = await checked;
totals.failed += failedChecks.length;
if (failedChecks.length > 0) {
  lines.push(`checks: ${failedChecks.join(", ")} failed`);
}
console.log(`\n=== summary ===\n${lines.join("\n")}`);
console.log(
  `total: ${totals.passed} passed, ${totals.failed} failed in ${
    seconds(runStarted)
  }`,
);
removeTemporary();
Deno.exit(totals.failed === 0 ? 0 : 1);
