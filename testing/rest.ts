// The REST half of the fake: api.pushover.net/1/… as testing/README.md
// describes it, plus icons, sounds and a control endpoint for people.

import { iconResponse, notFound, soundResponse } from "./assets.ts";
import type { Endpoint, FaultQueue, RequestFault } from "./faults.ts";
import { RateLimiter } from "./rate_limit.ts";
import { exactInteger } from "./ids.ts";
import type { Log } from "./log.ts";
import { readParams } from "./params.ts";
import type { RequestHandler } from "./serve.ts";
import type {
  DeviceRecord,
  OutgoingMessage,
  Store,
  StoredMessage,
} from "./store.ts";

/** The conventions the REST side picks for [UNKNOWN] behaviour. */
export interface RestConventions {
  /** Status for a wrong 2FA code: 412 again (default) or 400. */
  wrongTwofaStatus: 412 | 400;
  /** A second acknowledgement succeeds (default) or fails with 400. */
  acknowledgeTwice: "success" | "error";
  /** Omit the `*_str` twins and `queued_date` like a 2019 server. */
  legacyIds: boolean;
  /** Add unknown fields to every answer, to prove clients ignore them. */
  extraFields: boolean;
  /** Add `fake_queued_at` (epoch ms, sub-ms) to messages, for benchmarks. */
  exposeQueueTime: boolean;
  /** The key that names a rejected device: `device_id` (default) or `device`. */
  deviceErrorKey: "device_id" | "device";
  /** Requests a minute per endpoint before 429s; undefined: no limit. */
  rateLimit: number | undefined;
  /** Mark end-to-end encrypted messages with `encrypted: 1`. */
  encryptedFlag: boolean;
  /** What force=1 on a taken name answers: a new device, or the same one. */
  forceRegistration: "new id" | "same id";
  /** A delete that deletes nothing succeeds (default) or fails with 400. */
  deleteNothing: "success" | "error";
  /** Status for an unknown or expired receipt. */
  unknownReceiptStatus: 400 | 404;
}

/** What the handler needs from the rest of the fake. */
export interface RestContext {
  store: Store;
  faults: FaultQueue;
  log: Log;
  conventions: RestConventions;
  /** Called after messages were queued (sends `!`). */
  send(message: OutgoingMessage): unknown;
  /** Sends a frame to logged-in sockets (control endpoint). */
  sendFrame(frame: string, deviceId?: string): number;
  /** Resolves when the server closes: hanging requests end then. */
  closed: Promise<void>;
  /** Files served as they are at their paths (the `pages` option). */
  pages: Record<
    string,
    { type: string; body: string | Uint8Array<ArrayBuffer> }
  >;
}

type Params = Record<string, string>;

/** Makes the fetch-style handler for every non-WebSocket request. */
export function restHandler(context: RestContext): RequestHandler {
  const limiter = new RateLimiter(context.conventions.rateLimit);
  return async (request, getBody) => {
    const url = new URL(request.url);
    const page = context.pages[url.pathname];
    if (page && request.method === "GET") {
      return new Response(page.body, {
        headers: { "content-type": page.type },
      });
    }
    const route = routeOf(request.method, url.pathname);
    const read = await readParams(request, getBody);
    const entry = {
      kind: "http" as const,
      endpoint: route.endpoint,
      method: request.method,
      path: url.pathname,
      ...read,
      status: undefined as number | undefined,
    };
    context.log.add(entry);
    const wait = limited(route.endpoint) ? limiter.take(route.endpoint) : 0;
    // A request the rate limit refuses uses up no fault a test set up.
    const fault = wait > 0 ? undefined : context.faults.take(route.endpoint);
    const response = wait > 0
      ? rateLimited(wait)
      : fault
      ? await applyFault(fault, request, context.closed) ??
        await route.handle(read.params, context)
      : await route.handle(read.params, context);
    entry.status = response.status;
    context.log.changed(entry);
    return response;
  };
}

interface Route {
  endpoint: Endpoint;
  handle(params: Params, context: RestContext): Response | Promise<Response>;
}

function routeOf(method: string, path: string): Route {
  let match: RegExpMatchArray | null;
  const route = (endpoint: Endpoint, handle: Route["handle"]): Route => ({
    endpoint,
    handle,
  });
  if (path === "/1/users/login.json" && method === "POST") {
    return route("login", login);
  }
  if (path === "/1/devices.json" && method === "POST") {
    return route("register", register);
  }
  if (path === "/1/messages.json" && method === "GET") {
    return route("download", download);
  }
  if (path === "/1/messages.json" && method === "POST") {
    // A client that POSTs here reaches the sending API by mistake.
    return route("download", sendingApi);
  }
  if (
    method === "POST" &&
    (match = path.match(
      /^\/1\/devices\/([^/]+)\/update_highest_message\.json$/,
    ))
  ) {
    const deviceId = pathSegment(match[1]);
    return route("delete", (p, c) => deleteThrough(p, c, deviceId));
  }
  if (
    method === "POST" &&
    (match = path.match(/^\/1\/receipts\/([^/]+)\/acknowledge\.json$/))
  ) {
    const receipt = pathSegment(match[1]);
    return route("acknowledge", (p, c) => acknowledge(p, c, receipt));
  }
  if ((match = path.match(/^\/icons\/([^/]+)\.png$/)) && method === "GET") {
    const name = match[1];
    return route("asset", (_, c) => iconResponse(name, knownIcons(c.store)));
  }
  if (
    (match = path.match(/^\/sounds\/([a-z]+)\.(wav|mp3)$/)) && method === "GET"
  ) {
    const [, code, ext] = match;
    return route("asset", () => soundResponse(code, ext));
  }
  if (path === "/control/send" && method === "POST") {
    return route("control", control);
  }
  if (path === "/control/time") {
    // The fake's clock, for benchmarks that compare it with their own.
    return route(
      "control",
      () => ok({ now: performance.timeOrigin + performance.now() }),
    );
  }
  if (path === "/control/frame" && method === "POST") {
    return route(
      "control",
      (p, c) => ok({ sockets: c.sendFrame(p.frame ?? "#", p.device) }),
    );
  }
  return route("unknown", notFound);
}

// ---- endpoints ----

function login(p: Params, { store, conventions }: RestContext): Response {
  if (!p.email || !p.password) {
    return fail(400, { errors: ["email and password are required"] });
  }
  const account = store.accounts.find((a) => a.email === p.email);
  if (!account || account.password !== p.password) {
    return fail(400, { errors: ["invalid email and/or password"] });
  }
  if (account.twofa !== undefined) {
    if (p.twofa === undefined) {
      return fail(412, {
        errors: ["two-factor authentication is enabled, a code is required"],
      });
    }
    if (p.twofa !== account.twofa) {
      return fail(conventions.wrongTwofaStatus, {
        twofa: "invalid",
        errors: ["two-factor authentication code is invalid"],
      });
    }
  }
  return ok({ id: account.userKey, secret: store.issueSecret(account) });
}

function register(
  p: Params,
  { store, sendFrame, conventions }: RestContext,
): Response {
  const account = store.accountOfSecret(p.secret);
  if (!account) return fail(400, { errors: { secret: ["is invalid"] } });
  if (p.os !== "O") return fail(400, { errors: { os: ["is invalid"] } });
  if (!/^[A-Za-z0-9_-]{1,25}$/.test(p.name ?? "")) {
    return fail(400, { errors: { name: ["is invalid"] } });
  }
  const taken = store.devicesOf(account).find((d) => d.name === p.name);
  if (taken && p.force !== "1") {
    return fail(400, { errors: { name: ["has already been taken"] } });
  }
  if (taken && conventions.forceRegistration === "same id") {
    return ok({ id: taken.id });
  }
  if (taken) {
    // force=1 takes the name over: a new id; the old one stops working.
    store.removeDevice(taken);
    sendFrame("E", taken.id);
  }
  return ok({ id: store.addDevice(account, p.name).id });
}

function download(p: Params, context: RestContext): Response {
  const device = authorisedDevice(p, context, p.device_id);
  if (device instanceof Response) return device;
  const { conventions } = context;
  const account = device.account;
  const body: Record<string, unknown> = {
    messages: device.queue.map((m) => renderMessage(m, conventions)),
    user: {
      quiet_hours: account.quietHours,
      is_android_licensed: false,
      is_ios_licensed: false,
      is_desktop_licensed: account.desktopLicensed,
      email: account.email,
      created_at: 1500000000,
      first_email_alias: `${account.userKey}@pomail.net`,
      quick_quiet_until: null,
      show_team_ad: "1",
      show_tipjar: "1",
      ...(conventions.extraFields ? { future_user_flag: true } : {}),
    },
    device: {
      name: device.name,
      encryption_enabled: false,
      default_sound: "po",
      always_use_default_sound: false,
      default_high_priority_sound: "po",
      always_use_default_high_priority_sound: false,
      dismissal_sync_enabled: false,
    },
  };
  if (conventions.extraFields) body.eid = "future-top-level-field";
  return ok(body);
}

function sendingApi(): Response {
  return fail(400, {
    token: "invalid",
    errors: ["application token is invalid"],
  });
}

function deleteThrough(
  p: Params,
  context: RestContext,
  deviceId: string,
): Response {
  const device = authorisedDevice(p, context, deviceId);
  if (device instanceof Response) return device;
  const invalid = () =>
    fail(400, { message: "invalid", errors: ["message is invalid"] });
  if (!/^\d+$/.test(p.message ?? "")) return invalid();
  const through = BigInt(p.message);
  if (
    context.conventions.deleteNothing === "error" &&
    !device.queue.some((m) => m.id <= through)
  ) return invalid();
  context.store.deleteThrough(device, through);
  return ok({});
}

function acknowledge(
  p: Params,
  { store, conventions }: RestContext,
  receipt: string,
): Response {
  const account = store.accountOfSecret(p.secret);
  if (!account) {
    return fail(400, { secret: "invalid", errors: ["secret is invalid"] });
  }
  const result = store.acknowledge(account, receipt);
  if (result === "unknown") {
    return fail(conventions.unknownReceiptStatus, {
      receipt: "not found",
      errors: ["receipt not found; may be invalid or expired"],
    });
  }
  if (result === "again" && conventions.acknowledgeTwice === "error") {
    return fail(400, {
      receipt: "acknowledged",
      errors: ["receipt has already been acknowledged"],
    });
  }
  return ok({});
}

/** Queues a message (`count` times, for bursts) from form fields. */
function control(p: Params, context: RestContext): Response {
  try {
    const { count = "1", ...fields } = p;
    // Form fields are text: a number field that is not one is a 400 (a
    // test's typo), never a string where a client expects a number.
    const whole = (name: string, value: string | undefined, min: number) => {
      if (value === undefined) return undefined;
      if (!/^-?\d+$/.test(value) || Number(value) < min) {
        throw new RangeError(
          `${name} must be a whole number ≥ ${min}: ${value}`,
        );
      }
      return Number(value);
    };
    const times = whole("count", count, 1)!;
    let sent: unknown;
    for (let i = 0; i < times; i++) {
      sent = context.send({
        ...fields,
        message: fields.message ?? "",
        priority: whole("priority", fields.priority, -2),
        timestamp: whole("timestamp", fields.timestamp, 0),
        html: fields.html === "1",
        monospace: fields.monospace === "1",
        // The control endpoint's `key` field: encrypt with it.
        encryptWith: fields.key,
        key: undefined,
      } as OutgoingMessage);
    }
    return ok({ sent });
  } catch (error) {
    return fail(400, { errors: [String((error as Error).message)] });
  }
}

// ---- helpers ----

/**
 * A path segment decoded; one whose escapes are broken (`%zz`) as it came:
 * it names no device or receipt, which is answered as such, not a 500.
 */
function pathSegment(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The device the secret may use, or the error answer (testing/README.md). */
function authorisedDevice(
  p: Params,
  { store, conventions }: RestContext,
  deviceId: string | undefined,
): DeviceRecord | Response {
  if (!store.accountOfSecret(p.secret)) {
    return fail(400, { secret: "invalid", errors: ["secret is invalid"] });
  }
  const key = conventions.deviceErrorKey;
  const device = store.deviceFor(p.secret, deviceId);
  if (!device) {
    return fail(400, { [key]: "invalid", errors: [`${key} is invalid`] });
  }
  if (device.disabled) {
    return fail(403, {
      [key]: "disabled",
      errors: [`${key} is disabled; re-enable it on the website`],
    });
  }
  return device;
}

/** The Open Client endpoints count against a rate limit; assets and control do not. */
function limited(endpoint: Endpoint): boolean {
  return endpoint !== "asset" && endpoint !== "control" &&
    endpoint !== "unknown";
}

function rateLimited(waitMs: number): Response {
  const response = fail(429, { errors: ["too many requests; slow down"] });
  response.headers.set("retry-after", String(Math.ceil(waitMs / 1000)));
  return response;
}

/** A message in the observed key order; conditional fields only when set. */
function renderMessage(
  m: StoredMessage,
  { legacyIds, extraFields, exposeQueueTime, encryptedFlag }: RestConventions,
): Record<string, unknown> {
  const out: Record<string, unknown> = { id: exactInteger(m.id) };
  if (!legacyIds) out.id_str = String(m.id);
  out.message = m.message;
  out.app = m.app;
  out.aid = exactInteger(m.aid);
  if (!legacyIds) out.aid_str = String(m.aid);
  out.icon = m.icon;
  out.date = m.date;
  out.priority = m.priority;
  out.acked = m.emergency?.acked ? 1 : 0;
  out.umid = exactInteger(m.umid);
  if (!legacyIds) out.umid_str = String(m.umid);
  if (m.title !== undefined) out.title = m.title;
  if (m.url !== undefined) out.url = m.url;
  if (m.urlTitle !== undefined) out.url_title = m.urlTitle;
  if (m.emergency) out.receipt = m.emergency.receipt;
  if (m.html) out.html = 1;
  if (m.monospace) out.monospace = 1;
  if (m.sound !== undefined) out.sound = m.sound;
  if (m.encrypted && encryptedFlag) out.encrypted = 1;
  if (!legacyIds) {
    out.queued_date = m.queuedDate;
    out.dispatched_date = m.queuedDate;
  }
  if (extraFields) out.future_message_field = { nested: [1, 2] };
  if (exposeQueueTime) out.fake_queued_at = m.queuedAt;
  return out;
}

function knownIcons(store: Store): Set<string> {
  const icons = new Set<string>();
  for (const device of store.devices.values()) {
    for (const message of device.queue) icons.add(message.icon);
  }
  icons.add("mnsw2ykc6qa5sbn");
  return icons;
}

async function applyFault(
  fault: RequestFault,
  request: Request,
  closed: Promise<void>,
): Promise<Response | undefined> {
  switch (fault.type) {
    case "status": {
      const headers = new Headers({
        "content-type": fault.contentType ?? "text/html",
      });
      if (fault.retryAfter !== undefined) {
        headers.set("retry-after", fault.retryAfter);
      }
      return new Response(
        fault.body ??
          `<html><body><h1>${fault.status} Error</h1></body></html>`,
        { status: fault.status, headers },
      );
    }
    case "json":
      return new Response(fault.body, {
        status: fault.status ?? 200,
        headers: { "content-type": "application/json" },
      });
    case "hang":
      await new Promise<void>((resolve) => {
        request.signal.addEventListener("abort", () => resolve(), {
          once: true,
        });
        closed.then(resolve);
      });
      return new Response("gave up", { status: 503 });
    case "delay":
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, fault.ms);
        closed.then(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return undefined;
  }
}

function ok(fields: Record<string, unknown>): Response {
  return json(200, { ...fields, status: 1, request: crypto.randomUUID() });
}

function fail(status: number, fields: Record<string, unknown>): Response {
  return json(status, { ...fields, status: 0, request: crypto.randomUUID() });
}

function json(status: number, body: Record<string, unknown>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}
