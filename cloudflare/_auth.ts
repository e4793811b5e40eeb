// The admin API's bearer token, compared in constant time.

import { sameSecret } from "../lib/_same_secret.ts";

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
  return await sameSecret(given, expected);
}
