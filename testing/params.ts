// Reads request parameters the way the real service evidently does: from the
// query string and from any form body (urlencoded, multipart, JSON), the body
// winning — a GET's body too, which some clients send (testing/README.md,
// "Requests").

/** Parameters and how they came. */
export interface ReadParams {
  params: Record<string, string>;
  query: Record<string, string>;
  body: Record<string, string>;
  contentType: string;
}

/**
 * Reads query and body parameters; a malformed body counts as empty.
 * `getBody` is the text of a GET's body, read by the listener.
 */
export async function readParams(
  request: Request,
  getBody?: string,
): Promise<ReadParams> {
  const url = new URL(request.url);
  const query = Object.fromEntries(url.searchParams);
  const contentType = request.headers.get("content-type") ?? "";
  let body: Record<string, string> = {};
  try {
    if (getBody !== undefined) {
      body = contentType.startsWith("application/json")
        ? stringValues(JSON.parse(getBody))
        : Object.fromEntries(new URLSearchParams(getBody));
    } else if (contentType.startsWith("multipart/form-data")) {
      body = formToRecord(await request.formData());
    } else if (contentType.startsWith("application/json")) {
      body = stringValues(await request.json());
    } else if (request.body) {
      // urlencoded, or a form body with no content type (Pullover's GET).
      body = Object.fromEntries(new URLSearchParams(await request.text()));
    }
  } catch {
    body = {};
  }
  return { params: { ...query, ...body }, query, body, contentType };
}

function stringValues(json: unknown): Record<string, string> {
  if (!json || typeof json !== "object") return {};
  return Object.fromEntries(
    Object.entries(json).map(([k, v]) => [k, String(v)]),
  );
}

function formToRecord(form: FormData): Record<string, string> {
  const out: Record<string, string> = {};
  form.forEach((value, key) => {
    if (typeof value === "string") out[key] = value;
  });
  return out;
}
