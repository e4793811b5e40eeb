// The admin API's bearer token, compared in constant time: both sides are
// hashed first, so neither the comparison's time nor its length says how
// much of a guess was right.

/**
 * Whether `request` carries `Authorization: Bearer <expected>`. An empty or
 * missing `expected` refuses everything: an API left without its secret is
 * closed, not open.
 */
export async function authorized(
  request: Request,
  expected: string | undefined,
): Promise<boolean> {
  if (!expected) return false;
  const header = request.headers.get("authorization") ?? "";
  const given = /^Bearer (.+)$/i.exec(header)?.[1] ?? "";
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0 && given.length > 0;
}

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
}
