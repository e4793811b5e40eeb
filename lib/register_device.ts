import { callApi, unexpectedAnswer } from "./_http.ts";
import { requireDeviceName, requireSecret } from "./_validate.ts";
import type { Device, RequestOptions } from "./types.ts";

/**
 * Registers this program as an Open Client device of the account
 * (`POST devices.json`, `os=O`) and returns what later calls need. Each
 * registration adds a device to the user's dashboard and starts the Desktop
 * licence clock, so register once and store the result.
 *
 * The server queues a welcome message for the new device; drain it with
 * {@linkcode downloadMessages} and {@linkcode deleteThrough} before you start
 * notifying.
 *
 * @param session The session from {@linkcode login} (only `secret` is used).
 * @param name The device name senders target: 1–25 of A–Z, a–z, 0–9, `_`, `-`.
 * @param options Where and how to send the request; `force: true` takes the
 *   name over when another device of the account has it (`force=1`), as
 *   when a reinstalled machine registers under its old name again. What
 *   becomes of that device Pushover does not say: most likely it is
 *   replaced and stops working (the fake's `forceRegistration` plays both).
 * @returns The device: its id and the secret it was registered with.
 * @throws {RangeError} The name breaks the naming rules (before any request).
 * @throws {LoginRequiredError} The server rejected the secret.
 * @throws {PushoverError} The name is taken, the account cannot add devices, or the server could not be reached.
 *
 * @example Register once, then keep the device as JSON
 * ```ts
 * import { login, registerDevice } from "@openpush/pushover-open-client";
 *
 * async function setUp(email: string, password: string): Promise<string> {
 *   const session = await login({ email, password });
 *   const device = await registerDevice(session, "kitchen-pi");
 *   return JSON.stringify(device); // {"secret":"…","deviceId":"…"}
 * }
 * ```
 *
 * @example Take a name over from a device that is gone (a reinstalled machine)
 * ```ts
 * import { login, registerDevice } from "@openpush/pushover-open-client";
 *
 * async function reinstall(email: string, password: string) {
 *   const session = await login({ email, password });
 *   return await registerDevice(session, "kitchen-pi", { force: true });
 * }
 * ```
 */
export async function registerDevice(
  session: { secret: string },
  name: string,
  options: RequestOptions & { force?: boolean } = {},
): Promise<Device> {
  const action = "register the device";
  const secret = requireSecret(session, "session", action);
  requireDeviceName(name, action);
  const body = await callApi({
    action,
    method: "POST",
    path: "devices.json",
    params: { secret, name, os: "O", ...(options.force ? { force: "1" } : {}) },
    secrets: [secret],
    authParams: ["secret"],
  }, options);
  // The same rule every later call applies to `device.deviceId`.
  if (typeof body.id !== "string" || !/^[A-Za-z0-9]+$/.test(body.id)) {
    throw unexpectedAnswer(action, body, [secret], "has no valid device 'id'");
  }
  return { secret, deviceId: body.id };
}
