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
 * class and name whose message, stack, string properties and cause chain are
 * redacted. Runtimes put the request URL (with `?secret=`) into fetch errors:
 * Deno in the `cause` of a plain "fetch failed", Bun in a `path` property.
 */
export function redactError(
  error: unknown,
  secrets: readonly string[],
  depth = 0,
): unknown {
  if (typeof error === "string") return redact(error, secrets);
  if (!(error instanceof Error)) return error;
  // A cause chain deeper than this is not worth walking: drop the rest.
  if (depth > 8) return undefined;
  const message = redact(error.message, secrets);
  const stack = error.stack === undefined
    ? undefined
    : redact(error.stack, secrets);
  const cause = redactError(error.cause, secrets, depth + 1);
  const own = error as unknown as Record<string, unknown>;
  const fields = Object.keys(error).map((key): [string, unknown] => {
    const value = own[key];
    return [key, typeof value === "string" ? redact(value, secrets) : value];
  });
  if (
    message === error.message && stack === error.stack &&
    cause === error.cause && fields.every(([key, value]) => value === own[key])
  ) return error;
  const copy = new Error(message, "cause" in error ? { cause } : undefined);
  Object.setPrototypeOf(copy, Object.getPrototypeOf(error));
  for (const [key, value] of fields) {
    (copy as unknown as Record<string, unknown>)[key] = value;
  }
  copy.name = error.name;
  copy.stack = stack;
  return copy;
}
