// The Node 22 row's strip cache (tests/node22_strip_cache.mjs) keeps a file
// per version of each .ts file it loaded; this keeps it from growing
// without end over months of checkouts.

import { readdirSync, rmSync } from "node:fs";

/**
 * Removes `folder` once it holds more than `limit` entries (it starts over:
 * cheaper than finding the stale ones); a missing folder is left alone.
 * Returns whether it was removed.
 */
export function pruneStripCache(folder: string, limit = 5_000): boolean {
  let entries: string[];
  try {
    entries = readdirSync(folder);
  } catch {
    return false; // no cache yet
  }
  if (entries.length <= limit) return false;
  rmSync(folder, { recursive: true, force: true });
  return true;
}
