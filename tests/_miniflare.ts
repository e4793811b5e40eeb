// Miniflare (the npm package that ships workerd) and esbuild, as the
// Worker rows find them: given by flags (`--esbuild PATH --miniflare PATH`,
// what tests/run_all.ts passes) or else in `.runtimes/`.

import { createRequire } from "node:module";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The bits of Miniflare's API the Worker tests use. */
export interface MiniflareLike {
  ready: Promise<URL>;
  dispatchFetch(url: string, init?: RequestInit): Promise<Response>;
  getKVNamespace(binding: string, worker?: string): Promise<{
    list(options?: { cursor?: string }): Promise<{
      keys: { name: string }[];
      list_complete: boolean;
      cursor?: string;
    }>;
  }>;
  dispose(): Promise<void>;
}
type MiniflareClass = new (options: Record<string, unknown>) => MiniflareLike;

/** A `--name VALUE` flag of this process, or `fallback`. */
export function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
}

/** esbuild's binary. */
export const esbuild: string = flag(
  "esbuild",
  `${ROOT}.runtimes/esbuild/node_modules/.bin/esbuild`,
);

const miniflareEntry = flag(
  "miniflare",
  `${ROOT}.runtimes/miniflare/node_modules/miniflare/dist/src/index.js`,
);
const require = createRequire(miniflareEntry);

/** Miniflare's class. */
export const Miniflare: MiniflareClass =
  (require(miniflareEntry) as { Miniflare: MiniflareClass }).Miniflare;

// By default the newest date this workerd knows (capped at today), as
// Miniflare picks: what a new Worker gets.
const workerdDate =
  (require("workerd") as { compatibilityDate: string }).compatibilityDate;
const today = new Date().toISOString().slice(0, 10);

/** `--compatibility-date`, else the newest this workerd knows (≤ today). */
export const COMPATIBILITY_DATE: string = flag(
  "compatibility-date",
  workerdDate < today ? workerdDate : today,
);
