// Checks a configured endpoint URL before any secret is sent to it.

export const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/**
 * Returns `url` without a trailing slash, or throws a `TypeError` naming the
 * option when it is not a URL or would carry secrets in clear text: the plain
 * protocol is allowed for loopback hosts only (tests, a local fake server).
 */
export function checkSecureUrl(
  url: string,
  option: string,
  action: string,
  protocols: { secure: string; plain: string },
): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(
      `Cannot ${action}: '${option}' must be a valid URL: current value is '${url}'`,
    );
  }
  const allowed = parsed.protocol === protocols.secure ||
    (parsed.protocol === protocols.plain &&
      LOOPBACK_HOSTS.test(parsed.hostname));
  if (!allowed) {
    throw new TypeError(
      `Cannot ${action}: '${option}' must use ${protocols.secure}// (${protocols.plain}// only for loopback hosts): current value is '${parsed.origin}'`,
    );
  }
  // A URL object (not in the types, but what fetch() takes) works too.
  return String(url).replace(/\/+$/, "");
}
