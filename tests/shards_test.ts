// tests/_shards.ts: the test command splits files over processes by how long
// each takes; a file is run once, in exactly one shard.

import { test } from "node:test";
import assert from "node:assert/strict";
import { FILE_SECONDS, shardFiles } from "./_shards.ts";

test("shardFiles puts every file in exactly one shard, each shard sorted", () => {
  const files = ["e", "a", "d", "c", "b", "f", "g"];
  const shards = shardFiles(3, files);
  assert.equal(shards.length, 3);
  assert.deepEqual(shards.flat().sort(), [...files].sort());
  for (const shard of shards) assert.deepEqual(shard, [...shard].sort());
});

test("shardFiles balances by time: a long file gets a shard of its own", () => {
  const seconds: Record<string, number> = { long: 9, a: 1, b: 1, c: 1, d: 1 };
  const shards = shardFiles(2, Object.keys(seconds), (f) => seconds[f]);
  assert.deepEqual(shards, [["long"], ["a", "b", "c", "d"]]);
});

test("shardFiles gives each of many equal files to the lightest shard", () => {
  const files = Array.from({ length: 9 }, (_, i) => `f${i}`);
  const sizes = shardFiles(3, files, () => 1).map((s) => s.length);
  assert.deepEqual(sizes, [3, 3, 3]);
});

test("shardFiles with more shards than files leaves the rest empty", () => {
  assert.deepEqual(shardFiles(3, ["only"]), [["only"], [], []]);
});

test("the slow files named in FILE_SECONDS exist", async () => {
  const { existsSync } = await import("node:fs");
  for (const file of Object.keys(FILE_SECONDS)) {
    assert.ok(existsSync(new URL(`../${file}`, import.meta.url)), file);
  }
});
