// What the command line reads and writes: the process's own streams and
// environment when it is the program, others when a program (or a test)
// runs it in-process through main(args, io).

import process from "node:process";
import type { Readable, Writable } from "node:stream";

/** Standard input; a terminal has `isTTY` and raw mode. */
export interface Input extends Readable {
  /** True when a person types into it. */
  isTTY?: boolean;
  /** Turns the terminal's line discipline off (for hidden answers). */
  setRawMode?(raw: boolean): unknown;
}

/**
 * The command line's surroundings: environment, standard streams, and what
 * stops it. {@linkcode processIo} gives the process's own.
 */
export interface Io {
  /** Variables read (XDG folders, `PUSHOVER_*`) and handed to hooks. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where answers to questions come from. */
  readonly stdin: Input;
  /** Where messages and requested output go. */
  readonly stdout: Writable;
  /** Where questions, progress and errors go. */
  readonly stderr: Writable;
  /**
   * Stops the command as SIGINT or SIGTERM do. Without it, `main` stops on
   * those signals of the process.
   */
  readonly signal?: AbortSignal;
}

/** The process's environment and streams. */
export function processIo(): Io {
  return {
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
  };
}

/** Writes `text` and a newline to stdout (help, `status`, a unit file). */
export function print(io: Io, text: string): void {
  io.stdout.write(`${text}\n`);
}

/** Writes `text` and a newline to stderr (progress, questions' context). */
export function say(io: Io, text: string): void {
  io.stderr.write(`${text}\n`);
}
