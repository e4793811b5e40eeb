/**
 * What each entry point costs an app that bundles it: bundled and minified
 * by esbuild (from npm, into .runtimes/), raw and gzipped, each against a
 * budget that catches growth — bench/run.ts fails when one is exceeded. And
 * whether a bundle that imports streamMessages() but never passes
 * `encryptionKey` leaves decryption out (it cannot today: lib/stream.ts
 * imports the decryptor statically, and only the option's value at run time
 * decides whether it is used). Deno only, as part of `deno task bench`, or
 * alone:
 *
 *   deno run -A bench/footprint.ts
 *
 * @module
 */

import { capture, fromNpm, ROOT } from "../tests/_runtimes.ts";

/**
 * Gzipped bytes each entry may reach: 9 KB for a streaming receiver that
 * decrypts (issue 19), about 10 % above the sizes of 2026-12 for the others
 * (the CLI's raised for issue 20's checks — flags, secrets, the unit's
 * verification — from 26,000 B to 28,137 B, then for issue 21's inbox,
 * history, relay, web app and mcp to 54,780 B; the fake's for its checks of
 * what a test sends it, from 10,743 B to 11,631 B).
 * streamMessages() alone gets the decrypting budget: it is the same bundle
 * for as long as decryption cannot be shaken out.
 */
export const BUDGETS = {
  "mod.ts": 13_800,
  "streamMessages alone": 9 * 1024,
  "streamMessages, decrypting": 9 * 1024,
  "testing/mod.ts": 12_800,
  "cli/main.ts": 60_300,
} as const;

type Entry = keyof typeof BUDGETS;

/** Each entry as the module an app would write. */
const ENTRIES: Record<Entry, string> = {
  "mod.ts": `export * from "${ROOT}mod.ts";`,
  "streamMessages alone": `export { streamMessages } from "${ROOT}mod.ts";`,
  "streamMessages, decrypting": [
    `import { streamMessages } from "${ROOT}mod.ts";`,
    `import type { Device } from "${ROOT}mod.ts";`,
    `export const listen = (device: Device, encryptionKey: string) =>`,
    `  streamMessages(device, { encryptionKey });`,
  ].join("\n"),
  "testing/mod.ts": `export * from "${ROOT}testing/mod.ts";`,
  "cli/main.ts": `export * from "${ROOT}cli/main.ts";`,
};

/** Text only the decryption code has. */
const DECRYPTION_MARKERS = ["AES-CBC", "DecompressionStream"];

/** Bytes of `source` bundled and minified, raw and gzipped. */
async function bundle(esbuild: string, source: string) {
  const entry = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(entry, source);
    const text = await capture([
      esbuild,
      entry,
      "--bundle",
      "--minify",
      "--format=esm",
      "--log-level=error",
      // Node's modules stay imports (the fake's listener, the CLI).
      "--external:node:*",
    ]);
    if (text === "") throw new Error(`esbuild could not bundle:\n${source}`);
    const bytes = new TextEncoder().encode(text);
    const gzipped = await new Response(
      new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer();
    return {
      bytes: bytes.length,
      gzipBytes: gzipped.byteLength,
      decryption: DECRYPTION_MARKERS.some((m) => text.includes(m)),
    };
  } finally {
    await Deno.remove(entry);
  }
}

/** Every entry's size and budget, and the names of those over budget. */
export async function bundleSizes() {
  const esbuild = await fromNpm("esbuild", "esbuild@0", ".bin/esbuild");
  const entries: Record<string, unknown> = {};
  const overBudget: string[] = [];
  let streamAloneDecrypts = true;
  for (const [name, source] of Object.entries(ENTRIES)) {
    const size = await bundle(esbuild, source);
    const budget = BUDGETS[name as Entry];
    entries[name] = { ...size, gzipBudget: budget };
    if (size.gzipBytes > budget) overBudget.push(name);
    if (name === "streamMessages alone") streamAloneDecrypts = size.decryption;
  }
  return {
    esbuild: (await capture([esbuild, "--version"])).trim(),
    entries,
    /** Whether a bundle that never passes `encryptionKey` drops decryption. */
    decryptionShakenOut: !streamAloneDecrypts,
    overBudget,
  };
}

if (import.meta.main) {
  const sizes = await bundleSizes();
  console.log(JSON.stringify(sizes, null, 2));
  if (sizes.overBudget.length > 0) {
    console.error(`over budget: ${sizes.overBudget.join(", ")}`);
    Deno.exit(1);
  }
}
