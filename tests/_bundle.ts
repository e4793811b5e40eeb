// The library bundled by esbuild (from npm, its path given by the runner)
// for the runtimes that take one file: workerd and the browser.

import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * `entry` and all it imports as one ES module. `neutral` resolves no node:
 * built-ins (an import of one fails the bundle); `external` names imports
 * left as they are.
 */
export function bundle(
  esbuild: string,
  entry: URL,
  platform: "neutral" | "browser",
  external: string[] = [],
): string {
  return execFileSync(esbuild, [
    fileURLToPath(entry),
    "--bundle",
    "--format=esm",
    `--platform=${platform}`,
    ...external.map((path) => `--external:${path}`),
    "--log-level=warning",
  ], { encoding: "utf8" });
}
