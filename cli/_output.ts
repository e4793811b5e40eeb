// Writing to stdout in a way that notices a reader that went away (EPIPE,
// `| head -1`), so the listener stops instead of deleting messages nobody
// reads. A pipe cannot say more: what was written into it before the reader
// went away counts as delivered (use --exec or --webhook when every message
// must reach its consumer).

import type { Writable } from "node:stream";
import { CliError } from "./_fail.ts";

/** Nobody reads stdout any more. */
/** The listener stopped while a line waited for a reader that stopped reading. */
export class OutputStopped extends Error {
  constructor() {
    super("stopped while stdout was blocked");
  }
}

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

/** stdout, written a line at a time; each write resolves once it is out. */
export class Output {
  #failed: Error | undefined;
  readonly #stdout: Writable;

  constructor(stdout: Writable) {
    this.#stdout = stdout;
    // Node emits EPIPE here (and would crash on it unheard).
    stdout.on("error", (error) => this.#failed ??= failure(error));
  }

  /** Writes `line` and a newline; rejects with OutputClosed when it cannot. */
  line(line: string, signal?: AbortSignal): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise((resolve, reject) => {
      // A reader that stopped reading must not hold up a stop: the line
      // counts as not written, and its message stays queued.
      const onAbort = () => reject(new OutputStopped());
      signal?.addEventListener("abort", onAbort, { once: true });
      const done = (error?: Error | null) => {
        signal?.removeEventListener("abort", onAbort);
        if (error) reject(this.#failed ??= failure(error));
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
