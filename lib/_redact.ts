// Keeps secrets out of every error the library raises, whatever was thrown:
// nothing here may throw, since it runs while another failure is reported.

const SECRET_PARAMETERS = /([?&](?:secret|password|twofa)=)[^&\s#'")]*/g;
/** Cause chains and nested objects deeper than this are cut off. */
const MAX_DEPTH = 8;

/** Replaces each secret value, and any `secret=`-style query value, in `text`. */
export function redact(text: string, secrets: readonly string[]): string {
  let clean = text.replace(SECRET_PARAMETERS, "$1[redacted]");
  for (const secret of secrets) {
    if (secret) clean = clean.split(secret).join("[redacted]");
  }
  return clean;
}

/**
 * The message of anything thrown, redacted; never throws, even for values
 * whose `message` is a throwing getter or that have no string form.
 */
export function describeThrown(
  thrown: unknown,
  secrets: readonly string[],
): string {
  try {
    const text = thrown instanceof Error ? thrown.message : String(thrown);
    return redact(String(text), secrets);
  } catch {
    return "an error that cannot be read";
  }
}

/**
 * Returns `thrown` itself when it shows no secret; otherwise a copy of the
 * same class and name whose message, stack, own properties and cause chain
 * are redacted. Runtimes put the request URL (with `?secret=`) into fetch
 * errors: Deno in the `cause` of a plain "fetch failed", Bun in a `path`
 * property. Exotic errors (a `DOMException`, whose `name` is a getter; frozen
 * objects; throwing getters; cycles) are copied without touching what would
 * throw; anything unreadable becomes a plain Error with what could be read.
 */
export function redactError(
  thrown: unknown,
  secrets: readonly string[],
): unknown {
  try {
    return redactValue(thrown, secrets, 0, new Map());
  } catch {
    return new Error(describeThrown(thrown, secrets));
  }
}

function redactValue(
  value: unknown,
  secrets: readonly string[],
  depth: number,
  seen: Map<object, unknown>,
): unknown {
  if (typeof value === "string") return redact(value, secrets);
  if (typeof value !== "object" || value === null) return value;
  if (seen.has(value)) return seen.get(value);
  if (depth > MAX_DEPTH) return undefined;
  if (value instanceof Error) {
    return redactErrorObject(value, secrets, depth, seen);
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    seen.set(value, copy);
    for (const item of value) {
      copy.push(redactValue(item, secrets, depth + 1, seen));
    }
    return unchanged(value, copy) ? remember(seen, value, value) : copy;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    // A URL, Request or other class instance: shown by its string form.
    const text = String(value);
    const clean = redact(text, secrets);
    return remember(seen, value, clean === text ? value : clean);
  }
  const copy: Record<string, unknown> = {};
  seen.set(value, copy);
  for (const key of Object.keys(value)) {
    copy[key] = redactValue(
      (value as Record<string, unknown>)[key],
      secrets,
      depth + 1,
      seen,
    );
  }
  return unchanged(value, copy) ? remember(seen, value, value) : copy;
}

function redactErrorObject(
  error: Error,
  secrets: readonly string[],
  depth: number,
  seen: Map<object, unknown>,
): unknown {
  // While its cause chain is walked, a cycle back to it is cut off there.
  seen.set(error, undefined);
  const message = redact(String(error.message), secrets);
  const stack = typeof error.stack === "string"
    ? redact(error.stack, secrets)
    : error.stack;
  const hasCause = "cause" in error;
  const cause = hasCause
    ? redactValue(error.cause, secrets, depth + 1, seen)
    : undefined;
  const own = error as unknown as Record<string, unknown>;
  const fields: [string, unknown][] = Object.keys(error).map((key) => [
    key,
    redactValue(own[key], secrets, depth + 1, seen),
  ]);
  if (
    message === error.message && stack === error.stack &&
    (!hasCause || cause === error.cause) &&
    fields.every(([key, value]) => value === own[key])
  ) return error;
  const copy = sameKind(error, message);
  const define = (key: string, value: unknown, enumerable = false) =>
    Object.defineProperty(copy, key, {
      value,
      enumerable,
      writable: true,
      configurable: true,
    });
  define("message", message);
  define("stack", stack);
  if (hasCause) define("cause", cause);
  for (const [key, value] of fields) define(key, value, true);
  seen.set(error, copy);
  return copy;
}

/** A new error of the same class and name, built without running its constructor. */
function sameKind(error: Error, message: string): Error {
  if (typeof DOMException === "function" && error instanceof DOMException) {
    return new DOMException(message, error.name);
  }
  const copy = Object.create(Object.getPrototypeOf(error)) as Error;
  // Own property: a prototype's `name` may be a getter without a setter.
  Object.defineProperty(copy, "name", {
    value: String(error.name),
    writable: true,
    configurable: true,
  });
  return copy;
}

function unchanged(original: object, copy: object): boolean {
  const a = original as Record<string, unknown>;
  const b = copy as Record<string, unknown>;
  return Object.keys(b).every((key) => a[key] === b[key]);
}

function remember(
  seen: Map<object, unknown>,
  value: object,
  result: unknown,
): unknown {
  seen.set(value, result);
  return result;
}
