// Noticing that the process was suspended (a laptop's sleep, SIGSTOP): one
// timer for the whole process, however many streams run, so a thousand
// streams cost one wake-up every ten seconds, not a thousand.

/**
 * How often the wall clock is compared with the timer: a check that comes
 * SUSPEND_THRESHOLD late means the machine slept or the process was stopped,
 * so sockets are most likely dead without a close, and waiting for the
 * keep-alive watchdog would take up to `keepAliveTimeout`.
 *
 * Why ten seconds: each wake-up of an idle process costs about 1 ms of CPU
 * on Node here (0.5 ms in an empty one), so a 1 s tick was most of what
 * 1,000 idle streams cost beyond their sockets (bench/many_streams.ts). A
 * laptop's sleep stops the timer's clock, so the first tick after waking is
 * late by the whole sleep: noticed within ten seconds of waking. A SIGSTOP
 * does not stop that clock: a stop is noticed, at SIGCONT, when a tick fell
 * due at least SUSPEND_THRESHOLD before its end — always for stops of 14 s
 * or more, and shorter stops leave a socket alive more often than not.
 */
const TICK_INTERVAL = 10_000;
const SUSPEND_THRESHOLD = 4_000;

/** Settings of a watch; a test moves `now` to fake a suspend. */
export interface SuspendWatchOptions {
  /** The wall clock. */
  now?: () => number;
  /** Milliseconds between checks of the wall clock. */
  tickInterval?: number;
  /** A check this late (ms) means the process was suspended meanwhile. */
  threshold?: number;
}

/** Tells its subscribers, once per suspend, how late its timer came. */
export class SuspendWatch {
  readonly #now: () => number;
  readonly #every: number;
  readonly #threshold: number;
  readonly #listeners = new Set<(lateMs: number) => void>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastTick = 0;

  constructor(options: SuspendWatchOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#every = options.tickInterval ?? TICK_INTERVAL;
    this.#threshold = options.threshold ?? SUSPEND_THRESHOLD;
  }

  /**
   * Calls `listener` after each suspend from now on; returns the way to stop.
   * The timer runs only while someone listens, so an idle process (or a
   * Worker between events) keeps no timer of this watch.
   */
  subscribe(listener: (lateMs: number) => void): () => void {
    // A function of its own per subscription: the same listener subscribed
    // twice is two subscriptions, and unsubscribing one leaves the other.
    const entry = (late: number) => listener(late);
    this.#listeners.add(entry);
    if (this.#timer === undefined) {
      this.#lastTick = this.#now();
      this.#timer = setInterval(() => this.#tick(), this.#every);
    }
    return () => {
      this.#listeners.delete(entry);
      if (this.#listeners.size > 0 || this.#timer === undefined) return;
      clearInterval(this.#timer);
      this.#timer = undefined;
    };
  }

  /** Whether the timer runs (for tests). */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  #tick(): void {
    const now = this.#now();
    const late = now - this.#lastTick - this.#every;
    this.#lastTick = now;
    if (late < this.#threshold) return;
    // A copy: a listener may subscribe or unsubscribe while it is told.
    for (const listener of [...this.#listeners]) listener(late);
  }
}

/** The one watch every stream of this process shares. */
export const processSuspendWatch: SuspendWatch = new SuspendWatch();
