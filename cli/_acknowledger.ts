// Acknowledging emergencies in the background: a failure (the server out of
// reach for a moment) is reported and retried, never fatal, and never holds
// up the delivery of later messages.

import { retryOrStop } from "../lib/_failure.ts";
import type { RetryDelay } from "../lib/_retry.ts";
import { acknowledge } from "../mod.ts";
import type { Device, Message, RequestOptions } from "../mod.ts";
import { headline } from "./_format.ts";
import { untilDone } from "./_retrying.ts";

/** Acknowledges each receipt once, retrying passing failures until stopped. */
export class Acknowledger {
  readonly #device: Device;
  readonly #api: RequestOptions;
  readonly #signal: AbortSignal;
  readonly #say: (line: string) => void;
  readonly #policy: RetryDelay | undefined;
  readonly #acknowledged: (message: Message) => void;
  /** Receipts being acknowledged or done: each is sent for once. */
  readonly #receipts = new Set<string>();
  readonly #running = new Set<Promise<void>>();

  constructor(options: {
    device: Device;
    api: RequestOptions;
    signal: AbortSignal;
    say: (line: string) => void;
    policy?: RetryDelay;
    /** Hears of each acknowledgement that went through (the inbox marks it). */
    acknowledged?: (message: Message) => void;
  }) {
    this.#device = options.device;
    this.#api = options.api;
    this.#signal = options.signal;
    this.#say = options.say;
    this.#policy = options.policy;
    this.#acknowledged = options.acknowledged ?? (() => {});
  }

  /** Starts acknowledging `message` (an emergency with a receipt). */
  acknowledge(message: Message): void {
    const receipt = message.receipt;
    if (receipt === undefined || this.#receipts.has(receipt)) return;
    this.#receipts.add(receipt);
    const what = `the emergency "${headline(message)}"`;
    const work = async () => {
      try {
        await acknowledge(this.#device, message, this.#api);
      } catch (thrown) {
        const { retry, error } = retryOrStop(thrown, "acknowledge");
        throw retry ? error : new Final(error);
      }
    };
    const run = untilDone(
      work,
      this.#signal,
      ({ delay, reason }) =>
        this.#say(
          `acknowledging ${what} failed (${reason}); retrying in ${
            Math.ceil(delay / 1000)
          } s`,
        ),
      this.#policy,
      (error) => error instanceof Final,
    )
      .then((done) => {
        if (!done) return;
        this.#say(`acknowledged ${what}`);
        this.#acknowledged(message);
      }, (error) => {
        this.#receipts.delete(receipt);
        this.#say(
          `could not acknowledge ${what}: ${(error as Final).cause.message}`,
        );
      })
      .finally(() => this.#running.delete(run));
    this.#running.add(run);
  }

  /** Resolves once every acknowledgement started has ended. */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
  }
}

/** A refusal no retry changes (e.g. the receipt is unknown or expired). */
class Final extends Error {
  override readonly cause: Error;
  constructor(cause: Error) {
    super(cause.message);
    this.cause = cause;
  }
}
