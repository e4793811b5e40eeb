/**
 * The errors the library raises. Argument mistakes are plain `TypeError` and
 * `RangeError`; everything the server or the network causes is a
 * {@linkcode PushoverError}. No message ever holds a secret, password or code.
 *
 * @module
 */

/**
 * Details a {@linkcode PushoverError} carries besides its message.
 *
 * @example Fail like the server or the network in a test double
 * ```ts
 * import { PushoverError } from "@openpush/pushover-open-client";
 * import type { PushoverErrorOptions } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * // The server refused, asking to wait a minute…
 * const refused: PushoverErrorOptions = { status: 429, errors: ["slow down"], retryAfter: 60_000 };
 * // …or no answer came at all.
 * const offline: PushoverErrorOptions = { cause: new TypeError("fetch failed") };
 *
 * const error = new PushoverError("Cannot download messages: 429", { ...refused, transient: true });
 * assert.equal(error.retryAfter, 60_000);
 * assert.equal(error.transient, true);
 * assert.equal(new PushoverError("Cannot download messages", offline).status, undefined);
 * ```
 */
export interface PushoverErrorOptions {
  /** HTTP status, when a response came. */
  status?: number;
  /** The server's `request` token, for Pushover support. */
  requestId?: string;
  /** The server's error strings, flattened. */
  errors?: string[];
  /** Milliseconds the server asked to wait (`Retry-After`), when it did. */
  retryAfter?: number;
  /** The underlying error (network failure, timeout …). */
  cause?: unknown;
  /**
   * Whether the failure is passing, so the same call may succeed later (no
   * answer, a timeout, a 5xx, 408, 429, an answer that cannot be read).
   * Default false: a refusal.
   */
  transient?: boolean;
}

/**
 * A call to Pushover failed: the server refused it, answered something
 * unreadable, or could not be reached in time.
 *
 * @example Tell a refused request from a network failure
 * ```ts
 * import { PushoverError } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * const error = new PushoverError("Cannot download messages: 400 Bad Request", {
 *   status: 400,
 *   errors: ["secret is invalid"],
 * });
 * assert.equal(error.name, "PushoverError");
 * assert.equal(error.status, 400);
 * assert.deepEqual(error.errors, ["secret is invalid"]);
 * assert.equal(error.transient, false); // a refusal: retrying cannot help
 * ```
 */
export class PushoverError extends Error {
  /** HTTP status when a response came; `undefined` for network failures and timeouts. */
  readonly status: number | undefined;
  /** The server's `request` token, to quote to Pushover support. */
  readonly requestId: string | undefined;
  /**
   * The server's error strings. An object such as
   * `{"name":["has already been taken"]}` is flattened to
   * `"name has already been taken"`.
   */
  readonly errors: string[];
  /** Milliseconds the server asked to wait before retrying, if it said. */
  readonly retryAfter: number | undefined;
  /**
   * True when the failure is passing and the same call may succeed later: no
   * answer, a timeout, a server error, 408, 429, an answer that cannot be
   * read. False for a refusal — a bad secret, a rejected device, a 4xx — that
   * retrying cannot mend. The stream retries exactly the transient ones.
   */
  readonly transient: boolean;

  /**
   * Makes an error; the library builds these, users mostly read them.
   *
   * @param message What failed, without any secret.
   * @param options Status, request id, server errors and cause.
   */
  constructor(message: string, options: PushoverErrorOptions = {}) {
    super(
      message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "PushoverError";
    this.status = options.status;
    this.requestId = options.requestId;
    this.errors = options.errors ?? [];
    this.retryAfter = options.retryAfter;
    this.transient = options.transient === true;
  }
}

/**
 * Login needs the account's current two-factor code (HTTP 412): call
 * {@linkcode login} again with `twofa` set. `codeRejected` is true when a code
 * was sent and the server did not take it.
 *
 * @example Ask for the code and log in again
 * ```ts
 * import { login, TwoFactorRequiredError } from "@openpush/pushover-open-client";
 * import type { Session } from "@openpush/pushover-open-client";
 *
 * async function signIn(
 *   email: string,
 *   password: string,
 *   askCode: () => Promise<string>,
 * ): Promise<Session> {
 *   try {
 *     return await login({ email, password });
 *   } catch (error) {
 *     if (!(error instanceof TwoFactorRequiredError)) throw error;
 *     return await login({ email, password, twofa: await askCode() });
 *   }
 * }
 * ```
 */
export class TwoFactorRequiredError extends PushoverError {
  /** True when a code was sent with the login and refused. */
  readonly codeRejected: boolean;

  /**
   * Makes the error; {@linkcode login} raises it.
   *
   * @param message What failed, without the code.
   * @param codeRejected Whether a code was sent and refused.
   * @param options Status, request id, server errors.
   */
  constructor(
    message: string,
    codeRejected: boolean,
    options: PushoverErrorOptions = {},
  ) {
    super(message, options);
    this.name = "TwoFactorRequiredError";
    this.codeRejected = codeRejected;
  }
}

/**
 * The server rejected the secret or the device: retrying cannot help. Log in
 * again (and register again if the device is gone).
 *
 * @example Recognise it
 * ```ts
 * import { LoginRequiredError, PushoverError } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * const error = new LoginRequiredError("Cannot download messages: secret is invalid", {
 *   status: 400,
 * });
 * assert.ok(error instanceof PushoverError);
 * assert.equal(error.name, "LoginRequiredError");
 * ```
 */
export class LoginRequiredError extends PushoverError {
  /**
   * Makes the error; the primitives raise it.
   *
   * @param message What failed, without any secret.
   * @param options Status, request id, server errors.
   */
  constructor(message: string, options: PushoverErrorOptions = {}) {
    super(message, options);
    this.name = "LoginRequiredError";
  }
}

/**
 * Another connection logged in as this same device (`A` frame), so the server
 * ended this one. The stream does not reconnect: two copies of one device
 * would keep pushing each other off.
 *
 * @example Tell the user another copy is running
 * ```ts
 * import { PushoverError, SessionReplacedError } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * const error = new SessionReplacedError("Stream stopped: another client logged in as this device");
 * assert.ok(error instanceof PushoverError);
 * assert.equal(error.name, "SessionReplacedError");
 * ```
 */
export class SessionReplacedError extends PushoverError {
  /**
   * Makes the error; {@linkcode streamMessages} raises it.
   *
   * @param message What happened.
   * @param options Usually empty: no HTTP response is involved.
   */
  constructor(message: string, options: PushoverErrorOptions = {}) {
    super(message, options);
    this.name = "SessionReplacedError";
  }
}

/**
 * Why a field of an end-to-end encrypted message could not be decrypted, the
 * {@linkcode DecryptionError.reason}:
 *
 * - `"mac"`: its HMAC does not verify: the key is not the sender's, or the
 *   field was altered;
 * - `"padding"`: the HMAC verifies, but the AES-CBC padding is broken;
 * - `"gzip"`: the HMAC verifies, but what it decrypts to is not gzip;
 * - `"utf8"`: the HMAC verifies, but the text is not UTF-8;
 * - `"format"`: the field is not a whole encrypted field (truncated or
 *   malformed base64), or the server marks the message encrypted but no field
 *   holds an encrypted value.
 *
 * Only `"mac"` may mean the key is wrong; the others mean the sender's
 * software or the server made something that is not an encrypted field.
 */
export type DecryptionFailure = "mac" | "padding" | "gzip" | "utf8" | "format";

/** What each failure says after "Cannot decrypt the <field>: ". */
const FAILURES: Record<DecryptionFailure, string> = {
  mac:
    "its HMAC does not verify: the key is not the sender's, or the field was altered",
  padding: "its padding is broken",
  gzip: "its content is not gzip",
  utf8: "its text is not UTF-8",
  format: "it is not a whole encrypted field (truncated or malformed base64)",
};

/**
 * A field of an end-to-end encrypted message could not be decrypted;
 * {@linkcode DecryptionError.reason} says why (see
 * {@linkcode DecryptionFailure}). Names the field; never holds the key or the
 * ciphertext.
 *
 * @example Tell a wrong key from a damaged message
 * ```ts
 * import { DecryptionError } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * function advice(error: DecryptionError): string {
 *   return error.reason === "mac"
 *     ? "Check the encryption key: it is not the sender's."
 *     : `The ${error.field} arrived damaged (${error.reason}).`;
 * }
 *
 * const error = new DecryptionError("title", "mac");
 * assert.equal(error.field, "title");
 * assert.equal(
 *   error.message,
 *   "Cannot decrypt the title: its HMAC does not verify: the key is not the sender's, or the field was altered",
 * );
 * assert.equal(advice(error), "Check the encryption key: it is not the sender's.");
 * assert.equal(
 *   advice(new DecryptionError("message", "gzip")),
 *   "The message arrived damaged (gzip).",
 * );
 * ```
 */
export class DecryptionError extends Error {
  /** The field that failed: `message`, `title`, `url` or `url_title`. */
  readonly field: string;
  /** Why, for code to act on; the message says it in words. */
  readonly reason: DecryptionFailure;

  /**
   * Makes the error; {@linkcode decryptMessage} raises it.
   *
   * @param field The field that failed.
   * @param reason Why it failed.
   * @param detail The words for it, when the usual words of `reason` do not
   * fit; never the key or the ciphertext.
   */
  constructor(field: string, reason: DecryptionFailure, detail?: string) {
    super(`Cannot decrypt the ${field}: ${detail ?? FAILURES[reason]}`);
    this.name = "DecryptionError";
    this.field = field;
    this.reason = reason;
  }
}
