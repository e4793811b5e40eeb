// The test command's own tooling, each piece tested (issue 20): the npm
// installs of runtimes and tools (Deno only: they run inside `deno task`),
// the Node 22 strip cache and its pruning.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { pruneStripCache } from "./_strip_cache.ts";

const isDeno = "Deno" in globalThis;
const isBun = "Bun" in globalThis;
const onlyDeno = isDeno ? false : "the installs run inside deno task";

/** A temporary folder, removed after `body`. */
async function inTemporary(body: (dir: string) => Promise<void> | void) {
  const dir = mkdtempSync(join(tmpdir(), "tooling-"));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An executable shell script at `path`. */
function script(path: string, text: string): string {
  writeFileSync(path, `#!/bin/sh\n${text}\n`);
  chmodSync(path, 0o755);
  return path;
}

test("fromNpm returns an installed binary without running npm", {
  skip: onlyDeno,
}, async () => {
  const { fromNpm } = await import("./_runtimes.ts");
  await inTemporary(async (dir) => {
    mkdirSync(join(dir, "tool/node_modules/tool/bin"), { recursive: true });
    writeFileSync(join(dir, "tool/node_modules/tool/bin/run"), "");
    const path = await fromNpm("tool", "tool@1", "tool/bin/run", {
      folder: dir,
      npm: join(dir, "no-npm-here"),
    });
    assert.equal(path, join(dir, "tool/node_modules/tool/bin/run"));
  });
});

test("fromNpm installs a missing binary with npm into its own folder", {
  skip: onlyDeno,
}, async () => {
  const { fromNpm } = await import("./_runtimes.ts");
  await inTemporary(async (dir) => {
    // What npm install --prefix PREFIX … SPEC leaves: the package's files.
    const npm = script(
      join(dir, "npm"),
      `echo "$@" > "${dir}/args"; mkdir -p "$3/node_modules/tool/bin" && touch "$3/node_modules/tool/bin/run"`,
    );
    const path = await fromNpm("tool", "tool@1", "tool/bin/run", {
      folder: dir,
      npm,
    });
    assert.equal(path, join(dir, "tool/node_modules/tool/bin/run"));
    const args = (await import("node:fs")).readFileSync(
      join(dir, "args"),
      "utf8",
    );
    assert.equal(
      args.trim(),
      `install --prefix ${dir}/tool --no-audit --no-fund tool@1`,
    );
  });
});

test("fromNpm fails, naming the package, when npm fails or leaves no binary", {
  skip: onlyDeno,
}, async () => {
  const { fromNpm } = await import("./_runtimes.ts");
  await inTemporary(async (dir) => {
    for (const body of ["exit 1", "exit 0"]) {
      const npm = script(join(dir, "npm"), body);
      await assert.rejects(
        fromNpm("tool", "tool@1", "tool/bin/run", { folder: dir, npm }),
        /npm install tool@1 failed: no .*tool\/bin\/run/,
      );
    }
  });
});

test(
  "versionOf reads a command's major version, undefined when it does not run",
  {
    skip: onlyDeno,
  },
  async () => {
    const { versionOf } = await import("./_runtimes.ts");
    await inTemporary(async (dir) => {
      const node = script(join(dir, "node"), 'echo "v22.19.0"');
      assert.equal(await versionOf(node), 22);
      assert.equal(await versionOf(join(dir, "missing")), undefined);
    });
  },
);

test("the strip cache is removed once it holds more than its limit, not before", async () => {
  await inTemporary((dir) => {
    const cache = join(dir, "cache");
    assert.equal(pruneStripCache(cache, 3), false, "no cache yet");
    mkdirSync(cache);
    for (const name of ["a", "b", "c"]) writeFileSync(join(cache, name), "");
    assert.equal(pruneStripCache(cache, 3), false);
    assert.deepEqual(readdirSync(cache).sort(), ["a", "b", "c"]);
    writeFileSync(join(cache, "d"), "");
    assert.equal(pruneStripCache(cache, 3), true);
    assert.throws(() => readdirSync(cache), /ENOENT/);
  });
});

const hook = fileURLToPath(
  new URL("./node22_strip_cache.mjs", import.meta.url),
);
const onlyNode = !isDeno && !isBun &&
    typeof (await import("node:module")).registerHooks === "function"
  ? false
  : "the strip cache is Node's loader hook";

test(
  "Node's strip cache strips a .ts module once, then loads it from the cache; a change strips again",
  {
    skip: onlyNode,
  },
  async () => {
    await inTemporary((dir) => {
      const cache = join(dir, "cache");
      // An ES module (export): Node keeps CommonJS TypeScript to itself.
      const module = join(dir, "module.ts");
      const run = () =>
        spawnSync(process.execPath, ["--import", hook, module], {
          env: { ...process.env, NODE_OPTIONS: "", NODE22_STRIP_CACHE: cache },
          encoding: "utf8",
        });
      writeFileSync(
        module,
        'export const said: string = "stripped";\nconsole.log(said);\n',
      );
      const first = run();
      assert.equal(first.stdout, "stripped\n", first.stderr);
      assert.equal(first.stderr, "", "no experimental warning");
      const kept = readdirSync(cache);
      assert.equal(kept.length, 1);
      // What the next process loads is the cache's, not a fresh strip.
      writeFileSync(join(cache, kept[0]), 'console.log("from the cache");\n');
      assert.equal(run().stdout, "from the cache\n");
      writeFileSync(
        module,
        'export const said: string = "changed";\nconsole.log(said);\n',
      );
      assert.equal(run().stdout, "changed\n");
      assert.equal(readdirSync(cache).length, 2);
    });
  },
);

test(
  "Node's strip cache leaves JavaScript alone",
  { skip: onlyNode },
  async () => {
    await inTemporary((dir) => {
      const cache = join(dir, "cache");
      const module = join(dir, "module.mjs");
      writeFileSync(module, 'console.log("plain");\n');
      const result = spawnSync(process.execPath, ["--import", hook, module], {
        env: { ...process.env, NODE_OPTIONS: "", NODE22_STRIP_CACHE: cache },
        encoding: "utf8",
      });
      assert.equal(result.stdout, "plain\n", result.stderr);
      assert.throws(() => readdirSync(cache), /ENOENT/);
    });
  },
);
