// tests/_junit.ts: the test command's counts and its list of failures come
// from the runners' JUnit reports; each runner's shape, as it writes it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { failureLine, parseJUnit, summarise, toJUnit } from "./_junit.ts";
import type { TestResult } from "./_junit.ts";

const ROOT = "/work/repo/";

// Abridged from what each runner wrote for the same file: a pass, a failure
// whose name holds markup, a test in a describe(), a skipped test.
const NODE_24 = `<?xml version="1.0" encoding="utf-8"?>
<testsuites>
	<testcase name="passes" time="0.001" classname="test" file="/work/repo/tests/a_test.ts"/>
	<testcase name="fails &lt;here> &amp; &quot;there&quot;" time="0.001" classname="test" file="/work/repo/tests/a_test.ts" failure="Expected values to be strictly equal:&#10;&#10;1 !== 2&#10;">
		<failure type="testCodeFailure" message="Expected values to be strictly equal:&#10;&#10;1 !== 2">
[Error [ERR_TEST_FAILURE]: Expected values to be strictly equal:
      at TestContext.&lt;anonymous> (file:///work/repo/tests/a_test.ts:4:49)
		</failure>
	</testcase>
	<testsuite name="group" time="0.0005" disabled="0" errors="0" tests="1" failures="0" skipped="0">
		<testcase name="inner" time="0.0001" classname="group" file="/work/repo/tests/a_test.ts"/>
	</testsuite>
	<testcase name="skipped" time="0.001" classname="test" file="/work/repo/tests/a_test.ts">
		<skipped type="skipped" message="true"/>
	</testcase>
	<!-- tests 4 -->
</testsuites>`;

// Node 22 names no file: the failure's stack does.
const NODE_22 = `<?xml version="1.0" encoding="utf-8"?>
<testsuites>
	<testcase name="passes" time="0.0009" classname="test"/>
	<testcase name="fails" time="0.0009" classname="test" failure="Expected values to be strictly equal:1 !== 2">
		<failure type="testCodeFailure" message="Expected values to be strictly equal:1 !== 2">
  cause: AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:
      at TestContext.&lt;anonymous> (file:///work/repo/lib/stream.ts:12:3)
      at TestContext.&lt;anonymous> (file:///work/repo/tests/b_test.ts:4:49)
		</failure>
	</testcase>
</testsuites>`;

const BUN = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="bun test" tests="4" assertions="0" failures="1" skipped="1" time="0.06">
  <testsuite name="tests/a_test.ts" file="tests/a_test.ts" tests="4" failures="1" skipped="1">
    <testcase name="passes" classname="" time="0.001" file="tests/a_test.ts" line="3" assertions="0" />
    <testcase name="fails &lt;here&gt;" classname="" time="0.001" file="tests/a_test.ts" line="4" assertions="0">
      <failure type="AssertionError" message="Expected values to be strictly equal:&#10;&#10;1 !== 2&#10;">AssertionError: Expected</failure>
    </testcase>
    <testsuite name="group" file="tests/a_test.ts" line="5" tests="1">
      <testcase name="inner" classname="group" time="0.0001" file="tests/a_test.ts" line="5" assertions="0" />
    </testsuite>
    <testcase name="skipped" classname="" time="0" file="tests/a_test.ts" line="6" assertions="0">
      <skipped />
    </testcase>
  </testsuite>
</testsuites>`;

// Deno: the classname is the file, doc tests included.
const DENO = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="deno test" tests="3" failures="1" errors="0" time="0.014">
    <testsuite name="file:///work/repo/tests/a_test.ts" tests="2" disabled="0" errors="0" failures="1">
        <testcase name="passes" classname="file:///work/repo/tests/a_test.ts" time="0.001" line="3" col="1">
        </testcase>
        <testcase name="fails" classname="file:///work/repo/tests/a_test.ts" time="0.003" line="4" col="1">
            <failure message="Uncaught AssertionError: Expected values to be strictly equal:

1 !== 2
">AssertionError: Expected values</failure>
        </testcase>
    </testsuite>
    <testsuite name="file:///work/repo/lib/stream.ts$72-95.ts" tests="1">
        <testcase name="file:///work/repo/lib/stream.ts$72-95.ts" classname="file:///work/repo/lib/stream.ts$72-95.ts" time="0.000">
        </testcase>
    </testsuite>
</testsuites>`;

test("parseJUnit reads Node 24's report: files, outcomes, a name with markup", () => {
  const results = parseJUnit(NODE_24, ROOT);
  assert.deepEqual(results.map((r) => [r.file, r.name, r.outcome]), [
    ["tests/a_test.ts", "passes", "passed"],
    ["tests/a_test.ts", 'fails <here> & "there"', "failed"],
    ["tests/a_test.ts", "inner", "passed"],
    ["tests/a_test.ts", "skipped", "skipped"],
  ]);
  assert.equal(
    results[1].message,
    "Expected values to be strictly equal:\n\n1 !== 2",
  );
});

test("parseJUnit names Node 22's failing test file from its stack: the test file, not the library's", () => {
  const results = parseJUnit(NODE_22, ROOT);
  assert.deepEqual(results.map((r) => [r.file, r.outcome]), [
    ["(file not named)", "passed"],
    ["tests/b_test.ts", "failed"],
  ]);
});

test("parseJUnit reads Bun's report, suites nested in suites", () => {
  const results = parseJUnit(BUN, ROOT);
  assert.deepEqual(summarise(results).failures.map((r) => r.name), [
    "fails <here>",
  ]);
  assert.deepEqual(
    { ...summarise(results), failures: undefined },
    { passed: 2, failed: 1, skipped: 1, failures: undefined },
  );
  assert.ok(results.every((r) => r.file === "tests/a_test.ts"));
});

test("parseJUnit reads Deno's report: the classname is the file, doc tests included", () => {
  const results = parseJUnit(DENO, ROOT);
  assert.deepEqual(results.map((r) => [r.file, r.outcome]), [
    ["tests/a_test.ts", "passed"],
    ["tests/a_test.ts", "failed"],
    ["lib/stream.ts$72-95.ts", "passed"],
  ]);
});

test("parseJUnit finds nothing in a torn or empty report", () => {
  assert.deepEqual(parseJUnit("", ROOT), []);
  assert.deepEqual(parseJUnit(NODE_24.slice(0, 60), ROOT), []);
});

test("failureLine gives file, name and the message's first line, cut to a width", () => {
  const [, failed] = parseJUnit(DENO, ROOT);
  assert.equal(
    failureLine(failed),
    "tests/a_test.ts › fails: AssertionError: Expected values to be strictly equal:",
  );
  const long = failureLine({ ...failed, name: "x".repeat(300) }, 40);
  assert.equal(long.length, 40);
  assert.ok(long.endsWith("…"));
});

test("toJUnit writes a report parseJUnit reads back the same", () => {
  const results: TestResult[] = [
    { file: "npm/check.ts", name: "publint", outcome: "passed" },
    {
      file: "npm/check.ts",
      name: 'npx "cli" <help> & more',
      outcome: "failed",
      message: "exit 1\nUsage: …",
    },
    { file: "npm/check.ts", name: "later", outcome: "skipped" },
  ];
  assert.deepEqual(parseJUnit(toJUnit("npm package", results)), results);
});

test("parseJUnit names the test file, not the helper that called test(), when the failure's stack has it", () => {
  const xml = `<testsuites>
  <testcase name="listen prints" classname="test" file="/work/repo/tests/_cli.ts">
    <failure message="boom">AssertionError: boom
    at file:///work/repo/tests/_cli.ts:200:5
    at file:///work/repo/tests/cli_hostile_test.ts:66:12</failure>
  </testcase>
  <testcase name="passes" classname="test" file="/work/repo/tests/_cli.ts"/>
</testsuites>`;
  assert.deepEqual(parseJUnit(xml, ROOT).map((r) => r.file), [
    "tests/cli_hostile_test.ts",
    "tests/_cli.ts",
  ]);
});
