// Reads the JUnit XML reports the test runners write (`deno test
// --junit-path`, `node --test-reporter=junit`, `bun test --reporter=junit`):
// the test command counts and names tests from these, not from the runners'
// human output. Runtime-neutral, so that tests/junit_test.ts runs everywhere.

/** One test as a report gives it. */
export interface TestResult {
  /** The test file, as the report names it (or as its failure's stack does). */
  file: string;
  name: string;
  outcome: "passed" | "failed" | "skipped";
  /** A failure's message, for the list of failures. */
  message?: string;
}

// Tags read by their attributes, each quoted: Node leaves '>' raw in them.
const TESTCASE =
  /<testcase\b((?:\s+[\w:-]+="[^"]*")*)\s*(?:\/>|>([\s\S]*?)<\/testcase>)/g;
const ATTRIBUTE = /([\w:-]+)="([^"]*)"/g;
const FAILURE =
  /<(failure|error)\b((?:\s+[\w:-]+="[^"]*")*)\s*(?:\/>|>([\s\S]*?)<\/\1>)/;
/** A test file in a failure's stack, where Node 22's report names none. */
const TEST_FILE = /\btests\/[\w/.-]+_test\.ts\b/;

/**
 * The tests of one report, in its order; a torn or empty report gives none.
 * Files are named relative to `root` (the repository's folder) when under it.
 */
export function parseJUnit(xml: string, root = ""): TestResult[] {
  const results: TestResult[] = [];
  for (const [, attributeText, body = ""] of xml.matchAll(TESTCASE)) {
    const attributes = readAttributes(attributeText);
    const failure = body.match(FAILURE);
    const message = failure
      ? decode(readAttributes(failure[2]).message ?? failure[3] ?? "")
      : attributes.failure !== undefined
      ? decode(attributes.failure)
      : undefined;
    const failed = failure !== null || attributes.failure !== undefined;
    results.push({
      file: fileOf(attributes, failure ? decode(failure[3] ?? "") : "", root),
      name: decode(attributes.name ?? "(unnamed)"),
      outcome: failed
        ? "failed"
        : /<skipped\b/.test(body)
        ? "skipped"
        : "passed",
      ...(failed ? { message: (message ?? "").trim() } : {}),
    });
  }
  return results;
}

/** Counts, and the failures in report order. */
export function summarise(results: TestResult[]): {
  passed: number;
  failed: number;
  skipped: number;
  failures: TestResult[];
} {
  const failures = results.filter((r) => r.outcome === "failed");
  return {
    passed: results.filter((r) => r.outcome === "passed").length,
    failed: failures.length,
    skipped: results.filter((r) => r.outcome === "skipped").length,
    failures,
  };
}

/**
 * One line a failure is listed with: `file › name: first line of message`,
 * the message cut to `width` characters.
 */
export function failureLine(result: TestResult, width = 160): string {
  const first = (result.message ?? "").split("\n").find((l) => l.trim()) ??
    "";
  const reason = first.trim().replace(/^Uncaught /, "");
  const line = `${result.file} › ${result.name}${reason ? `: ${reason}` : ""}`;
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

function readAttributes(text: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [, name, value] of text.matchAll(ATTRIBUTE)) {
    attributes[name] = value;
  }
  return attributes;
}

/**
 * Bun and Node 24 say `file`; Deno's `classname` is the file; Node 22 names
 * none, so a failure's stack tells — as it does for a test defined through
 * a helper (`cliTest` in tests/_cli.ts), which the runners name instead of
 * the test file.
 */
function fileOf(
  attributes: Record<string, string>,
  failure: string,
  root: string,
): string {
  const named = decode(attributes.file ?? attributes.classname ?? "")
    .replace(/^file:\/\//, "");
  const inStack = failure.match(TEST_FILE)?.[0];
  if (/\.(?:[cm]?[jt]s|md)\b/.test(named)) {
    const path =
      (root && named.startsWith(root) ? named.slice(root.length) : named)
        .replace(/^\.?\//, "");
    return /^tests\/_/.test(path) && inStack ? inStack : path;
  }
  return inStack ?? "(file not named)";
}

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
};

/** XML's entities and character references, as text. */
function decode(text: string): string {
  return text.replace(
    /&(#x[\da-f]+|#\d+|amp|lt|gt|quot|apos);/gi,
    (whole, entity: string) => {
      if (entity[0] !== "#") return ENTITIES[entity.toLowerCase()] ?? whole;
      const code = entity[1] === "x" || entity[1] === "X"
        ? parseInt(entity.slice(2), 16)
        : parseInt(entity.slice(1), 10);
      return String.fromCodePoint(code);
    },
  );
}

/**
 * A JUnit XML report of `results`, as one suite named `suite`: for a check
 * that is not a test runner (npm/check.ts), so that the test command reads
 * every row the same way.
 */
export function toJUnit(suite: string, results: TestResult[]): string {
  const failures = results.filter((r) => r.outcome === "failed").length;
  const cases = results.map((r) => {
    const head = `    <testcase name="${encode(r.name)}" classname="${
      encode(suite)
    }" file="${encode(r.file)}"`;
    if (r.outcome === "passed") return `${head}/>`;
    const inner = r.outcome === "skipped"
      ? "<skipped/>"
      : `<failure message="${encode(r.message ?? "")}"/>`;
    return `${head}>\n      ${inner}\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${results.length}" failures="${failures}">`,
    `  <testsuite name="${
      encode(suite)
    }" tests="${results.length}" failures="${failures}">`,
    ...cases,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}

function encode(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${ENTITY_NAMES[c]};`)
    .replace(/\n/g, "&#10;");
}

const ENTITY_NAMES: Record<string, string> = Object.fromEntries(
  Object.entries(ENTITIES).map(([name, char]) => [char, name]),
);
