// The one retry policy of the stream: how long to wait before attempt n, and
// when a run of failures counts as over. The connection, the sync and the
// deleter each keep a Backoff of their own, all made from this file.

/** The longest delay a timer takes: beyond it, runtimes fire at once. */
export const MAX_TIMER = 2 ** 31 - 1;

/**
 * Checks a number of milliseconds to wait: positive, and no more than a timer
 * can wait (beyond MAX_TIMER it fires at once, turning a long wait into a
 * loop) — or Infinity, "never", where `infinite` allows it.
 */
export function requireDelay(
  value: unknown,
  name: string,
  action: string,
  infinite = false,
): void {
  if (
    typeof value !== "number" || !(value > 0) ||
    (value > MAX_TIMER && !(infinite && value === Infinity))
  ) {
    throw new RangeError(
      `Cannot ${action}: '${name}' must be a positive number of milliseconds up to ${MAX_TIMER}${
        infinite ? ", or Infinity" : ""
      }: current value is ${value}`,
    );
  }
}

/** Bounds of the delay between attempts, in milliseconds, checked already. */
export interface RetryDelay {
  /** The floor of every delay. */
  min: number;
  /** The ceiling the exponential growth stops at. */
  max: number;
  /** How long things must work before the attempt count starts again. */
  resetAfter: number;
}

/**
 * The delay before attempt `attempt` (1, 2, …): a random point in
 * `[min, min(max, min · 2^attempt)]`, never below `min` — Pushover asks for
 * no retry sooner than 5 s, the default `min` — and jittered from the first
 * attempt on, so clients dropped together do not come back in step. A
 * server's `Retry-After` is a floor; the result never exceeds a timer's range.
 */
export function retryDelay(
  attempt: number,
  { min, max }: RetryDelay,
  retryAfter = 0,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(max, min * 2 ** attempt);
  const jittered = min + random() * Math.max(0, ceiling - min);
  return Math.min(MAX_TIMER, Math.max(jittered, retryAfter));
}

/**
 * A count of failed attempts that starts again only once what failed has
 * worked for `resetAfter` ms: a server that accepts and then fails at once,
 * again and again, keeps growing the delay instead of resetting it.
 */
export class Backoff {
  readonly #policy: RetryDelay;
  readonly #now: () => number;
  #attempt = 0;
  /** When the current healthy spell began; undefined while failing. */
  #healthySince: number | undefined;

  constructor(policy: RetryDelay, now: () => number = Date.now) {
    this.#policy = policy;
    this.#now = now;
  }

  /** Failed attempts in the current run (0 when none). */
  get attempt(): number {
    return this.#attempt;
  }

  /** Whether it has worked without a break for `resetAfter` ms. */
  get settled(): boolean {
    return this.#healthySince !== undefined &&
      this.#now() - this.#healthySince >= this.#policy.resetAfter;
  }

  /** It works (again): a healthy spell begins, unless one runs already. */
  succeeded(): void {
    this.#healthySince ??= this.#now();
  }

  /**
   * An attempt failed: counts it (after a settled spell, as the first of a
   * new run) and returns the attempt number and the delay before the next.
   */
  failed(retryAfter?: number): { attempt: number; delay: number } {
    if (this.settled) this.#attempt = 0;
    this.#healthySince = undefined;
    const attempt = ++this.#attempt;
    return { attempt, delay: retryDelay(attempt, this.#policy, retryAfter) };
  }

  /** Starts a new run at once, without waiting: after a settled spell. */
  reset(): void {
    this.#attempt = 0;
    this.#healthySince = undefined;
  }
}
