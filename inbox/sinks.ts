// A sink reading the inbox: each message in order, at least once, retried
// with the library's one retry policy; one it can never take is set aside as
// a dead letter and the sink moves on. A failing sink holds back only itself.

import { retryDelay } from "../lib/_retry.ts";
import { sleep as sleepOrAbort } from "../lib/_wakeup.ts";
import type { Inbox, SinkCursor, StoredMessage } from "./store.ts";

/** Bounds of the waits between a sink's tries of one message (ms). */
export interface SinkRetryDelay {
  /** The first wait, and the floor of every one. */
  min: number;
  /** The ceiling the doubling stops at. */
  max: number;
}

/** How a sink runs; every field but `signal` has a default. */
export interface SinkOptions {
  /** Stops the sink (between messages, or cutting a wait short). */
  signal: AbortSignal;
  /** Waits between tries of one message (default 1 s growing to 5 min). */
  retryDelay?: SinkRetryDelay;
  /** Tries of one message before it becomes a dead letter (default 10). */
  maxAttempts?: number;
  /** Whether a failure can never turn into a success (dead at once). */
  isPermanent?: (error: unknown) => boolean;
  /** Hears of each failed try that will be tried again. */
  onRetry?: (stored: StoredMessage, reason: string, delay: number) => void;
  /** Hears of each message set aside for this sink. */
  onDead?: (stored: StoredMessage, reason: string) => void;
  /**
   * How often to look for messages another process added (ms); 0 waits for
   * this process's own adds only (the default: the receiver runs here).
   */
  poll?: number;
  /** Waits `ms` or until `signal` aborts (injectable for tests). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The clock that paces position commits (ms; injectable for tests). */
  now?: () => number;
}

/** Default waits between tries: 1 s growing to 5 min, jittered. */
export const SINK_RETRY: SinkRetryDelay = { min: 1_000, max: 300_000 };

/** Messages a sink reads at once. */
const PAGE = 100;

/**
 * A sink moves its position past what it took once it took COMMIT_AFTER
 * messages since its last commit, or once a delivery ends this long (ms)
 * after it; also at the end of each page, before a failure is counted and
 * when it stops. A crash hands again what was taken since: at most
 * COMMIT_AFTER messages — a few desktop notifications twice, not a page.
 */
export const COMMIT_EVERY = 50;
/** See {@linkcode COMMIT_EVERY}. */
export const COMMIT_AFTER = 16;

/** Default tries of one message before it is set aside. */
export const SINK_ATTEMPTS = 10;

/**
 * Hands each message after `cursor`'s position to `deliver`, in order,
 * until `signal` aborts: a message counts as taken when `deliver` resolves.
 * A rejection is tried again after a delay (a `retryAfter` on the error is
 * a floor), up to `maxAttempts`; a permanent one or the last becomes a dead
 * letter for this sink, and the sink goes on with the next. Rejects when the
 * inbox itself fails (a full disk): what was taken since the sink's last
 * commit comes to it again next time.
 *
 * @example A sink that prints, stopped after its first message
 * ```ts
 * import { openInbox, runSink } from "@openpush/pushover-open-client/inbox";
 * import type { Message } from "@openpush/pushover-open-client";
 *
 * const inbox = await openInbox(":memory:");
 * const stop = new AbortController();
 * const printing = runSink(inbox, inbox.sink("stdout"), (stored) => {
 *   console.log(stored.message.message); // "Door opened"
 *   stop.abort();
 * }, { signal: stop.signal });
 * inbox.add("my-device-id", [{ id: 1, id_str: "1", umid: 2, umid_str: "2",
 *   aid: 1, aid_str: "1", app: "Door", icon: "door", date: 1_700_000_000,
 *   priority: 0, acked: 0, message: "Door opened" } as Message]);
 * await printing;
 * inbox.close();
 * ```
 */
export async function runSink(
  inbox: Inbox,
  cursor: SinkCursor,
  deliver: (stored: StoredMessage) => unknown,
  options: SinkOptions,
): Promise<void> {
  const { signal } = options;
  const sleep = options.sleep ?? sleepOrAbort;
  const maxAttempts = options.maxAttempts ?? SINK_ATTEMPTS;
  const now = options.now ?? Date.now;
  let attempt = 0;
  // Read a page at a time: one read per message cost as much as handing it
  // over. A message re-driven meanwhile comes after the page in hand.
  let page: StoredMessage[] = [];
  let at = 0;
  // Taken, and the position not yet moved past them: committed together,
  // a commit per message cost more than the rest of a sink's work.
  let taken: number[] = [];
  let committedAt = now();
  const commit = () => {
    if (taken.length > 0) cursor.done(...taken);
    taken = [];
    committedAt = now();
  };
  while (!signal.aborted) {
    if (at === page.length) {
      commit(); // before a read that may find nothing and wait
      page = cursor.next(PAGE);
      at = 0;
    }
    const stored = page[at];
    if (!stored) {
      await added(inbox, options, sleep);
      continue;
    }
    try {
      await deliver(stored);
    } catch (error) {
      if (signal.aborted) break;
      commit();
      attempt++;
      const reason = error instanceof Error ? error.message : String(error);
      const outcome = cursor.failed(stored.seq, reason, {
        permanent: options.isPermanent?.(error) ?? false,
        maxAttempts,
      });
      if (outcome === "dead") {
        at++;
        attempt = 0;
        options.onDead?.(stored, reason);
        continue;
      }
      const retryAfter = (error as { retryAfter?: unknown }).retryAfter;
      const delay = retryDelay(
        attempt,
        { ...(options.retryDelay ?? SINK_RETRY), resetAfter: 0 },
        typeof retryAfter === "number" ? retryAfter : 0,
      );
      options.onRetry?.(stored, reason, delay);
      await sleep(delay, signal);
      continue;
    }
    // Taken, but stopping: told again next run.
    if (signal.aborted) break;
    taken.push(stored.seq);
    at++;
    attempt = 0;
    // Outside the delivery's try: the inbox failing here is not the
    // delivery's failure (it would count one for a message delivered).
    if (
      taken.length >= COMMIT_AFTER || now() - committedAt >= COMMIT_EVERY
    ) commit();
  }
  commit();
}

/**
 * Resolves once the inbox may hold something after the cursor: this
 * process added to it, another did (seen by polling), or the sink stops.
 */
function added(
  inbox: Inbox,
  options: SinkOptions,
  sleep: (ms: number, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const waiting = new AbortController();
  const stop = () => waiting.abort();
  // Removed in `finally`, whichever ends the wait. The empty read and this
  // subscription run in one turn: no add of this process comes between.
  options.signal.addEventListener("abort", stop);
  const unsubscribe = inbox.onAdded(stop);
  const poll = options.poll ?? 0;
  const wait = poll > 0
    ? sleep(poll, waiting.signal)
    : new Promise<void>((resolve) =>
      waiting.signal.addEventListener("abort", () => resolve())
    );
  // Every wait subscribes anew: without this a sink that waits a thousand
  // times would leave a thousand listeners on the inbox and on the signal.
  return wait.finally(() => {
    unsubscribe();
    options.signal.removeEventListener("abort", stop);
  });
}
