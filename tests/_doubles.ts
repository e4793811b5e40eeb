// The shared test doubles: a WebSocket the test drives by hand, and a
// watcher for promise rejections nobody handled.

import process from "node:process";
import type { WebSocketLike } from "../mod.ts";

/** A socket the test drives by hand: it opens by itself, frames come by `frame()`. */
export class HandSocket extends EventTarget implements WebSocketLike {
  /** The socket made last: the one the stream under test uses. */
  static last: HandSocket | undefined;
  binaryType = "blob";
  /** Every frame the client sent, in order. */
  sent: string[] = [];
  closed = false;
  readonly url: string;
  constructor(url: string) {
    super();
    this.url = url;
    HandSocket.last = this;
    queueMicrotask(() => this.dispatchEvent(new Event("open")));
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.closed = true;
  }
  /** Delivers a frame with this payload, whatever its type. */
  frame(data: unknown): void {
    const event = new Event("message") as Event & { data: unknown };
    event.data = data;
    this.dispatchEvent(event);
  }
}

/**
 * Collects the promise rejections nobody handles while a test file runs.
 * Node calls the process hook; Deno's test runner skips it but fires the
 * global event; Bun's runner calls neither and fails the running test
 * itself. Node's and Deno's runners fail the running test too, so whichever
 * runtime runs the file, such a rejection cannot pass unnoticed.
 */
export function watchUnhandledRejections(): {
  unhandled: unknown[];
  stop(): void;
} {
  const unhandled: unknown[] = [];
  const onProcess = (reason: unknown) => {
    unhandled.push(reason);
  };
  const onGlobal = (event: Event) => {
    unhandled.push((event as Event & { reason?: unknown }).reason);
  };
  process.on("unhandledRejection", onProcess);
  globalThis.addEventListener?.("unhandledrejection", onGlobal);
  return {
    unhandled,
    stop: () => {
      process.off("unhandledRejection", onProcess);
      globalThis.removeEventListener?.("unhandledrejection", onGlobal);
    },
  };
}
