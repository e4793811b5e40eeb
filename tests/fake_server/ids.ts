// Random tokens in the formats the real service uses, and JSON with exact
// 64-bit integers (JSON.stringify cannot write a bigint).

const LOWER = "abcdefghijklmnopqrstuvwxyz0123456789";
const MIXED = "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + LOWER;

/** `length` random characters of `alphabet`. */
export function token(length: number, alphabet = MIXED): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

/** 30-character user key. */
export const userKey = (): string => token(30);
/** 60-character secret (the real one seen was all lowercase). */
export const secret = (): string => token(60, LOWER);
/** 40-character lowercase device id. */
export const deviceId = (): string => token(40, LOWER);
/** 30-character receipt. */
export const receipt = (): string => token(30);

// The marker survives JSON.stringify as an escaped control character, which
// no ordinary string in the fake's data contains.
const BIG_MARK = "\u0001big:";
const BIG_WRITTEN = /"\\u0001big:(-?\d+)"/g;

/** JSON.stringify that writes bigint values as plain JSON integers. */
export function stringifyExact(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) => typeof v === "bigint" ? BIG_MARK + v : v,
  ).replace(BIG_WRITTEN, "$1");
}
