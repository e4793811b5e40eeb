// Who may use the local web app: every request for data carries the access
// token (printed once at start, as Jupyter does) in its Authorization header
// (`?token=` for the event stream, which cannot set one), every request
// names this server in its Host (DNS rebinding), and a request that changes
// something comes from the page's own origin with the page's CSRF token.
//
// No cookie: a browser sends a cookie for 127.0.0.1 to every port there, so
// any other local server the browser visits would receive the token. The
// printed URL carries it after `#`, which no request sends; the page keeps
// it in its own origin's localStorage, which is the port's alone.

import { sameSecret } from "../lib/_same_secret.ts";

/** What the guard knows: the secrets and where the server listens. */
export interface Guard {
  /** The access token: in the URL printed at start, then the page's storage. */
  readonly token: string;
  /** Sent by the page with every POST (`X-CSRF-Token`). */
  readonly csrf: string;
  /** `host:port` values a request's Host may have; undefined: any (--public). */
  readonly hosts: ReadonlySet<string> | undefined;
}

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
 * Checks a request: its Host; unless `open` (the page and its assets, which
 * hold no data), its token (bearer, or `?token=`); and for anything but GET
 * its Origin and CSRF token.
 */
export async function check(
  request: Request,
  guard: Guard,
  open = false,
): Promise<Verdict> {
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
  if (open && query === null) return { ok: true, fromQuery: false };
  const given =
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

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-")
    .replaceAll("/", "_").replaceAll("=", "");
}
