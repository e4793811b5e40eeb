// One REST call: URL and body building, the timeout, and turning every
// failure into a PushoverError that names what failed and shows no secret.

import {
  LoginRequiredError,
  PushoverError,
  TwoFactorRequiredError,
} from "./errors.ts";
import { redact, redactError } from "./_redact.ts";
import { MAX_TIMER } from "./_backoff.ts";
import { checkSecureUrl } from "./_secure_url.ts";
import { isObject } from "./_validate.ts";
import type { RequestOptions } from "./types.ts";

const DEFAULT_API_URL = "https://api.pushover.net/1";
const DEFAULT_TIMEOUT = 30_000;

/** A JSON object the server answered with `status: 1`. */
export type ApiBody = Record<string, unknown>;

/** Everything one call needs besides the user's options. */
export interface ApiCall {
  /** Finishes "Cannot …" in error messages, e.g. "download messages". */
  action: string;
  method: "GET" | "POST";
  /** Path below `apiUrl`, already URL-encoded. */
  path: string;
  params: Record<string, string>;
  /** Values that must never show in an error: secret, password, code. */
  secrets: string[];
  /**
   * Names of parameters whose rejection means "log in again" (a 4xx whose
   * errors name one of them becomes a LoginRequiredError).
   */
  authParams: string[];
  /** Turns the body text into a value; JSON.parse by default. */
  parse?: (text: string) => unknown;
}

/** Checks the options shared by every primitive, before any I/O. */
export function resolveOptions(action: string, options: RequestOptions): {
  apiUrl: string;
  fetch: typeof fetch;
  timeout: number;
} {
  const { apiUrl = DEFAULT_API_URL, timeout = DEFAULT_TIMEOUT } = options;
  const fetchFn = options.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== "function") {
    throw new TypeError(
      `Cannot ${action}: this runtime has no global fetch, pass one as the 'fetch' option`,
    );
  }
  // Beyond MAX_TIMER a timer fires at once; Infinity means no timeout.
  if (
    typeof timeout !== "number" || !(timeout > 0) ||
    (timeout > MAX_TIMER && timeout !== Infinity)
  ) {
    throw new RangeError(
      `Cannot ${action}: 'timeout' must be a positive number of milliseconds up to ${MAX_TIMER}, or Infinity: current value is ${timeout}`,
    );
  }
  const checkedUrl = checkSecureUrl(apiUrl, "apiUrl", action, {
    secure: "https:",
    plain: "http:",
  });
  return { apiUrl: checkedUrl, fetch: fetchFn, timeout };
}

/**
 * Makes the call and returns the parsed body of a successful answer; rejects
 * with a PushoverError (or a subclass) otherwise, or with `signal.reason` when
 * the user aborted.
 */
export async function callApi(
  call: ApiCall,
  options: RequestOptions,
): Promise<ApiBody> {
  const { apiUrl, fetch: fetchFn, timeout } = resolveOptions(
    call.action,
    options,
  );
  const { signal } = options;
  signal?.throwIfAborted();

  const url = new URL(`${apiUrl}/${call.path}`);
  const form = new URLSearchParams(call.params);
  const init: RequestInit = { method: call.method };
  if (call.method === "GET") url.search = form.toString();
  else init.body = form;

  // One controller per request, aborted by the timeout or the user's signal.
  // Linked by hand rather than AbortSignal.any(), whose dependents pile up on
  // a long-lived signal such as a stream's.
  const controller = new AbortController();
  let timedOut = false;
  const timeoutId = Number.isFinite(timeout)
    ? setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeout)
    : undefined;
  const forward = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", forward);
  init.signal = controller.signal;

  let response: Response;
  let text: string;
  try {
    response = await fetchFn(url, init);
    text = await response.text();
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    const cause = redactError(error, call.secrets);
    if (timedOut) {
      throw new PushoverError(
        `Cannot ${call.action}: no answer from ${url.host} within ${timeout} ms`,
        { cause },
      );
    }
    throw new PushoverError(
      `Cannot ${call.action}: the request to ${url.host} failed: ${
        redact(String((error as Error)?.message ?? error), call.secrets)
      }`,
      { cause },
    );
  } finally {
    clearTimeout(timeoutId);
    signal?.removeEventListener("abort", forward);
  }

  let body: unknown;
  try {
    body = (call.parse ?? JSON.parse)(text);
  } catch {
    body = undefined;
  }
  if (response.ok && isObject(body) && body.status === 1) return body;
  throw errorFor(call, response, body);
}

function errorFor(
  call: ApiCall,
  response: Response,
  body: unknown,
): PushoverError {
  const answer = `${response.status}${
    response.statusText ? ` ${response.statusText}` : ""
  }`;
  const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
  if (!isObject(body)) {
    return new PushoverError(
      `Cannot ${call.action}: the server answered ${answer} with a body that is not JSON`,
      { status: response.status, retryAfter },
    );
  }
  const errors = flattenErrors(body.errors).map((e) => redact(e, call.secrets));
  const options = {
    status: response.status,
    requestId: typeof body.request === "string"
      ? redact(body.request, call.secrets)
      : undefined,
    errors,
    retryAfter,
  };
  const detail = errors.length > 0 ? `: ${errors.join("; ")}` : "";
  const message =
    `Cannot ${call.action}: the server answered ${answer}${detail}`;
  const status = response.status;
  if (status === 412 && call.path === "users/login.json") {
    return new TwoFactorRequiredError(message, "twofa" in call.params, options);
  }
  if (
    status >= 400 && status < 500 && status !== 408 && status !== 429 &&
    namesAuthParam(body, errors, call.authParams)
  ) {
    return new LoginRequiredError(message, options);
  }
  return new PushoverError(message, options);
}

/**
 * `["a"]` stays; `{"name":["is taken"]}` becomes `["name is taken"]`, and
 * deeper objects prefix every field name. Nothing below 8 levels is read, so
 * a hostile nesting cannot overflow the stack.
 */
export function flattenErrors(errors: unknown): string[] {
  if (typeof errors === "string") return [errors];
  if (!Array.isArray(errors) && !isObject(errors)) return [];
  const out: string[] = [];
  const walk = (value: unknown, field: string, depth: number): void => {
    if (value === null || value === undefined || depth > 8) return;
    if (Array.isArray(value)) {
      for (const item of value) walk(item, field, depth + 1);
    } else if (isObject(value)) {
      for (const [key, item] of Object.entries(value)) {
        walk(item, field ? `${field} ${key}` : key, depth + 1);
      }
    } else out.push(field ? `${field} ${String(value)}` : String(value));
  };
  walk(errors, "", 0);
  return out;
}

function namesAuthParam(
  body: Record<string, unknown>,
  errors: string[],
  authParams: string[],
): boolean {
  if (authParams.length === 0) return false;
  const fieldErrors = isObject(body.errors) ? body.errors : {};
  const word = new RegExp(`\\b(${authParams.join("|")})\\b`, "i");
  return authParams.some((p) => p in body || p in fieldErrors) ||
    errors.some((e) => word.test(e));
}

/** Seconds or an HTTP date, as milliseconds; undefined when absent or bad. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The server said yes but left out what the library needs. */
export function unexpectedAnswer(
  action: string,
  body: ApiBody,
  what = "is missing expected fields",
): PushoverError {
  return new PushoverError(
    `Cannot ${action}: the server's answer ${what}`,
    { requestId: typeof body.request === "string" ? body.request : undefined },
  );
}

/** A passing failure is retried; a refusal of the request itself is not. */
export function isTransient(error: unknown): boolean {
  if (
    !(error instanceof PushoverError) || error instanceof LoginRequiredError
  ) {
    return false;
  }
  const { status } = error;
  return status === undefined || status >= 500 || status === 408 ||
    status === 429 || status < 400;
}
