// The version `--version` prints; tests/cli_test.ts keeps it equal to
// deno.json's (the CLI cannot read that file from an npm install).

/** This release's version. */
export const VERSION = "0.1.0";
