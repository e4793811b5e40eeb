// The reconnect and retry delay: exponential, jittered, never below `min`.

/** The longest delay a timer takes: beyond it, runtimes fire at once. */
export const MAX_TIMER = 2 ** 31 - 1;

/** Bounds of the delay between attempts, in milliseconds. */
export interface RetryDelay {
  /** The first delay, and the floor of every delay. */
  min: number;
  /** The ceiling the exponential growth stops at. */
  max: number;
}

/**
 * The delay before attempt `attempt` (1, 2, …): a random point between `min`
 * and `min · 2^(attempt-1)` capped at `max`. The floor keeps Pushover's rule
 * of no retry sooner than 5 s with the default `min`; the randomness keeps
 * many clients from reconnecting in step after an outage.
 */
export function backoffDelay(
  attempt: number,
  { min, max }: RetryDelay,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(max, min * 2 ** Math.max(0, attempt - 1));
  return min + random() * Math.max(0, ceiling - min);
}
