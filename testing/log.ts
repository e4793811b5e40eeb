// What the fake saw and did, for tests to assert on.

import type { Endpoint } from "./faults.ts";

/** One REST request as the fake received it. */
export interface HttpEntry {
  kind: "http";
  endpoint: Endpoint;
  method: string;
  path: string;
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
  kind: "socket";
  event: "open" | "login" | "rejected" | "received" | "sent" | "close";
  /** Which connection, counted from 1. */
  socket: number;
  deviceId?: string;
  /** Frame payload as text. */
  data?: string;
}

export type LogEntry = HttpEntry | SocketEntry;

/** An append-only log that tests can wait on. */
export class Log {
  readonly entries: LogEntry[] = [];
  #waiters = new Set<
    { test: (e: LogEntry) => boolean; resolve: (e: LogEntry) => void }
  >();

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
}
