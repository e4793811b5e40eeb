// The optional rate limit: at most N requests a minute to each endpoint,
// counted over a sliding minute; past it, how long until a slot frees up.

const MINUTE = 60_000;

/** Counts requests per endpoint over the last minute. */
export class RateLimiter {
  readonly #perMinute: number | undefined;
  readonly #now: () => number;
  readonly #seen = new Map<string, number[]>();

  constructor(perMinute: number | undefined, now: () => number = Date.now) {
    this.#perMinute = perMinute;
    this.#now = now;
  }

  /** Counts a request; returns 0 if it is allowed, else ms to wait. */
  take(endpoint: string): number {
    if (this.#perMinute === undefined) return 0;
    const now = this.#now();
    const times = (this.#seen.get(endpoint) ?? []).filter((t) =>
      now - t < MINUTE
    );
    this.#seen.set(endpoint, times);
    if (times.length >= this.#perMinute) return MINUTE - (now - times[0]);
    times.push(now);
    return 0;
  }
}
