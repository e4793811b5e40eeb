// The one place that decides, after a failure, between trying again and
// stopping for good. The stream's downloads, its deletes and the CLI's
// acknowledgements all ask it; none reads an error's message text.

import { PushoverError } from "./errors.ts";

/** What to do after a failure. */
export type Verdict =
  /** Wait (at least `error.retryAfter`) and make the same call again. */
  | { retry: true; error: PushoverError }
  /** Stop, and hand `error` to whoever is waiting. */
  | { retry: false; error: PushoverError };

/**
 * Decides retry or stop for what a call to Pushover threw:
 *
 * 1. A {@linkcode PushoverError} marked `transient` (no answer, a timeout, a
 *    5xx, 408, 429, an unreadable answer) is retried.
 * 2. Any other PushoverError — a refusal, `LoginRequiredError`,
 *    `TwoFactorRequiredError` — stops: retrying cannot mend it.
 * 3. Anything else is a failure nobody foresaw (a bug, a hostile `fetch`
 *    double): it stops too, wrapped in a PushoverError that names the action
 *    and keeps the original as its `cause`, so callers never cast.
 */
export function retryOrStop(error: unknown, action: string): Verdict {
  if (error instanceof PushoverError) {
    return error.transient ? { retry: true, error } : { retry: false, error };
  }
  return {
    retry: false,
    error: new PushoverError(
      `Cannot ${action}: unexpected failure: ${describe(error)}`,
      { cause: error },
    ),
  };
}

/** A thrown value as one short line: its name and message, or its type. */
function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return error === null ? "null" : typeof error;
}
