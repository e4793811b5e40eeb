// Node 22 strips the types of every .ts file again in every process (it
// keeps no TypeScript in its compile cache; Node 24 does), which was a third
// of the Node 22 row's CPU: the test shards and each `node cli/main.ts` a
// test starts. Loaded with --import by tests/run_all.ts for that row only
// (NODE_OPTIONS, with the folder in NODE22_STRIP_CACHE),
// this keeps what Node 22's own stripper (module.stripTypeScriptTypes, the
// function its loader uses) made of each ES module written in TypeScript,
// keyed by the file's bytes and the Node version, so a file is stripped once
// per change, not per process.
//
// Everything else is Node's as before: resolution, the format Node gives a
// file the first time it is seen (only ES modules are kept: CommonJS
// TypeScript, JavaScript, JSON pass through untouched; the repository has
// no package.json whose "type" could change it later), the refusal of .ts
// under node_modules, a Node without type stripping, and the errors for
// syntax that stripping cannot erase (the same function throws them). The
// cache is only a shortcut: when it cannot be written the file loads anyway.

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { registerHooks, stripTypeScriptTypes } from "node:module";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Part of the key: a change to how this file strips starts a new cache. */
const HOOK_VERSION = 1;
/** The folder, from tests/run_all.ts (which also prunes it); none: no cache. */
const folder = process.env.NODE22_STRIP_CACHE;
const CACHE = folder && pathToFileURL(`${folder}/`);

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

/** Keeps `code` for the next process; a failure only costs that. */
function keep(file, code) {
  try {
    mkdirSync(CACHE, { recursive: true });
    // Written aside and renamed: shards running at once never read half.
    const partial = `${fileURLToPath(file)}.${process.pid}`;
    writeFileSync(partial, code);
    renameSync(partial, file);
  } catch {
    // A read-only checkout, a full disk: strip again next time.
  }
}

// Only where Node 22 itself runs TypeScript (22.18 and later, or a flag).
if (CACHE && process.features.typescript) {
  registerHooks({
    load(url, context, nextLoad) {
      // Node refuses TypeScript under node_modules: let it.
      if (
        !url.startsWith("file:") || !url.endsWith(".ts") ||
        url.includes("/node_modules/")
      ) {
        return nextLoad(url, context);
      }
      const source = readFileSync(fileURLToPath(url), "utf8");
      const key = createHash("sha256")
        .update(`${HOOK_VERSION}\0${process.version}\0${url}\0${source}`)
        .digest("hex");
      const file = new URL(`${key}.js`, CACHE);
      try {
        return {
          format: "module",
          source: readFileSync(file, "utf8"),
          shortCircuit: true,
        };
      } catch {
        // Not seen yet: Node tells the format (which costs it a strip).
      }
      const loaded = nextLoad(url, context);
      if (loaded.format !== "module-typescript") return loaded;
      const code = strip(Buffer.from(loaded.source).toString("utf8"), url);
      keep(file, code);
      return { format: "module", source: code, shortCircuit: true };
    },
  });
}
