// Node 22 strips the types of every .ts file again in every process (it
// keeps no TypeScript in its compile cache; Node 24 does), which was a third
// of the Node 22 row's CPU: the test shards and each `node cli/main.ts` a
// test starts. Loaded with --import by tests/run_all.ts for that row only,
// this keeps what Node 22's own stripper (module.stripTypeScriptTypes, the
// function its loader uses) made of each file, keyed by the file's bytes and
// the Node version, so a file is stripped once per change, not per process.
// Resolution, formats other than our own .ts files, and errors for syntax
// that stripping cannot erase are Node's as before: a file that does not
// strip fails here exactly as it fails in Node's loader.

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { registerHooks, stripTypeScriptTypes } from "node:module";
import process from "node:process";
import { fileURLToPath } from "node:url";

const CACHE = new URL("../.runtimes/node22-strip-cache/", import.meta.url);
mkdirSync(CACHE, { recursive: true });

/**
 * Node's own stripper, without the experimental-API warning it prints once
 * per process: the loader it stands in for prints none, and tests read what
 * processes print.
 */
function strip(source, url) {
  const emitWarning = process.emitWarning;
  process.emitWarning = (warning, ...rest) => {
    if (!String(warning).startsWith("stripTypeScriptTypes")) {
      emitWarning.call(process, warning, ...rest);
    }
  };
  try {
    return stripTypeScriptTypes(source, { mode: "strip", sourceUrl: url });
  } finally {
    process.emitWarning = emitWarning;
  }
}

registerHooks({
  load(url, context, nextLoad) {
    if (!url.startsWith("file:") || !url.endsWith(".ts")) {
      return nextLoad(url, context);
    }
    const source = readFileSync(fileURLToPath(url), "utf8");
    const key = createHash("sha256")
      .update(`${process.version}\0${url}\0${source}`)
      .digest("hex");
    const cached = new URL(`${key}.js`, CACHE);
    let code;
    try {
      code = readFileSync(cached, "utf8");
    } catch {
      code = strip(source, url);
      // Written aside and renamed: shards running at once never read half.
      const partial = fileURLToPath(cached) + `.${process.pid}`;
      writeFileSync(partial, code);
      renameSync(partial, cached);
    }
    return { format: "module", source: code, shortCircuit: true };
  },
});
