// Argument checks that run before any I/O, with messages naming the argument.

/** Throws a TypeError unless `value` is a non-empty string. */
export function requireString(
  value: unknown,
  name: string,
  action: string,
): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(
      `Cannot ${action}: '${name}' must be a non-empty string: current value is ${
        describe(value)
      }`,
    );
  }
  return value;
}

/** Throws a TypeError unless `value` is an object (the session, the device …). */
export function requireObject(
  value: unknown,
  name: string,
  action: string,
): Record<string, unknown> {
  if (typeof value !== "object" || value === null) {
    // A string here is most likely a secret or password in the wrong place.
    throw new TypeError(
      `Cannot ${action}: '${name}' must be an object: current value is ${
        typeof value === "string" ? "a string" : describe(value)
      }`,
    );
  }
  return value as Record<string, unknown>;
}

const DEVICE_NAME = /^[A-Za-z0-9_-]{1,25}$/;

/** Device names are 1–25 of A–Z, a–z, 0–9, `_` and `-`. */
export function requireDeviceName(value: unknown, action: string): string {
  const name = requireString(value, "name", action);
  if (!DEVICE_NAME.test(name)) {
    throw new RangeError(
      `Cannot ${action}: 'name' must be 1 to 25 characters of A-Z, a-z, 0-9, '_' and '-': current value is ${
        describe(name)
      }`,
    );
  }
  return name;
}

/** Secrets are never shown, only what kind of value was given. */
export function requireSecret(
  owner: unknown,
  name: string,
  action: string,
): string {
  const object = requireObject(owner, name, action);
  if (typeof object.secret !== "string" || object.secret === "") {
    throw new TypeError(
      `Cannot ${action}: '${name}.secret' must be a non-empty string`,
    );
  }
  return object.secret;
}

/**
 * Shows a rejected value briefly: short strings quoted, longer ones (secrets
 * are 60 characters) only by length, objects named by kind.
 */
export function describe(value: unknown): string {
  if (typeof value === "string") {
    return value.length <= 30
      ? `'${value}'`
      : `a string of ${value.length} characters`;
  }
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}

/** A plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A device needs both its secret and its id. */
export function requireDevice(
  device: unknown,
  action: string,
): { secret: string; deviceId: string } {
  const secret = requireSecret(device, "device", action);
  const { deviceId } = device as { deviceId?: unknown };
  if (typeof deviceId !== "string" || !/^[A-Za-z0-9]+$/.test(deviceId)) {
    throw new TypeError(
      `Cannot ${action}: 'device.deviceId' must be a string of letters and digits: current value is ${
        describe(deviceId)
      }`,
    );
  }
  return { secret, deviceId };
}
