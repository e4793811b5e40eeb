/**
 * Builds the npm package from the same source: ESM JavaScript and `.d.ts`
 * files by TypeScript's own compiler (from npm; imports' `.ts` rewritten to
 * `.js`), a package.json with `exports`, `types`, `bin`, `engines` and
 * `sideEffects: false`, then `npm pack`. Nothing of it changes the library,
 * which stays zero-dependency; the package has no dependencies either.
 *
 *   deno task npm        # → npm/dist/package/ and npm/dist/<name>-<version>.tgz
 *
 * @module
 */

import { fromNpm, ROOT } from "../tests/_runtimes.ts";

const OUT = `${ROOT}npm/dist`;
const PACKAGE = `${OUT}/package`;

/** The entry points, as in deno.json's exports. */
const ENTRIES = {
  ".": "mod",
  "./testing": "testing/mod",
  "./cli": "cli/main",
  "./inbox": "inbox/mod",
  "./cloudflare": "cloudflare/mod",
};

async function run(program: string, args: string[], cwd = ROOT) {
  const result = await new Deno.Command(program, {
    args,
    cwd,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!result.success) {
    throw new Error(`${program} ${args.join(" ")} failed (${result.code})`);
  }
}

/** Builds and packs; resolves with the tarball's path. */
export async function buildNpmPackage(): Promise<string> {
  const deno = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const tsc = await fromNpm("typescript", "typescript@5", "typescript/bin/tsc");
  await Deno.remove(OUT, { recursive: true }).catch(() => {});
  await Deno.mkdir(PACKAGE, { recursive: true });
  await Deno.writeTextFile(
    `${OUT}/tsconfig.json`,
    JSON.stringify(
      {
        compilerOptions: {
          target: "es2022",
          // ESM out, whatever package.json (none) would say.
          module: "es2022",
          moduleResolution: "bundler",
          lib: ["es2023", "dom", "dom.iterable"],
          declaration: true,
          rewriteRelativeImportExtensions: true,
          allowImportingTsExtensions: true,
          verbatimModuleSyntax: true,
          erasableSyntaxOnly: true,
          // Deno checked the types already (deno check); tsc only emits.
          noCheck: true,
          noEmitOnError: true,
          skipLibCheck: true,
          rootDir: "../..",
          outDir: "package",
        },
        files: Object.values(ENTRIES).map((entry) => `../../${entry}.ts`),
      },
      null,
      2,
    ),
  );
  await run(tsc, ["-p", `${OUT}/tsconfig.json`]);
  // The npm bin runs on Node: its shebang says so.
  const main = `${PACKAGE}/cli/main.js`;
  await Deno.writeTextFile(
    main,
    (await Deno.readTextFile(main)).replace(
      /^#!.*\n/,
      "#!/usr/bin/env node\n",
    ),
  );
  await Deno.chmod(main, 0o755);
  const exports: Record<string, unknown> = {};
  for (const [path, entry] of Object.entries(ENTRIES)) {
    exports[path] = { types: `./${entry}.d.ts`, default: `./${entry}.js` };
  }
  const manifest = {
    name: deno.name,
    version: deno.version,
    description:
      "Receive Pushover notifications: the Open Client API (login, devices, messages, live stream, end-to-end decryption) with no dependencies, and a command line",
    license: deno.license,
    type: "module",
    exports,
    main: "./mod.js",
    types: "./mod.d.ts",
    bin: { "pushover-open-client": "./cli/main.js" },
    engines: { node: ">=22" },
    sideEffects: false,
    keywords: ["pushover", "notifications", "open-client", "websocket"],
    repository: {
      type: "git",
      url: "git+https://github.com/openpush/pushover-open-client.git",
    },
  };
  await Deno.writeTextFile(
    `${PACKAGE}/package.json`,
    `${JSON.stringify(manifest, null, 2)}\n`,
  );
  for (const file of ["README.md", "LICENSE"]) {
    await Deno.copyFile(`${ROOT}${file}`, `${PACKAGE}/${file}`);
  }
  await run("npm", ["pack", "--pack-destination", OUT, "--silent"], PACKAGE);
  const scope = deno.name.replace(/^@/, "").replace("/", "-");
  return `${OUT}/${scope}-${deno.version}.tgz`;
}

if (import.meta.main) {
  console.log(await buildNpmPackage());
}
