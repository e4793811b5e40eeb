import { isObject } from "./_validate.ts";
import type { Device } from "./types.ts";

/**
 * The format tag of files written by {@linkcode stringifyCredentials}.
 *
 * @example Recognise a file this library wrote
 * ```ts
 * import {
 *   CREDENTIALS_FORMAT,
 *   parseCredentials,
 *   stringifyCredentials,
 * } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * const device = { secret: "s3cret", deviceId: "d3v1ce" };
 * const text = stringifyCredentials({ device });
 * assert.equal(JSON.parse(text).format, CREDENTIALS_FORMAT);
 * assert.deepEqual(parseCredentials(text), { device }); // and back
 * ```
 */
export const CREDENTIALS_FORMAT = "pushover-open-client/1";

/**
 * What a client keeps between runs: the registered device and facts to show
 * the user. Never a password: after login only the secret is needed.
 *
 * @example Keep everything but the password, read it back on the next start
 * ```ts
 * import { parseCredentials, stringifyCredentials } from "@openpush/pushover-open-client";
 * import type { SavedCredentials } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * const saved: SavedCredentials = {
 *   device: { secret: "s3cret", deviceId: "d3v1ce" }, // from registerDevice()
 *   userKey: "uQiRzpo4DXghDmr9QzzfQu27cmVRsG",
 *   email: "me@example.com",
 *   deviceName: "kitchen-pi",
 * };
 * const text = stringifyCredentials(saved); // write this to a private file
 * assert.deepEqual(parseCredentials(text), saved);
 * ```
 */
export interface SavedCredentials {
  /** The device: its id and the secret it was registered with. */
  device: Device;
  /** The account's user key, when known. */
  userKey?: string;
  /** The account's e-mail, to show which account this is. */
  email?: string;
  /** The name the device was registered under. */
  deviceName?: string;
  /**
   * The REST API base the device was registered with, when not Pushover's
   * own: later runs must talk to the same service.
   */
  apiUrl?: string;
  /** The WebSocket URL used with it, when not Pushover's own. */
  websocketUrl?: string;
}

/**
 * Reads saved credentials from JSON text: this library's own format, or the
 * config file of the older Python client (`email`, `password`, `secret`,
 * `deviceID`, `userID`), whose password is ignored and never kept.
 *
 * Pure and runtime-neutral: reading the file is the caller's business, since
 * edge runtimes have no file system.
 *
 * @param text The file's content.
 * @returns The device and what else the file holds.
 * @throws {TypeError} The text is not a JSON object, or a required field (named in the message) is missing or empty.
 *
 * @example Import the Python client's config, password dropped
 * ```ts
 * import { parseCredentials } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * const saved = parseCredentials(JSON.stringify({
 *   email: "me@example.com",
 *   password: "hunter2",
 *   secret: "s3cret",
 *   deviceID: "d3v1ce",
 *   userID: "uKey",
 * }));
 * assert.deepEqual(saved, {
 *   device: { secret: "s3cret", deviceId: "d3v1ce" },
 *   userKey: "uKey",
 *   email: "me@example.com",
 * });
 * ```
 */
export function parseCredentials(text: string): SavedCredentials {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new TypeError("Cannot read credentials: the text is not JSON");
  }
  if (!isObject(data)) {
    throw new TypeError("Cannot read credentials: the JSON is not an object");
  }
  // Ours says so; anything else with `deviceID` is the Python client's.
  const ours = data.format === CREDENTIALS_FORMAT || !("deviceID" in data);
  const names = ours
    ? { secret: "secret", deviceId: "deviceId", userKey: "userKey" }
    : { secret: "secret", deviceId: "deviceID", userKey: "userID" };
  const secret = required(data, names.secret, "read");
  const deviceId = required(data, names.deviceId, "read");
  const saved: SavedCredentials = { device: { secret, deviceId } };
  const userKey = optional(data, names.userKey);
  if (userKey !== undefined) saved.userKey = userKey;
  for (
    const field of ["email", "deviceName", "apiUrl", "websocketUrl"] as const
  ) {
    const value = optional(data, field);
    if (value !== undefined) saved[field] = value;
  }
  return saved;
}

/**
 * Writes saved credentials as JSON in this library's format. Only the known
 * fields are written, so a password on the object can never reach the file.
 *
 * @param saved The device and optional facts.
 * @returns Pretty-printed JSON ending with a newline.
 * @throws {TypeError} The device has no secret or id.
 *
 * @example Save after registering, read back on the next start
 * ```ts
 * import { parseCredentials, stringifyCredentials } from "@openpush/pushover-open-client";
 * import assert from "node:assert/strict";
 *
 * const saved = { device: { secret: "s3cret", deviceId: "d3v1ce" }, deviceName: "desk" };
 * const text = stringifyCredentials(saved);
 * assert.deepEqual(parseCredentials(text), saved);
 * ```
 */
export function stringifyCredentials(saved: SavedCredentials): string {
  const device = isObject(saved?.device) ? saved.device : {};
  const file: Record<string, unknown> = {
    format: CREDENTIALS_FORMAT,
    secret: required(device, "secret", "write", "device.secret"),
    deviceId: required(device, "deviceId", "write", "device.deviceId"),
  };
  for (const field of KEPT) {
    if (typeof saved[field] === "string") file[field] = saved[field];
  }
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** The optional fields a file keeps, in the order they are written. */
const KEPT = [
  "userKey",
  "email",
  "deviceName",
  "apiUrl",
  "websocketUrl",
] as const;

function required(
  data: Record<string, unknown>,
  field: string,
  action: "read" | "write",
  shown = field,
): string {
  const value = data[field];
  if (typeof value !== "string" || value === "") {
    throw new TypeError(
      `Cannot ${action} credentials: '${shown}' is missing or empty`,
    );
  }
  return value;
}

function optional(
  data: Record<string, unknown>,
  field: string,
): string | undefined {
  const value = data[field];
  return typeof value === "string" && value !== "" ? value : undefined;
}
