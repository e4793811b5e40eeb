// How to tell the user what to type next: the program as they started it,
// and the `--config` they gave, so that a hint can be pasted as it is.

import { relative } from "node:path";
import process from "node:process";

/**
 * `pushover-open-client` when installed under that name; run from a clone,
 * the runtime and the script (`node cli/main.ts`), which is what works there.
 */
export function programName(): string {
  const script = process.argv[1] ?? "";
  if (!/(^|[\\/])cli[\\/]main\.ts$/.test(script)) return "pushover-open-client";
  const path = relative(process.cwd(), script) || script;
  const runtime = "Deno" in globalThis
    ? "deno run -A"
    : "Bun" in globalThis
    ? "bun"
    : "node";
  return `${runtime} ${path}`;
}

/**
 * A command to suggest: the program, `words`, and `--config PATH` when the
 * user gave one (a hint without it would act on another file).
 */
export function suggest(words: string, config?: string): string {
  const quoted = config === undefined ? "" : ` --config ${shellQuote(config)}`;
  return `${programName()} ${words}${quoted}`;
}

/** A word as a POSIX shell reads it back unchanged. */
function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word)
    ? word
    : `'${word.replaceAll("'", `'\\''`)}'`;
}
