// Finds the runtimes and tools the test and bench tasks need, installing
// missing ones from npm into `.runtimes/` (git-ignored). Deno-only: it runs
// inside `deno task`.

import { fileURLToPath as fromFileUrl } from "node:url";

/** The repository's root folder, ending with a slash (a real path: spaces stay spaces). */
export const ROOT = fromFileUrl(new URL("../", import.meta.url));
const RUNTIMES_DIR = `${ROOT}.runtimes`;

/** Node `major`: the `node` on PATH if it is that version, else from npm. */
export async function findNode(major: number): Promise<string> {
  if (await versionOf("node") === major) return "node";
  const platform = `${Deno.build.os}-${
    Deno.build.arch === "x86_64" ? "x64" : "arm64"
  }`;
  return await fromNpm(
    `node${major}`,
    `node-${platform}@${major}`,
    `node-${platform}/bin/node`,
  );
}

/** Bun 1: the `bun` on PATH if it is version 1, else from npm. */
export async function findBun(): Promise<string> {
  if (await versionOf("bun") === 1) return "bun";
  return await fromNpm("bun", "bun@1", ".bin/bun");
}

/** Where {@linkcode fromNpm} installs, and with which npm (tests). */
export interface Installer {
  /** The folder each package gets a folder of its own in. */
  folder: string;
  /** The npm command. */
  npm: string;
}

/**
 * A binary of an npm package installed into `.runtimes/<dir>`, installing
 * `spec` first if `binary` (relative to its node_modules) is missing.
 */
export async function fromNpm(
  dir: string,
  spec: string,
  binary: string,
  installer: Installer = {
    folder: RUNTIMES_DIR,
    npm: Deno.build.os === "windows" ? "npm.cmd" : "npm",
  },
): Promise<string> {
  const prefix = `${installer.folder}/${dir}`;
  const path = `${prefix}/node_modules/${binary}`;
  if (await exists(path)) return path;
  console.log(`installing ${spec} from npm into ${prefix} …`);
  await Deno.mkdir(prefix, { recursive: true });
  const result = await new Deno.Command(installer.npm, {
    args: ["install", "--prefix", prefix, "--no-audit", "--no-fund", spec],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  // npm can succeed without the file wanted (a package that moved it).
  if (!result.success || !(await exists(path))) {
    throw new Error(`npm install ${spec} failed: no ${path}`);
  }
  return path;
}

/** The major version a command reports, or undefined if it does not run. */
export async function versionOf(command: string): Promise<number | undefined> {
  try {
    const text = await capture([command, "--version"]);
    return Number(text.match(/(\d+)\./)?.[1]);
  } catch {
    return undefined;
  }
}

/** A command's stdout. */
export async function capture([program, ...args]: string[]): Promise<string> {
  const result = await new Deno.Command(program, { args, stdout: "piped" })
    .output();
  return new TextDecoder().decode(result.stdout);
}

/** Whether a file or folder exists at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
