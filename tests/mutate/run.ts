/**
 * Mutation testing of lib/ with StrykerJS: each mutant of the library is run
 * against the test files that reach it (tests/*_test.ts on Node 24, one
 * process per file, through Stryker's tap runner), and the mutants no test
 * notices are listed. Not part of `deno task test` nor of CI: it takes long.
 *
 *   deno task mutate                        # every file of lib/
 *   deno task mutate lib/_deleter.ts        # only these (globs and
 *   deno task mutate 'lib/_http.ts:40-80'   #   line ranges work too)
 *   deno task mutate lib/_http.ts --concurrency 1 --logLevel debug
 *
 * Files come first; from the first argument starting with `-` on, the rest
 * goes to `stryker run` as it is. Stryker and Node 24 are installed from npm
 * into `.runtimes/` (git-ignored) when missing; the config is
 * tests/mutate/stryker.config.json, the reports (JSON, HTML) go to
 * tests/mutate/reports/ (git-ignored). After Stryker's own table this prints
 * each surviving or uncovered mutant as `file:line mutator: original →
 * replacement`.
 *
 * @module
 */

import { exists, findNode, fromNpm, ROOT } from "../_runtimes.ts";

/** Stryker's core and tap runner are released together, in lockstep. */
const STRYKER_VERSION = "10.0.0";
const CONFIG = "tests/mutate/stryker.config.json";
const REPORT = "tests/mutate/reports/mutation.json";

const split = Deno.args.findIndex((arg) => arg.startsWith("-"));
const files = split === -1 ? Deno.args : Deno.args.slice(0, split);
const options = split === -1 ? [] : Deno.args.slice(split);

for (const file of files) {
  const path = file.replace(/:[\d:-]+$/, "");
  if (!path.includes("*") && !(await exists(`${ROOT}${path}`))) {
    console.error(`no such file: ${path} (give paths from the repo root)`);
    Deno.exit(2);
  }
}

const node = await findNode(24);
const stryker = await fromNpm(
  "stryker",
  `@stryker-mutator/core@${STRYKER_VERSION}`,
  "@stryker-mutator/core/bin/stryker.js",
);
await fromNpm(
  "stryker",
  `@stryker-mutator/tap-runner@${STRYKER_VERSION}`,
  "@stryker-mutator/tap-runner/package.json",
);

const args = [stryker, "run", CONFIG];
if (files.length > 0) args.push("--mutate", files.join(","));
if (!Deno.stdout.isTerminal()) {
  // A log file gets a line per finished mutant batch, not a redrawn bar.
  args.push(
    "--reporters",
    "clear-text,json,html,progress-append-only",
  );
}
args.push(...options);

// The tap runner starts each test file with the `node` on PATH: Node 24's.
const path = Deno.env.get("PATH") ?? "";
const env: Record<string, string> = {
  // The 8 s SIGSTOP test would cost 8 s a mutant; its logic has fast tests.
  PUSHOVER_SKIP_SLOW_TESTS: "1",
  ...(node === "node" ? {} : {
    PATH: `${node.slice(0, node.lastIndexOf("/"))}:${path}`,
  }),
};
const started = Date.now();
const { code } = await new Deno.Command(node, {
  args,
  cwd: ROOT,
  env,
  stdout: "inherit",
  stderr: "inherit",
}).output();
const minutes = ((Date.now() - started) / 60_000).toFixed(1);

if (code === 0) printUndetected(started);
console.log(`stryker exited with ${code} after ${minutes} min`);
Deno.exit(code);

interface Mutant {
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number }; end: Position };
}
type Position = { line: number; column: number };

/** Survived and uncovered mutants of the JSON report, one line each. */
function printUndetected(since: number): void {
  let report: { files: Record<string, { source: string; mutants: Mutant[] }> };
  try {
    if (Deno.statSync(`${ROOT}${REPORT}`).mtime!.getTime() < since) return;
    report = JSON.parse(Deno.readTextFileSync(`${ROOT}${REPORT}`));
  } catch {
    return;
  }
  for (const [file, { source, mutants }] of Object.entries(report.files)) {
    const undetected = mutants
      .filter((m) => m.status === "Survived" || m.status === "NoCoverage")
      .sort((a, b) =>
        a.location.start.line - b.location.start.line ||
        a.location.start.column - b.location.start.column
      );
    if (undetected.length === 0) continue;
    console.log(`\n${file}: ${undetected.length} undetected`);
    const lines = source.split("\n");
    for (const mutant of undetected) {
      const original = excerpt(
        lines,
        mutant.location.start,
        mutant.location.end,
      );
      const replacement = oneLine(mutant.replacement ?? "");
      const tag = mutant.status === "NoCoverage" ? " [no coverage]" : "";
      console.log(
        `  ${file}:${mutant.location.start.line} ${mutant.mutatorName}${tag}: ${original} → ${replacement}`,
      );
    }
  }
  console.log(`\nfull report: ${REPORT} (and mutation.html beside it)`);
}

/** The source between two 1-based-line, 0-based-column positions. */
function excerpt(lines: string[], start: Position, end: Position): string {
  const text = start.line === end.line
    ? lines[start.line - 1].slice(start.column - 1, end.column - 1)
    : [
      lines[start.line - 1].slice(start.column - 1),
      ...lines.slice(start.line, end.line - 1),
      lines[end.line - 1].slice(0, end.column - 1),
    ].join("\n");
  return oneLine(text);
}

/** Whitespace runs made one space, and long text cut in the middle. */
function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 120 ? `${flat.slice(0, 58)} … ${flat.slice(-58)}` : flat;
}
