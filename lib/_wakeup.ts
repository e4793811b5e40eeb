// Small waiting primitives for the stream's loop.

/** Lets one async loop sleep until another part of the code pokes it. */
export class Wakeup {
  #resolve: (() => void) | undefined;
  #pending = false;

  /** Resolves at the next `wake()`, or at once if one came since the last wait. */
  wait(): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** Wakes the waiter, or the next one if nobody waits now. */
  wake(): void {
    const resolve = this.#resolve;
    this.#resolve = undefined;
    if (resolve) resolve();
    else this.#pending = true;
  }
}

/**
 * Resolves after `ms`, or as soon as `signal` aborts (never rejects); the
 * timer and the listener are gone once it resolves.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
