// Doing something until it works or the listener stops: hooks, webhooks,
// acknowledgements. The delays are the library's one retry policy.

import { type RetryDelay, retryDelay } from "../lib/_retry.ts";
import { sleep } from "../lib/_wakeup.ts";

/** Waits of 1 s growing to 5 min, jittered; a server's Retry-After first. */
export const HOOK_RETRY: RetryDelay = {
  min: 1_000,
  max: 300_000,
  resetAfter: 0,
};

/** Why the last try failed, and when the next one is. */
export interface RetryReport {
  attempt: number;
  delay: number;
  reason: string;
}

/**
 * Runs `work` until it resolves; after each failure waits as the retry
 * policy says (`retryAfter` on the error as a floor). Resolves true once it
 * worked, false when `signal` aborted first (then nothing more is tried);
 * rejects with an error `isFinal` says no retry can change.
 */
export async function untilDone(
  work: () => Promise<void>,
  signal: AbortSignal,
  onRetry: (report: RetryReport) => void,
  policy: RetryDelay | undefined = HOOK_RETRY,
  isFinal: (error: unknown) => boolean = () => false,
): Promise<boolean> {
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      await work();
      return true;
    } catch (error) {
      if (signal.aborted) return false;
      if (isFinal(error)) throw error;
      const retryAfter = (error as { retryAfter?: number }).retryAfter;
      const delay = retryDelay(attempt, policy ?? HOOK_RETRY, retryAfter);
      onRetry({ attempt, delay, reason: (error as Error).message });
      await sleep(delay, signal);
    }
  }
  return false;
}
