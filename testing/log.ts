// What the fake saw and did, for tests to assert on.

import type { Endpoint } from "./faults.ts";

/** One REST request as the fake received it. */
export interface HttpEntry {
  /** Always "http". */
  kind: "http";
  /** Which endpoint the request reached. */
  endpoint: Endpoint;
  /** The HTTP method. */
  method: string;
  /** The URL's path. */
  path: string;
  /** The request's content type, "" when none. */
  contentType: string;
  /** Parameters from the query string. */
  query: Record<string, string>;
  /** Parameters from the body. */
  body: Record<string, string>;
  /** Both, the body winning. */
  params: Record<string, string>;
  /** The status answered (after faults). */
  status?: number;
}

/** One WebSocket event. */
export interface SocketEntry {
  /** Always "socket". */
  kind: "socket";
  /** What happened: opened, logged in, login refused, a frame either way, closed. */
  event:
    | "open"
    | "login"
    | "rejected"
    | "received"
    | "sent"
    | "ping"
    | "pong"
    | "close";
  /** Which connection, counted from 1. */
  socket: number;
  /** The device it logged in as, once it has. */
  deviceId?: string;
  /** Frame payload as text. */
  data?: string;
}

/** One thing the fake saw or did. */
export type LogEntry = HttpEntry | SocketEntry;

/**
 * An append-only log of every request and socket event, that tests can
 * query and wait on.
 *
 * @example Count the downloads and logins a client made
 * ```ts
 * import { startFakeServer } from "@openpush/pushover-open-client/testing";
 * import assert from "node:assert/strict";
 *
 * const server = await startFakeServer({ listen: false });
 * await server.fetch(`${server.apiUrl}/messages.json?secret=x&device_id=y`);
 * assert.equal(server.log.requests("download").length, 1);
 * assert.equal(server.log.sockets("login").length, 0);
 * await server.close();
 * ```
 */
export class Log {
  /** Everything, in order. */
  readonly entries: LogEntry[] = [];
  #waiters = new Set<
    { test: (e: LogEntry) => boolean; resolve: (e: LogEntry) => void }
  >();

  /** Appends an entry and wakes whoever waits for it. */
  add(entry: LogEntry): void {
    this.entries.push(entry);
    this.changed(entry);
  }

  /** Tells waiters an entry changed (a request got its status). */
  changed(entry: LogEntry): void {
    for (const waiter of this.#waiters) {
      if (waiter.test(entry)) {
        this.#waiters.delete(waiter);
        waiter.resolve(entry);
      }
    }
  }

  /** Resolves with the first entry, from index `from` on, that passes `test`. */
  waitFor(test: (e: LogEntry) => boolean, from = 0): Promise<LogEntry> {
    const found = this.entries.slice(from).find(test);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.#waiters.add({ test, resolve }));
  }

  /** The REST requests, optionally to one endpoint. */
  requests(endpoint?: Endpoint): HttpEntry[] {
    return this.entries.filter((e): e is HttpEntry =>
      e.kind === "http" && (endpoint === undefined || e.endpoint === endpoint)
    );
  }

  /**
   * The socket events, optionally of one kind, of one device, and (for
   * "sent" and "received") with one payload.
   */
  sockets(
    event?: SocketEntry["event"],
    { deviceId, data }: { deviceId?: string; data?: string } = {},
  ): SocketEntry[] {
    return this.entries.filter((e): e is SocketEntry =>
      e.kind === "socket" && (event === undefined || e.event === event) &&
      (deviceId === undefined || e.deviceId === deviceId) &&
      (data === undefined || e.data === data)
    );
  }
}
