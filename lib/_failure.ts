// The one place that decides, after a failure, between trying again and
// stopping for good. The stream's downloads, its deletes and the CLI's
// acknowledgements all ask it; none reads an error's message text.

import { describeThrown } from "./_redact.ts";
import { PushoverError } from "./errors.ts";

/**
 * What to do after a failure: wait (at least `error.retryAfter`) and make
 * the same call again, or stop and hand `error` to whoever is waiting.
 */
export interface Verdict {
  retry: boolean;
  error: PushoverError;
}

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
    return { retry: error.transient, error };
  }
  return {
    retry: false,
    error: new PushoverError(
      // No secrets are known here; describeThrown survives a hostile value.
      `Cannot ${action}: unexpected failure: ${describeThrown(error, [])}`,
      { cause: error },
    ),
  };
}
