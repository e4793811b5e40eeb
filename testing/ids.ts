// Random tokens in the formats the real service uses, and exact 64-bit
// integers for JSON.

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

/**
 * A bigint as a JSON integer, digit for digit: JSON.stringify cannot write a
 * bigint, and a number would round above 2^53. JSON.rawJSON is on every
 * runtime the tests use (Deno 2, Bun 1, Node 22+).
 */
export function exactInteger(value: bigint): unknown {
  return (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(
    String(value),
  );
}
