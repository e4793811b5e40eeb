// Keeps secrets out of every error the library raises.

const SECRET_PARAMETERS = /([?&](?:secret|password|twofa)=)[^&\s#'")]*/g;

/** Replaces each secret value, and any `secret=`-style query value, in `text`. */
export function redact(text: string, secrets: readonly string[]): string {
  let clean = text.replace(SECRET_PARAMETERS, "$1[redacted]");
  for (const secret of secrets) {
    if (secret) clean = clean.split(secret).join("[redacted]");
  }
  return clean;
}

/**
 * Returns `error` itself when it shows no secret; otherwise a copy of the same
 * class and name whose message and stack are redacted. Runtimes put the
 * request URL (with `?secret=`) into fetch errors, and those become `cause`.
 */
export function redactError(
  error: unknown,
  secrets: readonly string[],
): unknown {
  if (!(error instanceof Error)) return error;
  const message = redact(error.message, secrets);
  const stack = error.stack === undefined
    ? undefined
    : redact(error.stack, secrets);
  if (message === error.message && stack === error.stack) return error;
  const copy = new Error(message);
  Object.setPrototypeOf(copy, Object.getPrototypeOf(error));
  copy.name = error.name;
  copy.stack = stack;
  return copy;
}
