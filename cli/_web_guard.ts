// Who may use the local web app: every request carries the access token
// (printed once at start, as Jupyter does; a cookie after the first page),
// names this server in its Host (DNS rebinding), and a request that changes
// something comes from the page's own origin with the page's CSRF token.

import { sameSecret } from "../lib/_same_secret.ts";

/** What the guard knows: the secrets and where the server listens. */
export interface Guard {
  /** The access token: in the URL printed at start, then the cookie. */
  readonly token: string;
  /** Sent by the page with every POST (`X-CSRF-Token`). */
  readonly csrf: string;
  /** `host:port` values a request's Host may have; undefined: any (--public). */
  readonly hosts: ReadonlySet<string> | undefined;
}

/** The cookie that carries the token after the first page. */
export const COOKIE = "poc_token";

/** Every answer's security headers: no inline script, no framing, no sniffing. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' https://api.pushover.net",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; "),
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/** A guard with fresh random secrets for a server on `port`. */
export function makeGuard(port: number, isPublic: boolean): Guard {
  return {
    token: randomToken(),
    csrf: randomToken(),
    hosts: isPublic ? undefined : new Set(
      ["127.0.0.1", "localhost", "[::1]"].map((host) => `${host}:${port}`),
    ),
  };
}

/** What the guard says of a request. */
export type Verdict =
  | { ok: true; fromQuery: boolean }
  | { ok: false; status: 401 | 403; error: string };

/**
 * Checks a request: its Host, its token (cookie, bearer, or `?token=`), and
 * for anything but GET its Origin and CSRF token.
 */
export async function check(request: Request, guard: Guard): Promise<Verdict> {
  const host = request.headers.get("host") ?? "";
  if (guard.hosts && !guard.hosts.has(host.toLowerCase())) {
    return {
      ok: false,
      status: 403,
      error:
        "this server answers only to its own address (127.0.0.1, localhost)",
    };
  }
  const url = new URL(request.url);
  const query = url.searchParams.get("token");
  const given = cookieOf(request, COOKIE) ??
    /^Bearer (.+)$/i.exec(request.headers.get("authorization") ?? "")?.[1] ??
    query ?? "";
  if (!await sameSecret(given, guard.token)) {
    return {
      ok: false,
      status: 401,
      error:
        "the access token is missing or wrong: open the URL printed at start",
    };
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    const origin = request.headers.get("origin");
    if (origin !== `${url.protocol}//${host}`) {
      return { ok: false, status: 403, error: "cross-origin request refused" };
    }
    if (
      !await sameSecret(request.headers.get("x-csrf-token") ?? "", guard.csrf)
    ) {
      return {
        ok: false,
        status: 403,
        error: "the CSRF token is missing or wrong",
      };
    }
  }
  return { ok: true, fromQuery: query !== null && given === query };
}

/** The Set-Cookie that keeps the token for the rest of the visit. */
export function tokenCookie(guard: Guard): string {
  return `${COOKIE}=${guard.token}; HttpOnly; SameSite=Strict; Path=/`;
}

function cookieOf(request: Request, name: string): string | undefined {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return value.join("=");
  }
  return undefined;
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-")
    .replaceAll("/", "_").replaceAll("=", "");
}
