// Writing to stdout in a way that notices a reader that went away (EPIPE,
// `| head -1`), so the listener stops instead of deleting messages nobody
// reads.

import process from "node:process";

/** Nobody reads stdout any more. */
export class OutputClosed extends Error {
  constructor() {
    super("stdout was closed");
  }
}

/** stdout, written a line at a time; each write resolves once it is out. */
export class Output {
  #closed = false;

  constructor() {
    // Node emits EPIPE here (and would crash on it unheard).
    process.stdout.on("error", () => this.#closed = true);
  }

  /** Writes `line` and a newline; rejects with OutputClosed when it cannot. */
  line(line: string): Promise<void> {
    if (this.#closed) return Promise.reject(new OutputClosed());
    return new Promise((resolve, reject) => {
      const done = (error?: Error | null) => {
        if (error) {
          this.#closed = true;
          reject(new OutputClosed());
        } else resolve();
      };
      try {
        process.stdout.write(`${line}\n`, done);
      } catch {
        done(new OutputClosed()); // Deno and Bun may throw at once
      }
    });
  }
}
