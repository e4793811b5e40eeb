// The Worker in front of the device objects: a small admin API, every call
// behind the bearer token of the ADMIN_TOKEN secret. It never answers with
// a secret: not the device's, not the password it logs in with (used once,
// then dropped), not the token.
//
//   POST   /devices                 {email, password, twofa?, deviceName, …sinks}
//                                    or {deviceId, secret, …sinks}: set up
//   GET    /devices/:id             status, the inbox's counts
//   DELETE /devices/:id             stop, forget its storage
//   GET    /devices/:id/messages    history: ?limit (1-500), ?after, ?before, ?app,
//                                    ?min_priority; newest first, but oldest
//                                    first with ?after (paging on from a seq)
//   GET    /devices/:id/search?q=   full-text search
//   POST   /devices/:id/retry?sink= hand dead letters to the sink again
//   POST   /devices/:id/restart     make the object again (as a deploy does)
//
// Sinks: {"webhook": URL, "queue": true}; "mode": "poll" with
// "pollSeconds" (≥ 60) keeps no socket (see the README's costs);
// "encryptionKey" keeps end-to-end encrypted messages decrypted.

import { login, registerDevice } from "../mod.ts";
import type { Device } from "../mod.ts";
import { PushoverError } from "../lib/errors.ts";
import { authorized } from "./_auth.ts";
import type { DeviceEnv, DeviceSettings } from "./device_object.ts";
import type { DurableObjectNamespace } from "./_workers.ts";

export { PushoverDevice } from "./device_object.ts";

/** The Worker's bindings. */
export interface WorkerEnv extends DeviceEnv {
  /** The Durable Object class PushoverDevice. */
  DEVICE: DurableObjectNamespace;
  /** The admin API's bearer token (a secret: `wrangler secret put`). */
  ADMIN_TOKEN?: string;
}

/** A refusal the caller can act on: its status and one line. */
class Refused extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const DEVICE_ID = /^[A-Za-z0-9]{1,64}$/;

/** A Worker's handlers: here only `fetch`. */
export interface WorkerHandler {
  /** Answers one request to the admin API. */
  fetch(request: Request, env: WorkerEnv): Promise<Response>;
}

/** The admin API. */
const worker: WorkerHandler = {
  async fetch(request: Request, env: WorkerEnv): Promise<Response> {
    if (!await authorized(request, env.ADMIN_TOKEN)) {
      return Response.json(
        {
          error: env.ADMIN_TOKEN
            ? "a valid bearer token is required (Authorization: Bearer …)"
            : "the admin API is closed: set the ADMIN_TOKEN secret",
        },
        { status: 401, headers: { "www-authenticate": "Bearer" } },
      );
    }
    try {
      return await route(request, env);
    } catch (error) {
      if (error instanceof Refused) {
        return Response.json({ error: error.message }, {
          status: error.status,
        });
      }
      // The library's errors are one line and never hold a secret. What
      // Pushover refused (bad credentials, a missing 2FA code, a taken name)
      // is the caller's to fix; what is passing, Pushover's trouble.
      if (error instanceof PushoverError) {
        return Response.json({ error: error.message }, {
          status: error.transient ? 502 : 400,
        });
      }
      return Response.json({ error: "internal error" }, { status: 500 });
    }
  },
};
export default worker;

async function route(request: Request, env: WorkerEnv): Promise<Response> {
  const url = new URL(request.url);
  const parts = url.pathname.split("/").filter(Boolean);
  if (parts[0] !== "devices") throw new Refused(404, "no such route");
  if (parts.length === 1 && request.method === "POST") {
    return await addDevice(await bodyOf(request), env);
  }
  const id = parts[1] ?? "";
  if (!DEVICE_ID.test(id)) {
    throw new Refused(400, "a device id is letters and digits");
  }
  const stub = env.DEVICE.get(env.DEVICE.idFromName(id));
  const call = (method: string, path: string, search = "") =>
    stub.fetch(new Request(`https://device${path}${search}`, { method }));
  const action = `${request.method} ${parts.slice(2).join("/")}`;
  switch (action) {
    case "GET ":
      return await call("GET", "/status");
    case "DELETE ":
      return await call("DELETE", "/settings");
    case "GET messages":
      return await call("GET", "/history", url.search);
    case "GET search":
      if (!url.searchParams.get("q")) {
        throw new Refused(400, "search needs ?q=TEXT");
      }
      return await call("GET", "/history", url.search);
    case "POST retry":
      return await call("POST", "/retry", url.search);
    case "POST restart":
      return await call("POST", "/restart");
  }
  throw new Refused(404, "no such route");
}

async function bodyOf(request: Request): Promise<Record<string, unknown>> {
  try {
    const body = await request.json();
    if (typeof body === "object" && body !== null && !Array.isArray(body)) {
      return body as Record<string, unknown>;
    }
  } catch {
    // answered below
  }
  throw new Refused(400, "the body must be a JSON object");
}

/** Sets a device up in its object, logging in first if asked to. */
async function addDevice(
  body: Record<string, unknown>,
  env: WorkerEnv,
): Promise<Response> {
  const settings = sinksOf(body);
  const device = await deviceOf(body, env);
  const stub = env.DEVICE.get(env.DEVICE.idFromName(device.deviceId));
  return await stub.fetch(
    new Request("https://device/settings", {
      method: "PUT",
      body: JSON.stringify({ ...settings, device } satisfies DeviceSettings),
    }),
  );
}

/** The device: registered now (e-mail and password) or given. */
async function deviceOf(
  body: Record<string, unknown>,
  env: WorkerEnv,
): Promise<Device> {
  const text = (name: string) =>
    typeof body[name] === "string" ? body[name] as string : undefined;
  const api = env.PUSHOVER_API_URL ? { apiUrl: env.PUSHOVER_API_URL } : {};
  if (text("deviceId") !== undefined || text("secret") !== undefined) {
    const deviceId = text("deviceId") ?? "";
    const secret = text("secret") ?? "";
    if (!DEVICE_ID.test(deviceId) || secret === "") {
      throw new Refused(
        400,
        "give both deviceId (letters and digits) and secret",
      );
    }
    return { deviceId, secret };
  }
  const email = text("email");
  const password = text("password");
  const deviceName = text("deviceName");
  if (!email || !password || !deviceName) {
    throw new Refused(
      400,
      "give email, password (and twofa if the account has it) and deviceName, or deviceId and secret",
    );
  }
  const twofa = text("twofa");
  const session = await login(
    { email, password, ...(twofa ? { twofa } : {}) },
    api,
  );
  return await registerDevice(session, deviceName, api);
}

/** The sinks and mode asked for, checked. */
function sinksOf(
  body: Record<string, unknown>,
): Omit<DeviceSettings, "device"> {
  const settings: Omit<DeviceSettings, "device"> = {};
  if (typeof body.name === "string") settings.name = body.name.slice(0, 100);
  if (body.webhook !== undefined) {
    let url: URL;
    try {
      url = new URL(String(body.webhook));
    } catch {
      throw new Refused(400, "webhook: not a URL");
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new Refused(400, "webhook: give an http:// or https:// URL");
    }
    if (url.username || url.password) {
      throw new Refused(400, "webhook: no credentials in the URL");
    }
    settings.webhook = url.href;
  }
  if (body.queue !== undefined) {
    if (typeof body.queue !== "boolean") {
      throw new Refused(400, "queue: true or false");
    }
    settings.queue = body.queue;
  }
  if (body.mode !== undefined) {
    if (body.mode !== "socket" && body.mode !== "poll") {
      throw new Refused(400, 'mode: "socket" or "poll"');
    }
    settings.mode = body.mode;
  }
  if (body.encryptionKey !== undefined) {
    // Not echoed: a key is a secret, even a wrong one.
    if (
      typeof body.encryptionKey !== "string" ||
      !/^[0-9a-fA-F]{64}$/.test(body.encryptionKey)
    ) {
      throw new Refused(
        400,
        "encryptionKey: 64 hexadecimal characters (the key shown in Pushover's app settings)",
      );
    }
    settings.encryptionKey = body.encryptionKey;
  }
  if (body.pollSeconds !== undefined) {
    const seconds = Number(body.pollSeconds);
    if (!Number.isInteger(seconds) || seconds < 60) {
      throw new Refused(400, "pollSeconds: a whole number, 60 or more");
    }
    settings.pollSeconds = seconds;
  }
  return settings;
}
