import { callApi, unexpectedAnswer } from "./_http.ts";
import { requireObject, requireString } from "./_validate.ts";
import { TwoFactorRequiredError } from "./errors.ts";
import type { RequestOptions, Session } from "./types.ts";

/**
 * What {@linkcode login} needs: the account's e-mail and password.
 *
 * @example Add the 2FA code when asked, and ask again if it is refused
 * ```ts
 * import { login, TwoFactorRequiredError } from "@openpush/pushover-open-client";
 * import type { Credentials, Session } from "@openpush/pushover-open-client";
 *
 * async function signIn(
 *   credentials: Credentials,
 *   askCode: (wrongCode: boolean) => Promise<string>,
 * ): Promise<Session> {
 *   let attempt: Credentials = credentials;
 *   for (let tries = 1; ; tries++) {
 *     try {
 *       return await login(attempt);
 *     } catch (error) {
 *       if (!(error instanceof TwoFactorRequiredError) || tries === 3) throw error;
 *       attempt = { ...credentials, twofa: await askCode(error.codeRejected) };
 *     }
 *   }
 * }
 * ```
 */
export interface Credentials {
  /** The account's e-mail address (case-sensitive). */
  email: string;
  /** The account's password. */
  password: string;
  /** The current two-factor code, after a {@linkcode TwoFactorRequiredError}. */
  twofa?: string;
}

/**
 * Logs in to a Pushover account and returns the user key and a session secret
 * (`POST users/login.json`). Store the secret, forget the password; log in
 * once per device you register.
 *
 * @param credentials E-mail, password and, when asked for, the 2FA code.
 * @param options Where and how to send the request.
 * @returns The session: user key and secret.
 * @throws {TwoFactorRequiredError} The account needs a 2FA code (HTTP 412), or the code sent was refused.
 * @throws {PushoverError} Wrong e-mail or password, or the server could not be reached.
 * @throws {TypeError} An argument or option is missing or malformed (before any request).
 *
 * @example Log in, asking for the 2FA code only when the account has one
 * ```ts
 * import { login, TwoFactorRequiredError } from "@openpush/pushover-open-client";
 * import type { Session } from "@openpush/pushover-open-client";
 *
 * async function signIn(askCode: () => Promise<string>): Promise<Session> {
 *   const credentials = { email: "me@example.com", password: "correct horse" };
 *   try {
 *     return await login(credentials);
 *   } catch (error) {
 *     if (!(error instanceof TwoFactorRequiredError)) throw error;
 *     return await login({ ...credentials, twofa: await askCode() });
 *   }
 * }
 * ```
 */
export async function login(
  credentials: Credentials,
  options: RequestOptions = {},
): Promise<Session> {
  const action = "log in";
  requireObject(credentials, "credentials", action);
  const email = requireString(credentials.email, "email", action);
  // Never echo a password or code, even when it is of the wrong type.
  const { password, twofa } = credentials;
  if (typeof password !== "string" || password === "") {
    throw new TypeError(
      `Cannot ${action}: 'password' must be a non-empty string`,
    );
  }
  if (twofa !== undefined && (typeof twofa !== "string" || twofa === "")) {
    throw new TypeError(
      `Cannot ${action}: 'twofa' must be a non-empty string when given`,
    );
  }
  const params: Record<string, string> = { email, password };
  if (twofa !== undefined) params.twofa = twofa;
  const secrets = [password, twofa ?? ""];
  const body = await callApi({
    action,
    method: "POST",
    path: "users/login.json",
    params,
    secrets,
    authParams: [],
    refusal: (status, message, errorOptions) =>
      status === 412
        ? new TwoFactorRequiredError(message, twofa !== undefined, errorOptions)
        : undefined,
  }, options);
  if (
    typeof body.id !== "string" || body.id === "" ||
    typeof body.secret !== "string" || body.secret === ""
  ) {
    throw unexpectedAnswer(action, body, secrets);
  }
  return { userKey: body.id, secret: body.secret };
}
