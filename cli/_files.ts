// The files the command line keeps: the credentials (a device's secret,
// never a password), the end-to-end key, the status file. Private files are
// written whole and renamed into place, so a crash never leaves half a file.

import {
  chmod,
  mkdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { dirname, join } from "node:path";
// The module itself, not mod.ts: `status` must not load the whole library.
import { parseCredentials, stringifyCredentials } from "../lib/credentials.ts";
import type { SavedCredentials } from "../mod.ts";
import { CliError, EXIT, usage } from "./_fail.ts";
import { suggest } from "./_program.ts";

/** What a failed file operation says, for people: never a JS class name. */
function why(error: unknown): string {
  const code = (error as { code?: string })?.code;
  switch (code) {
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a directory";
    case "ENOTDIR":
      return "a part of the path is not a directory";
    case "ENOSPC":
      return "the disk is full";
    case "EROFS":
      return "the file system is read-only";
    default:
      return code ?? String((error as Error)?.message ?? error);
  }
}

/**
 * A name beside `path` nobody can guess, to be created only if it does not
 * exist (O_EXCL): in a shared folder another user could otherwise make it
 * first, readable.
 */
function temporaryBeside(path: string): string {
  return join(
    dirname(path),
    `.${path.split("/").pop()}.${crypto.randomUUID()}.tmp`,
  );
}

/**
 * Fails as {@linkcode writePrivate} would at `path` — a folder that cannot
 * be made or written, a directory in the way — and writes nothing there:
 * for what must not be done unless the write can follow (a device
 * registered whose secret could not be saved is lost, its name taken).
 */
export async function checkWritable(path: string): Promise<void> {
  const probe = temporaryBeside(path);
  try {
    await makePrivateDir(dirname(path));
    await writeFile(probe, "", { mode: 0o600, flag: "wx" });
    if ((await stat(path).catch(() => undefined))?.isDirectory()) {
      throw Object.assign(new Error("a directory"), { code: "EISDIR" });
    }
  } catch (error) {
    throw new CliError(`cannot write ${path}: ${why(error)}`);
  } finally {
    await rm(probe, { force: true }).catch(() => {});
  }
}

/** Writes `text` to `path` with mode 0600, atomically. */
export async function writePrivate(path: string, text: string): Promise<void> {
  const temporary = temporaryBeside(path);
  try {
    await makePrivateDir(dirname(path));
    await writeFile(temporary, text, { mode: 0o600, flag: "wx" });
    await chmod(temporary, 0o600); // a umask cannot widen it, but be sure
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => {});
    throw new CliError(`cannot write ${path}: ${why(error)}`);
  }
}

/**
 * Makes `path` and any missing parents 0700, whatever the umask (under
 * `umask 000` a plain mkdir makes them 0777: anyone could plant a file).
 * Folders that exist already are left as they are.
 */
export async function makePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
}

/**
 * The saved device, or a one-line CliError naming the file and the fix:
 * none saved (exit 3: log in), or a file that is not one (exit 2).
 */
export async function readCredentials(
  path: string,
  given?: string,
): Promise<SavedCredentials> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") {
      throw new CliError(
        `no device is saved in ${path}: run "${suggest("login", given)}" first${
          given === undefined ? " (or pass --config PATH)" : ""
        }`,
        EXIT.loginRequired,
      );
    }
    throw usage(`cannot read ${path}: ${why(error)}; pass --config FILE`);
  }
  try {
    return parseCredentials(text);
  } catch (error) {
    const reason = (error as Error).message.replace(
      /^Cannot read credentials: /,
      "",
    );
    throw usage(
      `${path} is not a credentials file (${reason}): run "${
        suggest("login", given)
      }" to write a new one`,
    );
  }
}

/** Whether a file exists at `path` (of any kind). */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Saves the device (mode 0600, no password). */
export async function writeCredentials(
  path: string,
  saved: SavedCredentials,
): Promise<void> {
  await writePrivate(path, stringifyCredentials(saved));
}

/** The end-to-end key file kept beside the credentials. */
export function keyPathBeside(configPath: string): string {
  return join(dirname(configPath), "e2ee-key");
}

/**
 * Reads a file holding a secret (a key, a 2FA code), checked as ssh checks
 * a key: refused when group or others may read it; trimmed, never shown.
 * `flag` names where the path came from.
 */
export async function readSecretFile(
  path: string,
  flag: string,
): Promise<string> {
  let mode: number;
  let text: string;
  try {
    mode = (await stat(path)).mode;
    text = await readFile(path, "utf8");
  } catch (error) {
    throw usage(`${flag}: cannot read ${path}: ${why(error)}`);
  }
  if ((mode & 0o077) !== 0) {
    throw usage(
      `${flag}: refusing ${path}: group or others can read it; run chmod 600 ${path}`,
    );
  }
  const secret = text.trim();
  if (secret === "") throw usage(`${flag}: ${path} is empty`);
  return secret;
}

/** Reads an end-to-end key file: {@linkcode readSecretFile}, then its shape. */
export async function readKeyFile(path: string, flag: string): Promise<string> {
  const key = await readSecretFile(path, flag);
  if (!/^[0-9a-fA-F]{64}$/.test(key)) {
    throw usage(
      `${flag}: ${path} does not hold an end-to-end key: it must be 64 hexadecimal characters`,
    );
  }
  return key;
}

/**
 * The key for this device: from `--e2ee-key-file` (then saved beside the
 * credentials for later runs), else the one saved there, else none.
 */
export async function loadKey(
  given: string | undefined,
  configPath: string,
): Promise<string | undefined> {
  if (given !== undefined) {
    const key = await readKeyFile(given, "--e2ee-key-file");
    await saveKeyBeside(key, given, configPath);
    return key;
  }
  const beside = keyPathBeside(configPath);
  if (!(await exists(beside))) return undefined;
  return await readKeyFile(beside, "the saved end-to-end key");
}

/**
 * Saves `key`, read from the file `given`, beside the credentials at
 * `configPath` for later runs (unless it is that file already).
 */
export async function saveKeyBeside(
  key: string,
  given: string,
  configPath: string,
): Promise<void> {
  const beside = keyPathBeside(configPath);
  if (given !== beside) await writePrivate(beside, `${key}\n`);
}
