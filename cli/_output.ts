// Writing to stdout in a way that notices a reader that went away (EPIPE,
// `| head -1`), so the listener stops instead of deleting messages nobody
// reads. A pipe cannot say more: what was written into it before the reader
// went away counts as delivered (use --exec or --webhook when every message
// must reach its consumer).

import type { Writable } from "node:stream";
import { CliError } from "./_fail.ts";

/** The listener stopped while a line waited for a reader that stopped reading. */
export class OutputStopped extends Error {
  constructor() {
    super("stopped while stdout was blocked");
  }
}

/** Nobody reads stdout any more. */
export class OutputClosed extends Error {
  constructor() {
    super("stdout was closed");
  }
}

/** A reader that went away; anything else (a full disk) is a failure. */
function failure(error: unknown): Error {
  const code = (error as { code?: string })?.code;
  if (
    code === "EPIPE" || code === "ERR_STREAM_DESTROYED" ||
    (error as Error)?.name === "BrokenPipe"
  ) {
    return new OutputClosed();
  }
  const why = code === "ENOSPC" ? "the disk is full" : code ?? String(error);
  return new CliError(`cannot write to stdout: ${why}`);
}

/**
 * Each stdout's failure, heard by one listener however many Outputs write to
 * it: a relay's device writes through one stream run after run, and a
 * listener per run would pile up. Node emits EPIPE as an "error" event (and
 * would crash on it unheard, even between runs).
 */
const failures = new WeakMap<Writable, { error?: Error }>();

function failureOf(stdout: Writable): { error?: Error } {
  const known = failures.get(stdout);
  if (known) return known;
  const heard: { error?: Error } = {};
  stdout.on("error", (error) => heard.error ??= failure(error));
  failures.set(stdout, heard);
  return heard;
}

/** stdout, written a line at a time; each write resolves once it is out. */
export class Output {
  readonly #failed: { error?: Error };
  readonly #stdout: Writable;

  constructor(stdout: Writable) {
    this.#stdout = stdout;
    this.#failed = failureOf(stdout);
  }

  /** Writes `line` and a newline; rejects with OutputClosed when it cannot. */
  line(line: string, signal?: AbortSignal): Promise<void> {
    if (this.#failed.error) return Promise.reject(this.#failed.error);
    return new Promise((resolve, reject) => {
      // A reader that stopped reading must not hold up a stop: the line
      // counts as not written, and its message stays queued.
      const onAbort = () => reject(new OutputStopped());
      signal?.addEventListener("abort", onAbort, { once: true });
      const done = (error?: Error | null) => {
        signal?.removeEventListener("abort", onAbort);
        if (error) reject(this.#failed.error ??= failure(error));
        else resolve();
      };
      try {
        this.#stdout.write(`${line}\n`, done);
      } catch (error) {
        done(error as Error); // Deno and Bun may throw at once
      }
    });
  }
}
