// Comparing a secret someone gave with the one expected, in constant time:
// both are hashed first, so neither the time the comparison takes nor the
// length of the guess says how much of it was right.

/** Whether `given` is `expected`; an empty `given` never is. */
export async function sameSecret(
  given: string,
  expected: string,
): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  let difference = 0;
  a.forEach((byte, i) => difference |= byte ^ b[i]);
  return difference === 0 && given.length > 0;
}

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
}
