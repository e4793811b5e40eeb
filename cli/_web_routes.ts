// The local web app's routes, as one fetch-style handler over the inbox:
// the page, its JSON API, live updates (server-sent events), /healthz and
// /metrics. Every request passes the guard first (cli/_web_guard.ts).

import { toPlainText } from "../mod.ts";
import type { Inbox, StoredMessage } from "../inbox/mod.ts";
import { check, type Guard, SECURITY_HEADERS } from "./_web_guard.ts";
import type { ListenerState } from "./_listener_state.ts";
import { APP_CSS, APP_JS, INDEX_HTML } from "../web/page.ts";

/** What the routes read and do. */
export interface WebDeps {
  guard: Guard;
  inbox: Inbox;
  state: ListenerState;
  /** When the last frame came on the stream's socket (ms), if one did. */
  lastFrameAt(): number | undefined;
  /** Acknowledges an emergency on Pushover (and marks the inbox). */
  acknowledge(stored: StoredMessage): Promise<void>;
  /** An app icon by name, from Pushover (cached by the caller). */
  icon(name: string): Promise<Response>;
  /** Two keep-alive intervals (ms): /healthz's window. */
  healthWindow: number;
  /** Ends the event streams when the server stops. */
  signal: AbortSignal;
}

/** The handler: every route, behind the guard. */
export function webRoutes(
  deps: WebDeps,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    const path = url.pathname;
    const route = `${request.method} ${path}`;
    const verdict = await check(request, deps.guard, isOpen(request, path));
    if (!verdict.ok) return json({ error: verdict.error }, verdict.status);
    // A link with `?token=` (how the URL was printed before): the token
    // goes after `#`, where the page takes it and no request carries it.
    if (verdict.fromQuery && request.method === "GET" && path === "/") {
      return new Response(null, {
        status: 303,
        headers: {
          location: `/#token=${encodeURIComponent(deps.guard.token)}`,
        },
      });
    }
    switch (route) {
      case "GET /":
        return asset(INDEX_HTML, "text/html; charset=utf-8");
      case "GET /app.js":
        return asset(APP_JS, "text/javascript; charset=utf-8");
      case "GET /app.css":
        return asset(APP_CSS, "text/css; charset=utf-8");
      case "GET /api/session":
        return json({ csrf: deps.guard.csrf });
      case "GET /api/messages":
        return json(messages(deps.inbox, url.searchParams));
      case "POST /api/read": {
        const through = wholeNumber(url.searchParams.get("through"));
        if (through === undefined) {
          return json({ error: "?through= needs a position" }, 400);
        }
        // What the page shows: a message its filters hide stays unread.
        const matching = filterOf(url.searchParams);
        return json({ marked: deps.inbox.markRead({ through, matching }) });
      }
      case "GET /api/events":
        return events(deps);
      case "GET /healthz": {
        const health = deps.state.health(deps.lastFrameAt(), deps.healthWindow);
        return json(health, health.healthy ? 200 : 503);
      }
      case "GET /metrics":
        return new Response(
          deps.state.metrics(deps.lastFrameAt(), deps.inbox.stats()),
          {
            headers: {
              ...SECURITY_HEADERS,
              "content-type": "text/plain; version=0.0.4; charset=utf-8",
            },
          },
        );
    }
    const one = /^\/api\/messages\/(\d+)(\/read|\/ack)?$/.exec(path);
    if (one) return await message(deps, request.method, Number(one[1]), one[2]);
    const icon = /^\/icons\/([A-Za-z0-9_-]{1,64})\.png$/.exec(path);
    if (icon && request.method === "GET") return await deps.icon(icon[1]);
    return json({ error: "no such page" }, 404);
  };
}

/**
 * The page, its script and style, and app icons: what holds no message and
 * loads before the page has its token (an image cannot send a header).
 */
function isOpen(request: Request, path: string): boolean {
  return request.method === "GET" &&
    (OPEN_PATHS.has(path) || /^\/icons\/[A-Za-z0-9_-]{1,64}\.png$/.test(path));
}

const OPEN_PATHS = new Set(["/", "/app.js", "/app.css"]);

/** One message, or an action on it. */
async function message(
  deps: WebDeps,
  method: string,
  seq: number,
  action: string | undefined,
): Promise<Response> {
  const stored = deps.inbox.get(seq);
  if (!stored) return json({ error: `no message ${seq} in the inbox` }, 404);
  if (method === "GET" && action === undefined) {
    return json(view(stored, pendingSeqs(deps.inbox), failedBySeq(deps.inbox)));
  }
  if (method === "POST" && action === "/read") {
    return json({ marked: deps.inbox.markRead({ seqs: [seq] }) });
  }
  if (method === "POST" && action === "/ack") {
    if (!pendingSeqs(deps.inbox).has(seq)) {
      return json(
        { error: "not an emergency waiting for acknowledgement" },
        409,
      );
    }
    try {
      await deps.acknowledge(stored);
    } catch (error) {
      return json({ error: (error as Error).message }, 502);
    }
    return json({ acknowledged: true });
  }
  return json({ error: "no such action" }, 405);
}

/** The page's filters, as the history query they make. */
function filterOf(params: URLSearchParams) {
  const minPriority = params.get("min_priority");
  return {
    text: params.get("q") || undefined,
    app: params.get("app") || undefined,
    minPriority: minPriority && /^-?[0-2]$/.test(minPriority)
      ? Number(minPriority)
      : undefined,
    unread: params.get("unread") === "1",
    failed: params.get("failed") === "1",
  };
}

/** A page of messages as the filters ask, with what the page shows beside. */
function messages(inbox: Inbox, params: URLSearchParams) {
  const failed = failedBySeq(inbox);
  const pending = pendingSeqs(inbox);
  const limit = Math.min(wholeNumber(params.get("limit")) ?? 100, 500);
  const list = inbox.history({
    ...filterOf(params),
    beforeSeq: wholeNumber(params.get("before")),
    limit,
  });
  return {
    messages: list.map((stored) => view(stored, pending, failed)),
    unread: inbox.unreadCount(),
    apps: inbox.apps(),
  };
}

/** What the page gets of one message: the text already plain. */
function view(
  stored: StoredMessage,
  pending: Set<number>,
  failed: Map<number, string[]>,
) {
  return {
    seq: stored.seq,
    receivedAt: stored.receivedAt,
    ...(stored.readAt === undefined ? {} : { readAt: stored.readAt }),
    message: stored.message,
    text: toPlainText(stored.message),
    pending: pending.has(stored.seq),
    failed: failed.get(stored.seq) ?? [],
  };
}

function pendingSeqs(inbox: Inbox): Set<number> {
  return new Set(inbox.pending().map((stored) => stored.seq));
}

/** Each dead letter's sinks, by position. */
function failedBySeq(inbox: Inbox): Map<number, string[]> {
  const failed = new Map<number, string[]>();
  for (const dead of inbox.deadLetters()) {
    failed.set(dead.seq, [...failed.get(dead.seq) ?? [], dead.sink]);
  }
  return failed;
}

/** Server-sent events: one `message` event per add, a comment every 25 s. */
function events(deps: WebDeps): Response {
  const encoder = new TextEncoder();
  let stop = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (text: string) => {
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          stop();
        }
      };
      send(`retry: 2000\n: connected\n\n`);
      const unsubscribe = deps.inbox.onAdded(() =>
        send(`data: ${JSON.stringify({ latest: deps.inbox.latest() })}\n\n`)
      );
      const beat = setInterval(() => send(": keep-alive\n\n"), 25_000);
      stop = () => {
        unsubscribe();
        clearInterval(beat);
        deps.signal.removeEventListener("abort", close);
      };
      const close = () => {
        stop();
        try {
          controller.close();
        } catch {
          // closed by the reader already
        }
      };
      deps.signal.addEventListener("abort", close);
    },
    cancel: () => stop(),
  });
  return new Response(body, {
    headers: {
      ...SECURITY_HEADERS,
      "content-type": "text/event-stream; charset=utf-8",
    },
  });
}

function asset(text: string, type: string): Response {
  return new Response(text, {
    headers: { ...SECURITY_HEADERS, "content-type": type },
  });
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      ...SECURITY_HEADERS,
      "content-type": "application/json; charset=utf-8",
    },
  });
}

function wholeNumber(text: string | null): number | undefined {
  return text !== null && /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}
