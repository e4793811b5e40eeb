// The stream's deletes: one request at a time, through the highest id the
// loop has moved past, retried with backoff when the server fails passingly.

import { retryOrStop } from "./_failure.ts";
import { compareIdStrings } from "./_parse_batch.ts";
import { Backoff, type RetryDelay } from "./_retry.ts";
import { type PreparedDelete, prepareDelete } from "./delete_through.ts";
import { LoginRequiredError } from "./errors.ts";
import type { StreamEvents } from "./_connection.ts";
import type { Device, RequestOptions } from "./types.ts";

/** Settings the deleter needs, already checked: the stream's own. */
export interface DeleterSettings {
  device: Device;
  request: RequestOptions;
  retryDelay: RetryDelay;
  /** False: never delete (the user deletes). */
  autoDelete: boolean;
  /** The clock that paces deletes within a batch; a test moves it. */
  now?: () => number;
}

/**
 * What the deleter tells the stream: a delete the server refuses for good
 * (e.g. the secret) is fatal; a retry is a status.
 */
export type DeleterEvents = Pick<StreamEvents, "fatal" | "status">;

/**
 * Within one batch, a delete goes out without waiting for the batch's end
 * once DELETE_EVERY messages were moved past and DELETE_PACE ms passed since
 * the last delete went out: a consumer slower than the flow makes each batch
 * bigger than the last, and a crash must not re-deliver all of one — while a
 * fast consumer's burst still costs one delete a second, not hundreds.
 */
export const DELETE_EVERY = 16;
export const DELETE_PACE = 1_000;

/** Deletes on the server what the loop has handled, in the background. */
export class Deleter {
  readonly #settings: DeleterSettings;
  readonly #events: DeleterEvents;
  readonly #delete: PreparedDelete;
  readonly #backoff: Backoff;
  /** Cuts in-flight requests when stopping takes too long. */
  readonly #abort = new AbortController();
  /** Highest id the loop moved past; fixed once stopping began. */
  #handled: string | undefined;
  #deleted: string | undefined;
  /**
   * A target whose delete failed without a sure answer (no answer in time,
   * a 5xx): the server may have applied it. Its retry then deletes nothing,
   * which a server may refuse ([UNKNOWN]); that refusal means it is done.
   */
  #maybeDeleted: string | undefined;
  #inFlight: Promise<void> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #stopping = false;
  /** Messages moved past since the last delete went out. */
  #sinceLastDelete = 0;
  /** When the last delete went out, by `now()`. */
  #lastSent = -Infinity;
  readonly #now: () => number;

  constructor(settings: DeleterSettings, events: DeleterEvents) {
    this.#settings = settings;
    this.#events = events;
    this.#delete = prepareDelete(settings.device, settings.request);
    this.#now = settings.now ?? Date.now;
    this.#backoff = new Backoff(settings.retryDelay, this.#now);
  }

  /**
   * The loop moved past the message with this id: it may be deleted, and is
   * at once when a long batch is due one (DELETE_EVERY, DELETE_PACE).
   */
  handled(id: string): void {
    if (this.#stopping) return;
    if (
      this.#handled === undefined || compareIdStrings(id, this.#handled) > 0
    ) {
      this.#handled = id;
    }
    if (
      ++this.#sinceLastDelete >= DELETE_EVERY &&
      this.#now() - this.#lastSent >= DELETE_PACE
    ) this.flush();
  }

  /**
   * Starts a delete through the handled id, unless one runs, a retry waits,
   * or nothing is due. It runs beside whatever else the stream does: a
   * download waits for no delete, and no delete waits for a quiet moment.
   */
  flush(): void {
    const target = this.#handled;
    if (
      !this.#settings.autoDelete || this.#inFlight || this.#retryTimer ||
      target === undefined ||
      (this.#deleted !== undefined &&
        compareIdStrings(target, this.#deleted) <= 0)
    ) return;
    this.#sinceLastDelete = 0;
    this.#lastSent = this.#now();
    this.#inFlight = this.#delete.send(target, this.#abort.signal).then(
      () => {
        this.#deleted = target;
        this.#backoff.succeeded();
      },
      (error) => this.#failed(error, target),
    ).finally(() => {
      this.#inFlight = undefined;
      // The loop moved on while this request ran: delete that too.
      if (!this.#stopping && this.#deleted === target) this.flush();
    });
  }

  /**
   * Stops: what the loop moved past until now is the last thing deleted —
   * nothing handed over later counts. Waits for the running delete and makes
   * a last one if it did not reach that far, but no longer than `grace` ms;
   * whatever is not deleted then comes again on the next start.
   */
  async stop(grace: number): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const timer = setTimeout(() => this.#abort.abort(), grace);
    try {
      await this.#inFlight;
      this.flush();
      await this.#inFlight;
    } finally {
      clearTimeout(timer);
      this.#delete.dispose();
    }
  }

  #failed(thrown: unknown, target: string): void {
    if (this.#abort.signal.aborted) return;
    const { retry, error } = retryOrStop(thrown, "delete messages");
    if (!retry) {
      // A refused retry of a delete that may have gone through: done (the
      // secret or device refused still stops the stream).
      if (
        this.#maybeDeleted === target && !(error instanceof LoginRequiredError)
      ) {
        this.#deleted = target;
        return;
      }
      this.#events.fatal(error);
      return;
    }
    this.#maybeDeleted = target;
    if (this.#stopping) return;
    const { attempt, delay } = this.#backoff.failed(error.retryAfter);
    this.#events.status({
      state: "retrying",
      attempt,
      delay,
      reason: error.message,
    });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.flush();
    }, delay);
  }
}
