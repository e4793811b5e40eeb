/**
 * A faithful fake of Pushover's Open Client service (REST + WebSocket), for
 * your own tests: no paid account, no network. It runs on Deno, Bun and Node
 * with a listener on 127.0.0.1 — or, with `listen: false`, entirely in your
 * process through its own `fetch` and `WebSocket`. Faults can be injected,
 * and everything it saw is logged. What it imitates, and every convention it
 * picks where the real service's behaviour is unknown, is written down in
 * `testing/README.md`; each such convention is an option of
 * {@linkcode FakeServerOptions}.
 *
 * @example Test your notifier against it, in-process
 * ```ts
 * import { login, registerDevice, streamMessages } from "@openpush/pushover-open-client";
 * import { startFakeServer } from "@openpush/pushover-open-client/testing";
 * import assert from "node:assert/strict";
 *
 * const server = await startFakeServer({
 *   listen: false,
 *   accounts: [{ email: "me@example.com", password: "pw" }],
 * });
 * const api = { apiUrl: server.apiUrl, fetch: server.fetch };
 * const session = await login({ email: "me@example.com", password: "pw" }, api);
 * const device = await registerDevice(session, "test-box", api);
 * server.send({ title: "Disk", message: "95% full" });
 *
 * const seen: string[] = [];
 * const stream = streamMessages(device, {
 *   ...api,
 *   websocketUrl: server.websocketUrl,
 *   WebSocket: server.WebSocket,
 * });
 * for await (const message of stream) {
 *   seen.push(message.title ?? message.app); // your notifier would show it
 *   if (seen.length === 2) break; // the welcome message, then ours
 * }
 * assert.deepEqual(seen, ["Welcome to Pushover!", "Disk"]);
 * assert.equal(server.store.devices.get(device.deviceId)!.queue.length, 0);
 * await server.close();
 * ```
 *
 * @module
 */

import { FaultQueue } from "./faults.ts";
import type { Endpoint, RequestFault } from "./faults.ts";
import { Log } from "./log.ts";
import { memoryTransport, type MemoryWebSocket } from "./memory.ts";
import { type Frame, PushHub } from "./push.ts";
import { restHandler } from "./rest.ts";
import { type Listener, serve } from "./serve.ts";
import {
  type Account,
  type DeviceRecord,
  type OutgoingMessage,
  type Sent,
  Store,
  type StoredMessage,
  type StoreSnapshot,
} from "./store.ts";

export type {
  Account,
  DeviceRecord,
  Endpoint,
  Frame,
  MemoryWebSocket,
  OutgoingMessage,
  RequestFault,
  Sent,
  StoredMessage,
  StoreSnapshot,
};
export { Log, Store };
export type { HttpEntry, LogEntry, SocketEntry } from "./log.ts";

/**
 * How the fake behaves; every field has the default documented on it, and
 * testing/README.md gives the evidence behind each convention.
 *
 * @example A server that behaves like the older documentation
 * ```ts
 * import { startFakeServer } from "@openpush/pushover-open-client/testing";
 * import type { FakeServerOptions } from "@openpush/pushover-open-client/testing";
 *
 * const options: FakeServerOptions = {
 *   listen: false,
 *   secretPerLogin: false, // one secret per account
 *   deviceErrorKey: "device", // {"device":"invalid"} instead of device_id
 *   rateLimit: 60, // 429 with Retry-After past 60 requests a minute
 * };
 * const server = await startFakeServer(options);
 * await server.close();
 * ```
 */
export interface FakeServerOptions {
  /**
   * Open a listener on 127.0.0.1 (default), or run only in-process, through
   * the server's `fetch` and `WebSocket`.
   */
  listen?: boolean;
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /**
   * Files served as they are (GET) at these paths, e.g. `/app/index.html`
   * and its script: a web page that uses the library from the fake's own
   * origin, so a browser test needs no second server and no CORS.
   */
  pages?: Record<
    string,
    { type: string; body: string | Uint8Array<ArrayBuffer> }
  >;
  /** Accounts to create at start. */
  accounts?: { email: string; password: string; twofa?: string }[];
  /** Milliseconds between `#` keep-alives; 0 sends none. Default 30 000. */
  keepAliveInterval?: number;
  /** Server frames as binary (default, like the real service) or text. */
  frameKind?: "binary" | "text";
  /** A new secret per login (default, newer docs) or one per account. */
  secretPerLogin?: boolean;
  /** Status answered to a wrong 2FA code: 412 (default) or 400. */
  wrongTwofaStatus?: 412 | 400;
  /** A repeated acknowledgement: "success" (default) or "error". */
  acknowledgeTwice?: "success" | "error";
  /** Answer like a 2019 server: no `*_str` twins. Default false. */
  legacyIds?: boolean;
  /** Add unknown fields to answers. Default false. */
  extraFields?: boolean;
  /** The first message id of each device, as a decimal string. Default "1". */
  firstMessageId?: string;
  /** Add `fake_queued_at` (epoch ms) to messages, for latency benchmarks. Default false. */
  exposeQueueTime?: boolean;
  /** Milliseconds between `!` repeats of an unacknowledged emergency message; 0 (default) repeats none. */
  emergencyRetryInterval?: number;
  /**
   * Milliseconds between WebSocket pings; 0 (default) sends none. A client
   * that has not answered one ping when the next is due is closed with 1001.
   */
  pingInterval?: number;
  /** The key naming a rejected device in REST errors: "device_id" (default) or "device". */
  deviceErrorKey?: "device_id" | "device";
  /** Requests a minute to each endpoint before it answers 429 with `Retry-After`; none by default. */
  rateLimit?: number;
  /** Open WebSockets from one address at once before upgrades get 429; unlimited by default (the real service: 2). */
  socketsPerAddress?: number;
  /**
   * Milliseconds the push host takes to register a login frame; 0 (default)
   * registers it at once. Until then the socket gets no `!`, so a message
   * queued meanwhile is announced to nobody — Pushover's REST and push hosts
   * are separate services and nothing orders them ([UNKNOWN] how long).
   */
  loginDelay?: number;
  /** Mark messages sent with `encryptWith` as `encrypted: 1` (default true); false sends only the encrypted text. */
  encryptedFlag?: boolean;
  /**
   * What `force=1` does with a name taken on the account ([UNKNOWN]):
   * "new id" (default) registers a new device under it — the old id stops
   * working, REST answers it as an unknown device and its socket gets `E`;
   * "same id" answers the device's own id, and it keeps its queue and
   * socket — and stays disabled if it was.
   */
  forceRegistration?: "new id" | "same id";
  /**
   * A delete that deletes nothing ([UNKNOWN]): through an id below every
   * queued one (at or below an earlier delete, say), or with nothing
   * queued. "success" (default) answers it as any delete; "error" answers
   * 400 `{"message":"invalid"}`, as a stricter server might — a client must
   * not stop for it when its earlier delete's answer was lost. A delete
   * through an id above every queued one empties a queue either way.
   */
  deleteNothing?: "success" | "error";
  /** Status answered to an unknown or expired receipt ([UNKNOWN]): 400 (default) or 404. */
  unknownReceiptStatus?: 400 | 404;
}

/**
 * A running fake and its controls.
 *
 * @example Break the link and see the client recover
 * ```ts
 * import { startFakeServer } from "@openpush/pushover-open-client/testing";
 * import type { FakeServer } from "@openpush/pushover-open-client/testing";
 *
 * function chaos(server: FakeServer, deviceId: string): void {
 *   server.failNext({ type: "status", status: 503 }, { endpoint: "download" });
 *   server.dropSockets(deviceId); // a lost network: no close frame
 *   server.sendFrame("R", deviceId); // or the server asks for a reconnect
 * }
 * const server = await startFakeServer({ listen: false });
 * chaos(server, "none-yet");
 * await server.close();
 * ```
 */
export interface FakeServer {
  /**
   * REST base URL, e.g. `http://127.0.0.1:8123/1`: the client's `apiUrl`.
   * Without a listener it names no port (`http://127.0.0.1:0/1`): use it
   * with this server's `fetch`.
   */
  apiUrl: string;
  /** The client's `websocketUrl`, e.g. `ws://127.0.0.1:8123/push`. */
  websocketUrl: string;
  /** Where icons and sounds live, e.g. `http://127.0.0.1:8123`. */
  assetUrl: string;
  /** A `fetch` that reaches this server in-process, listener or not. */
  fetch: typeof fetch;
  /** A `WebSocket` class whose sockets reach this server in-process. */
  WebSocket: new (url: string | URL) => MemoryWebSocket;
  /** The state: accounts, devices, queues. */
  store: Store;
  /** Everything the fake received and sent. */
  log: Log;
  /** Adds an account. */
  addAccount(
    account: { email: string; password: string; twofa?: string },
  ): Account;
  /** Queues a message for a user's devices and sends `!` to their sockets. */
  send(message: OutgoingMessage): Sent;
  /** The next `count` requests (to `endpoint`, or any) suffer `fault`. */
  failNext(
    fault: RequestFault,
    options?: { count?: number; endpoint?: Endpoint },
  ): void;
  /** Forgets every fault not triggered yet. */
  clearFaults(): void;
  /** Sends a frame to logged-in sockets; `R`, `E`, `A` then close them. */
  sendFrame(frame: Frame, deviceId?: string): number;
  /** Drops logged-in sockets (of one device, or all) as a lost network does: no close frame, no code. */
  dropSockets(deviceId?: string): number;
  /** Closes logged-in sockets (of one device, or all) with a close frame carrying `code`. */
  closeSockets(code: number, deviceId?: string): number;
  /** The next `count` WebSocket connections are dropped on opening. */
  dropNextConnections(count: number): void;
  /** Stops or resumes keep-alives. */
  pauseKeepAlive(paused: boolean): void;
  /**
   * Leaves the logged-in sockets (of one device, or all) open but dead:
   * nothing more is sent to them and what they send is ignored.
   */
  muteSockets(deviceId?: string): number;
  /** Answers every later WebSocket login with `frame` (undefined: stop). */
  replyToLogins(frame: Frame | undefined): void;
  /**
   * Holds every later WebSocket login unregistered (true) until called with
   * false, which registers the held ones: the window in which a client has
   * sent its login and the push host has not taken it yet.
   */
  holdLogins(held: boolean): void;
  /**
   * Resolves once `count` WebSocket logins (of one device, or any) have
   * happened since the fake started. Default 1.
   */
  waitForLogin(deviceId?: string, count?: number): Promise<void>;
  /** Number of logged-in sockets (of one device, or all). */
  connections(deviceId?: string): number;
  /** Disables a device: REST answers 403, socket logins get `E`. */
  disableDevice(deviceId: string): void;
  /** Stops everything; the process can then exit. */
  close(): Promise<void>;
}

/**
 * Starts the fake: on 127.0.0.1 (a free port by default), or only
 * in-process with `listen: false`.
 *
 * @param options Accounts, timing and the conventions to follow.
 * @returns The running server and its controls; `close()` it when done.
 *
 * @example Log in against it over loopback
 * ```ts
 * import { login } from "@openpush/pushover-open-client";
 * import { startFakeServer } from "@openpush/pushover-open-client/testing";
 * import assert from "node:assert/strict";
 *
 * const server = await startFakeServer({ accounts: [{ email: "a@b.c", password: "pw" }] });
 * const session = await login({ email: "a@b.c", password: "pw" }, { apiUrl: server.apiUrl });
 * assert.equal(session.userKey, server.store.accounts[0].userKey);
 * await server.close();
 * ```
 */
export async function startFakeServer(
  options: FakeServerOptions = {},
): Promise<FakeServer> {
  checkChoices(options);
  const store = new Store({
    secretPerLogin: options.secretPerLogin ?? true,
    firstMessageId: BigInt(options.firstMessageId ?? "1"),
    now: () => Math.floor(Date.now() / 1000),
  });
  for (const account of options.accounts ?? []) store.addAccount(account);
  const log = new Log();
  const faults = new FaultQueue();
  const hub = new PushHub(store, log, {
    keepAliveInterval: options.keepAliveInterval ?? 30_000,
    frameKind: options.frameKind ?? "binary",
    pingInterval: options.pingInterval ?? 0,
    socketsPerAddress: options.socketsPerAddress ?? Infinity,
    loginDelay: options.loginDelay ?? 0,
  });
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => markClosed = resolve);
  const retries = new Set<ReturnType<typeof setInterval>>();
  let isClosed = false;

  const send = (message: OutgoingMessage): Sent => {
    const { sent, devices } = store.send(message);
    for (const device of devices) hub.broadcast("!", device.id);
    const every = options.emergencyRetryInterval ?? 0;
    const receipt = sent.receipt;
    // After close() nothing would ever stop the interval: no repeats then.
    if (receipt && every > 0 && !isClosed) {
      // The sender's servers repeat an emergency until it is acknowledged.
      const timer = setInterval(() => {
        if (!store.isPending(receipt)) {
          clearInterval(timer);
          retries.delete(timer);
          return;
        }
        for (const device of devices) hub.broadcast("!", device.id);
      }, every);
      retries.add(timer);
    }
    return sent;
  };

  const handler = restHandler({
    store,
    faults,
    log,
    send,
    closed,
    conventions: {
      wrongTwofaStatus: options.wrongTwofaStatus ?? 412,
      acknowledgeTwice: options.acknowledgeTwice ?? "success",
      legacyIds: options.legacyIds ?? false,
      extraFields: options.extraFields ?? false,
      exposeQueueTime: options.exposeQueueTime ?? false,
      deviceErrorKey: options.deviceErrorKey ?? "device_id",
      rateLimit: options.rateLimit,
      encryptedFlag: options.encryptedFlag ?? true,
      forceRegistration: options.forceRegistration ?? "new id",
      deleteNothing: options.deleteNothing ?? "success",
      unknownReceiptStatus: options.unknownReceiptStatus ?? 400,
    },
    sendFrame: (frame, deviceId) => hub.broadcast(frame as Frame, deviceId),
    pages: options.pages ?? {},
  });
  const endpoints = {
    websocketPath: "/push",
    fetch: handler,
    handler,
    admit: (address: string) => hub.admits(address),
    accept: hub.accept.bind(hub),
    websocket: hub.accept.bind(hub),
  };
  const memory = memoryTransport(endpoints);
  const listener: Listener | undefined = options.listen === false
    ? undefined
    : await serve({ ...endpoints, port: options.port ?? 0 });
  const host = `127.0.0.1:${listener?.port ?? 0}`;
  const origin = `http://${host}`;

  return {
    apiUrl: `${origin}/1`,
    websocketUrl: `ws://${host}/push`,
    assetUrl: origin,
    fetch: memory.fetch,
    WebSocket: memory.WebSocket,
    store,
    log,
    addAccount: (account) => store.addAccount(account),
    send,
    failNext: (fault, { count = 1, endpoint } = {}) =>
      faults.add(fault, count, endpoint),
    clearFaults: () => faults.clear(),
    sendFrame: (frame, deviceId) => hub.broadcast(frame, deviceId),
    dropSockets: (deviceId) => hub.drop(deviceId),
    closeSockets: (code, deviceId) => hub.closeWith(code, deviceId),
    dropNextConnections: (count) => hub.dropNextConnections(count),
    pauseKeepAlive: (paused) => hub.pauseKeepAlive(paused),
    muteSockets: (deviceId) => hub.mute(deviceId),
    replyToLogins: (frame) => hub.replyToLogins(frame),
    holdLogins: (held) => hub.holdLogins(held),
    waitForLogin: async (deviceId, count = 1) => {
      let seen = 0;
      await log.waitFor((e) =>
        e.kind === "socket" && e.event === "login" &&
        (deviceId === undefined || e.deviceId === deviceId) && ++seen === count
      );
    },
    connections: (deviceId) => hub.loggedIn(deviceId).length,
    disableDevice: (deviceId) => {
      const device = store.devices.get(deviceId);
      if (!device) throw new Error(`no device ${deviceId}`);
      device.disabled = true;
      hub.broadcast("E", deviceId);
    },
    close: async () => {
      isClosed = true;
      for (const timer of retries) clearInterval(timer);
      markClosed();
      hub.closeAll();
      await memory.shutDown();
      await listener?.close();
    },
  };
}

/** The options that pick one of a few conventions, and their values. */
const CHOICES: { [K in keyof FakeServerOptions]?: readonly unknown[] } = {
  frameKind: ["binary", "text"],
  wrongTwofaStatus: [412, 400],
  acknowledgeTwice: ["success", "error"],
  deviceErrorKey: ["device_id", "device"],
  forceRegistration: ["new id", "same id"],
  deleteNothing: ["success", "error"],
  unknownReceiptStatus: [400, 404],
};

/** A convention the fake does not know is a typo in a test: one line. */
function checkChoices(options: FakeServerOptions): void {
  for (const [name, allowed] of Object.entries(CHOICES)) {
    const value = options[name as keyof FakeServerOptions];
    if (value !== undefined && !allowed!.includes(value)) {
      throw new TypeError(
        `startFakeServer: '${name}' must be ${
          allowed!.map((v) => JSON.stringify(v)).join(" or ")
        }: current value is ${JSON.stringify(value)}`,
      );
    }
  }
}
