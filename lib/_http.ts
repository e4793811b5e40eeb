// One REST call: URL and body building, the timeout, and turning every
// failure into a PushoverError that names what failed and shows no secret.

import { LoginRequiredError, PushoverError } from "./errors.ts";
import type { PushoverErrorOptions } from "./errors.ts";
import { describeThrown, redact, redactError } from "./_redact.ts";
import { requireDelay } from "./_retry.ts";
import { RequestTimeouts } from "./_timeouts.ts";
import { checkSecureUrl } from "./_secure_url.ts";
import { isObject } from "./_validate.ts";
import type { RequestOptions } from "./types.ts";

const DEFAULT_API_URL = "https://api.pushover.net/1";
const DEFAULT_TIMEOUT = 30_000;
/** How much of the server's `errors` an error message quotes. */
const QUOTED_ERRORS = 3;
const QUOTED_LENGTH = 200;
/** How much of it the `errors` property keeps. */
const KEPT_ERRORS = 100;
const KEPT_LENGTH = 1_000;

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
  /**
   * Reads a refusal with a JSON body the call's own way, before the rules
   * every call shares (a login's 412 asks for the 2FA code); undefined
   * leaves it to them.
   */
  refusal?: (
    status: number,
    message: string,
    options: PushoverErrorOptions,
  ) => PushoverError | undefined;
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
  requireDelay(timeout, "timeout", action, true);
  return {
    apiUrl: checkSecureUrl(apiUrl, "apiUrl", action, {
      secure: "https:",
      plain: "http:",
    }),
    fetch: fetchFn,
    timeout,
  };
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
  const prepared = prepareCall(call, options);
  try {
    return await prepared.send(options.signal);
  } finally {
    prepared.dispose();
  }
}

/** One call checked and built once, to be sent any number of times. */
export interface PreparedCall {
  /**
   * Sends the call; `signal` aborts this one request, `params` join the
   * call's own in this request's body (a POST's: a delete's message id).
   */
  send(
    signal?: AbortSignal,
    params?: Record<string, string>,
  ): Promise<ApiBody>;
  /** Drops the timeouts' timer: the call is not sent again. */
  dispose(): void;
}

/**
 * Checks the options and builds the URL and body once, and times the sends
 * out on one timer: a stream downloads on every `!`, and on its critical path
 * the checks, the form encoding and a fresh timer cost more than the rest of
 * the client's work together.
 */
export function prepareCall(
  call: ApiCall,
  options: RequestOptions,
): PreparedCall {
  const { apiUrl, fetch: fetchFn, timeout } = resolveOptions(
    call.action,
    options,
  );
  // A string, not a URL: fetch parses it anyway; errors parse it for the host.
  const base = `${apiUrl}/${call.path}`;
  const form = new URLSearchParams(call.params);
  const url = call.method === "GET" ? `${base}?${form}` : base;
  const timeouts = new RequestTimeouts(timeout);
  return { send, dispose: () => timeouts.dispose() };

  async function send(
    signal?: AbortSignal,
    params?: Record<string, string>,
  ): Promise<ApiBody> {
    signal?.throwIfAborted();
    // One controller per request, aborted by the timeout or the user's
    // signal. Linked by hand rather than AbortSignal.any(), whose dependents
    // pile up on a long-lived signal such as a stream's.
    const controller = new AbortController();
    const init: RequestInit = {
      method: call.method,
      signal: controller.signal,
    };
    // A body is read when fetch() is called, so one form serves every send.
    if (params) init.body = new URLSearchParams({ ...call.params, ...params });
    else if (call.method !== "GET") init.body = form;
    // Built only when it fires: a DOMException captures a stack (~40 µs).
    let timedOut = false;
    const settled = timeouts.start(() => {
      timedOut = true;
      controller.abort(
        new DOMException(`no answer within ${timeout} ms`, "TimeoutError"),
      );
    });
    const forward = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", forward);

    let response: Response;
    let text: string;
    try {
      response = await fetchFn(url, init);
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const host = new URL(base).host;
      if (timedOut) {
        throw new PushoverError(
          `Cannot ${call.action}: no answer from ${host} within ${timeout} ms`,
          { cause: controller.signal.reason, transient: true },
        );
      }
      throw new PushoverError(
        `Cannot ${call.action}: the request to ${host} failed: ${
          describeThrown(error, call.secrets)
        }`,
        { cause: redactError(error, call.secrets), transient: true },
      );
    } finally {
      settled();
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
}

function errorFor(
  call: ApiCall,
  response: Response,
  body: unknown,
): PushoverError {
  const status = response.status;
  // The reason phrase is the server's own text on Node and Bun (Deno puts
  // the standard one): it may echo a secret back as well as a body may.
  const answer = `${status}${
    response.statusText ? ` ${redact(response.statusText, call.secrets)}` : ""
  }`;
  const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
  // The status line says "try again later" whatever the body says.
  const later = status >= 500 || status === 408 || status === 429;
  if (!isObject(body)) {
    // A proxy's or portal's page on a 2xx/3xx is a glitch on the way; a 4xx page is a refusal.
    return new PushoverError(
      `Cannot ${call.action}: the server answered ${answer} with a body that is not JSON`,
      { status, retryAfter, transient: later || status < 400 },
    );
  }
  const { list, total } = flattenErrors(body.errors, KEPT_ERRORS);
  const errors = list.map((e) => redact(e, call.secrets).slice(0, KEPT_LENGTH));
  const options = {
    status,
    requestId: typeof body.request === "string"
      ? redact(body.request, call.secrets)
      : undefined,
    errors,
    retryAfter,
  };
  const message = `Cannot ${call.action}: the server answered ${answer}${
    quoteErrors(errors, total)
  }`;
  const own = call.refusal?.(status, message, options);
  if (own) return own;
  // A body that says no (a `status` of 0, or any number but 1) is a refusal
  // whatever the status line says; so is a 4xx without one. A `status` that
  // is no number at all ("1" as a string) is a garbled answer, not a no.
  const said = Number(body.status);
  const saysNo = typeof body.status !== "string" && "status" in body &&
    Number.isFinite(said) && said !== 1;
  const clientError = status >= 400 && status < 500 && !later;
  if (
    (saysNo && status !== 408 && status !== 429 || clientError) &&
    namesAuthParam(body, errors, call.authParams, clientError)
  ) {
    return new LoginRequiredError(message, options);
  }
  return new PushoverError(message, {
    ...options,
    transient: later || !(saysNo || clientError),
  });
}

/** `: a; b; c … and 7 more`, each entry cut to a readable length. */
function quoteErrors(errors: string[], total: number): string {
  if (total === 0) return "";
  const quoted = errors.slice(0, QUOTED_ERRORS).map((e) =>
    e.length > QUOTED_LENGTH ? `${e.slice(0, QUOTED_LENGTH)}…` : e
  );
  const more = total - quoted.length;
  return `: ${quoted.join("; ")}${more > 0 ? ` … and ${more} more` : ""}`;
}

/**
 * `["a"]` stays; `{"name":["is taken"]}` becomes `["name is taken"]`, and
 * deeper objects prefix every field name. Keeps the first `limit` entries and
 * counts them all; nothing below 8 levels is read, so a hostile nesting
 * cannot overflow the stack.
 */
export function flattenErrors(
  errors: unknown,
  limit = Infinity,
): { list: string[]; total: number } {
  const list: string[] = [];
  let total = 0;
  const add = (text: string) => {
    if (total++ < limit) list.push(text);
  };
  if (typeof errors === "string") add(errors);
  if (!Array.isArray(errors) && !isObject(errors)) return { list, total };
  const walk = (value: unknown, field: string, depth: number): void => {
    if (value === null || value === undefined || depth > 8) return;
    if (Array.isArray(value)) {
      for (const item of value) walk(item, field, depth + 1);
    } else if (isObject(value)) {
      for (const [key, item] of Object.entries(value)) {
        walk(item, field ? `${field} ${key}` : key, depth + 1);
      }
    } else add(field ? `${field} ${String(value)}` : String(value));
  };
  walk(errors, "", 0);
  return { list, total };
}

/**
 * Whether the answer rejects the secret or the device. On a 4xx naming the
 * parameter is enough (`{"secret":"invalid"}`, `{"errors":{"device":[…]}}`,
 * "secret is invalid"); on any other status line the name must come with a
 * word of rejection, since a success-like body carries a `secret` of its own.
 */
function namesAuthParam(
  body: Record<string, unknown>,
  errors: string[],
  authParams: string[],
  clientError: boolean,
): boolean {
  if (authParams.length === 0) return false;
  const fieldErrors = isObject(body.errors) ? body.errors : {};
  const names = `(${authParams.join("|")})`;
  const rejection = "(invalid|not found|disabled|expired|revoked|unknown)";
  const text = clientError
    ? new RegExp(`\\b${names}\\b`, "i")
    : new RegExp(`\\b${names}\\b.*\\b${rejection}\\b`, "i");
  const refusesKey = (p: string) =>
    clientError ? p in body : typeof body[p] === "string" &&
      new RegExp(`^${rejection}$`, "i").test(body[p] as string);
  return authParams.some((p) => refusesKey(p) || p in fieldErrors) ||
    errors.some((e) => text.test(e));
}

/** Seconds or an HTTP date, as milliseconds; undefined when absent or bad. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * The server said yes but left out what the library needs: worth a retry.
 * `secrets` are the call's: a server may echo one back in the request id.
 */
export function unexpectedAnswer(
  action: string,
  body: ApiBody,
  secrets: readonly string[],
  what = "is missing expected fields",
): PushoverError {
  return new PushoverError(`Cannot ${action}: the server's answer ${what}`, {
    requestId: typeof body.request === "string"
      ? redact(body.request, secrets)
      : undefined,
    transient: true,
  });
}
