// Preloaded (`node -r`) into each test file's process by the tap runner, in
// Stryker's dry run only: some tests run scripts as child processes
// (tests/_spawn.ts) whose lib/ code Stryker's own hook never sees. This hook
// rides along to those children through NODE_OPTIONS; each child writes the
// mutant coverage it collected to a folder when it exits, and the test
// process adds it to its own before Stryker's hook reports it, so the mutants
// that only the children reach are tested with those test files too.
//
// CommonJS, because `node -r` preloads it before the test file (ESM) loads.
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const NAMESPACE = process.env.STRYKER_NAMESPACE || "__stryker__";
const DIR = "STRYKER_CHILD_COVERAGE_DIR";

/** The coverage that Stryker's instrumented code collected in this process. */
function coverage() {
  const ns = globalThis[NAMESPACE] || (globalThis[NAMESPACE] = {});
  return ns.mutantCoverage ||
    (ns.mutantCoverage = { static: {}, perTest: {} });
}

function add(into, counts) {
  for (const [id, count] of Object.entries(counts || {})) {
    into[id] = (into[id] || 0) + count;
  }
}

if (process.env[DIR]) {
  // A child (or grandchild) of a test file's process.
  const dir = process.env[DIR];
  process.on("exit", () => {
    const { static: counts, perTest } = coverage();
    const all = { ...counts };
    for (const test of Object.values(perTest || {})) add(all, test);
    try {
      fs.writeFileSync(
        path.join(dir, `${process.pid}.json`),
        JSON.stringify(all),
      );
    } catch {
      // The test process is gone already: nothing to add to.
    }
  });
} else if (process.env.STRYKER_DRY_RUN === "true") {
  // The test file's own process.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stryker-children-"));
  process.env[DIR] = dir;
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS || ""} --require ${
    JSON.stringify(__filename)
  }`.trim();
  // Before Stryker's own exit handler, which writes the coverage out.
  process.prependListener("exit", () => {
    const counts = coverage().static;
    for (const name of fs.readdirSync(dir)) {
      try {
        add(counts, JSON.parse(fs.readFileSync(path.join(dir, name), "utf8")));
      } catch {
        // Half-written by a child that was killed: its coverage is lost.
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
}
