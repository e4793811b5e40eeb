/**
 * A faithful fake of Pushover's Open Client service (REST + WebSocket) on
 * loopback, with fault injection and a log of everything it saw. Runs on
 * Deno, Bun and Node. See PROTOCOL.md for what it imitates; every [UNKNOWN]
 * convention it picks is an option of {@linkcode FakeServerOptions}.
 *
 * @module
 */

import { FaultQueue } from "./faults.ts";
import type { Endpoint, RequestFault } from "./faults.ts";
import { Log } from "./log.ts";
import { type Frame, PushHub } from "./push.ts";
import { restHandler } from "./rest.ts";
import { serve } from "./serve.ts";
import {
  type Account,
  type OutgoingMessage,
  type Sent,
  Store,
} from "./store.ts";

export type { Endpoint, Frame, OutgoingMessage, RequestFault, Sent };
export type { HttpEntry, LogEntry, SocketEntry } from "./log.ts";

/** How the fake behaves; every field has the default documented on it. */
export interface FakeServerOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
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
}

/** A running fake and its controls. */
export interface FakeServer {
  /** REST base URL, e.g. `http://127.0.0.1:8123/1`: the client's `apiUrl`. */
  apiUrl: string;
  /** The client's `websocketUrl`, e.g. `ws://127.0.0.1:8123/push`. */
  websocketUrl: string;
  /** Where icons and sounds live, e.g. `http://127.0.0.1:8123`. */
  assetUrl: string;
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
  /** Drops logged-in sockets with no frame. */
  dropSockets(deviceId?: string): number;
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
 * Starts the fake on 127.0.0.1.
 *
 * @example
 * ```ts ignore
 * const server = await startFakeServer({ accounts: [{ email: "a@b.c", password: "pw" }] });
 * const session = await login({ email: "a@b.c", password: "pw" }, { apiUrl: server.apiUrl });
 * await server.close();
 * ```
 */
export async function startFakeServer(
  options: FakeServerOptions = {},
): Promise<FakeServer> {
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
  });
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => markClosed = resolve);
  const retries = new Set<ReturnType<typeof setInterval>>();

  const send = (message: OutgoingMessage): Sent => {
    const { sent, devices } = store.send(message);
    for (const device of devices) hub.broadcast("!", device.id);
    const every = options.emergencyRetryInterval ?? 0;
    const receipt = sent.receipt;
    if (receipt && every > 0) {
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

  const listener = await serve({
    port: options.port ?? 0,
    websocketPath: "/push",
    fetch: restHandler({
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
      },
      sendFrame: (frame, deviceId) => hub.broadcast(frame as Frame, deviceId),
    }),
    websocket: (socket) => hub.accept(socket),
  });
  const origin = `http://127.0.0.1:${listener.port}`;

  return {
    apiUrl: `${origin}/1`,
    websocketUrl: `ws://127.0.0.1:${listener.port}/push`,
    assetUrl: origin,
    store,
    log,
    addAccount: (account) => store.addAccount(account),
    send,
    failNext: (fault, { count = 1, endpoint } = {}) =>
      faults.add(fault, count, endpoint),
    clearFaults: () => faults.clear(),
    sendFrame: (frame, deviceId) => hub.broadcast(frame, deviceId),
    dropSockets: (deviceId) => hub.drop(deviceId),
    dropNextConnections: (count) => hub.dropNextConnections(count),
    pauseKeepAlive: (paused) => hub.pauseKeepAlive(paused),
    muteSockets: (deviceId) => hub.mute(deviceId),
    replyToLogins: (frame) => hub.replyToLogins(frame),
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
      for (const timer of retries) clearInterval(timer);
      markClosed();
      hub.closeAll();
      await listener.close();
    },
  };
}
