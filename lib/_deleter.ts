// The stream's deletes: one request at a time, through the highest id the
// loop has moved past, retried with backoff when the server fails passingly.

import { backoffDelay, MAX_TIMER, type RetryDelay } from "./_backoff.ts";
import { isTransient } from "./_http.ts";
import { compareIdStrings } from "./_parse_batch.ts";
import { deleteThrough } from "./delete_through.ts";
import type { PushoverError } from "./errors.ts";
import type { StreamStatus } from "./stream_types.ts";
import type { Device, RequestOptions } from "./types.ts";

/** What the deleter needs from the stream. */
export interface DeleterSettings {
  device: Device;
  request: RequestOptions;
  retryDelay: RetryDelay;
  /** False: never delete (the user deletes). */
  enabled: boolean;
  /** A delete the server refuses for good (e.g. the secret). */
  fatal(error: PushoverError): void;
  status(status: StreamStatus): void;
}

/** Deletes on the server what the loop has handled, in the background. */
export class Deleter {
  readonly #settings: DeleterSettings;
  /** Cuts in-flight requests when stopping takes too long. */
  readonly #abort = new AbortController();
  #handled: string | undefined;
  #deleted: string | undefined;
  #inFlight: Promise<void> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #stopped = false;

  constructor(settings: DeleterSettings) {
    this.#settings = settings;
  }

  /** The loop moved past the message with this id: it may be deleted. */
  handled(id: string): void {
    if (
      this.#handled === undefined || compareIdStrings(id, this.#handled) > 0
    ) {
      this.#handled = id;
    }
  }

  /** Starts a delete through the handled id, unless one runs or none is due. */
  flush(): void {
    const target = this.#handled;
    if (
      !this.#settings.enabled || this.#inFlight || this.#retryTimer ||
      target === undefined ||
      (this.#deleted !== undefined &&
        compareIdStrings(target, this.#deleted) <= 0)
    ) return;
    const { device, request } = this.#settings;
    this.#inFlight = deleteThrough(device, target, {
      ...request,
      signal: this.#abort.signal,
    }).then(
      () => {
        this.#deleted = target;
        this.#failures = 0;
      },
      (error) => this.#failed(error),
    ).finally(() => {
      this.#inFlight = undefined;
      // The loop moved on while this request ran: delete that too.
      if (!this.#stopped && this.#deleted === target) this.flush();
    });
  }

  /**
   * Stops: waits for the running delete and makes a last one for what the
   * loop moved past, but no longer than `grace` ms; whatever is not deleted
   * then comes again on the next start.
   */
  async stop(grace: number): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const timer = setTimeout(() => this.#abort.abort(), grace);
    try {
      await this.#inFlight;
      this.flush();
      await this.#inFlight;
    } finally {
      clearTimeout(timer);
    }
  }

  #failed(error: unknown): void {
    if (this.#abort.signal.aborted) return;
    if (!isTransient(error)) {
      this.#settings.fatal(error as PushoverError);
      return;
    }
    if (this.#stopped) return;
    const attempt = ++this.#failures;
    const delay = Math.min(
      MAX_TIMER,
      Math.max(
        backoffDelay(attempt, this.#settings.retryDelay),
        (error as PushoverError).retryAfter ?? 0,
      ),
    );
    this.#settings.status({
      state: "retrying",
      attempt,
      delay,
      reason: (error as Error).message,
    });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.flush();
    }, delay);
  }
}
