// The listener's state in a small JSON file, rewritten whole (atomically) on
// each change, for `status`, desktop widgets and monitoring.

import process from "node:process";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { writePrivate } from "./_files.ts";
import { oneLine } from "./_format.ts";

/** What the status file holds. */
export interface ListenerStatus {
  /** starting | connected | offline | stopped */
  state: "starting" | "connected" | "offline" | "stopped";
  /** ISO time the state began. */
  since: string;
  /** The listener's process id, to tell a stale file from a live one. */
  pid: number;
  /** The device listened for. */
  device?: string;
  /** ISO time of the last message handed on. */
  lastMessageAt?: string;
  /** The last problem, one line; never a secret. */
  lastError?: string;
  /** ISO time of the last problem: `status` tells an old one from a current one. */
  lastErrorAt?: string;
  /** The account's Desktop licence, as the last download said. */
  desktopLicensed?: boolean;
}

/** Keeps the status file up to date; writes never overlap. */
export class StatusFile {
  readonly #path: string | undefined;
  #status: ListenerStatus;
  #writing: Promise<void> = Promise.resolve();

  /** `path` undefined keeps the status in memory only. */
  constructor(path: string | undefined, device: string | undefined) {
    this.#path = path;
    this.#status = {
      state: "starting",
      since: new Date().toISOString(),
      pid: process.pid,
      ...(device ? { device } : {}),
    };
  }

  /** Changes fields; a new `state` moves `since`. Writes only on a change. */
  update(
    change: Partial<Omit<ListenerStatus, "since" | "pid">>,
  ): Promise<void> {
    const next = { ...this.#status, ...change };
    // A server's error text: no escape sequence or line break in the file.
    if (change.lastError !== undefined) {
      next.lastError = oneLine(change.lastError);
      next.lastErrorAt = new Date().toISOString();
    }
    if (change.state && change.state !== this.#status.state) {
      next.since = new Date().toISOString();
    }
    if (JSON.stringify(next) === JSON.stringify(this.#status)) {
      return this.#writing;
    }
    this.#status = next;
    const path = this.#path;
    if (path === undefined) return this.#writing;
    const text = `${JSON.stringify(next, null, 2)}\n`;
    this.#writing = this.#writing.then(() => writePrivate(path, text)).catch(
      () => {}, // a status file that cannot be written must not stop delivery
    );
    return this.#writing;
  }
}

/** Reads a status file; undefined when there is none. */
export async function readStatus(
  path: string,
): Promise<ListenerStatus | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as ListenerStatus;
  } catch {
    return undefined;
  }
}

/**
 * Whether the process `pid` runs (signal 0 checks without sending). One that
 * was killed but not reaped yet by its parent still answers the signal: on
 * Linux its state says so, and it does not run.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
  return !isZombie(pid);
}

/** Whether `pid` exited and waits to be reaped (Linux; elsewhere: no). */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (name) state …": the name may hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}
