// `listen` with the inbox: the stream is received into it a batch per
// transaction (deleted on the server only once on disk), and each output —
// stdout, a hook, the webhook, the desktop — reads it as a sink of its own:
// in order, at least once, retried on its own, a message it can never take
// set aside as a dead letter. A failing webhook holds back nothing else.

import { hostname } from "node:os";
import process from "node:process";
import type { RetryDelay } from "../lib/_retry.ts";
import type { Inbox, Retention, StoredMessage } from "../inbox/mod.ts";
import { runSink } from "../inbox/mod.ts";
import { decryptMessage } from "../mod.ts";
import type { Message, MessageStream } from "../mod.ts";
import { CliError } from "./_fail.ts";
import { HookFailed } from "./_hooks.ts";
import { OutputClosed } from "./_output.ts";
import { suggest } from "./_program.ts";
import { isRunning } from "./_status_file.ts";

/** One output, read from the inbox at its own pace. */
export interface Sink {
  /** Its name in the inbox (its position and dead letters are kept under it). */
  name: string;
  /** Hands the message on; resolves once it was taken. */
  deliver(message: Message, signal: AbortSignal): Promise<void>;
  /** Whether it takes a message that could not be decrypted (stdout does). */
  takesUndecryptable: boolean;
}

/** What `listen` gives the inbox's delivery. */
export interface InboxDelivery {
  inbox: Inbox;
  /** The inbox's file, for messages. */
  path: string;
  deviceId: string;
  stream: MessageStream;
  sinks: Sink[];
  /** Hears the size of each batch received (for /metrics). */
  received?(count: number): void;
  /** Whether the filters (--min-priority, --app, --backlog) let it through. */
  wanted(message: Message): boolean;
  retry: RetryDelay;
  maxAttempts: number;
  retention: Required<Retention>;
  /** Hands undecryptable messages to hooks as they came. */
  deliverUndecryptable: boolean;
  /**
   * The key given now: a message kept undecrypted (no key then, or another)
   * is decrypted with it when a sink takes it — a `retry` after the key was
   * set hands it over readable.
   */
  encryptionKey: string | undefined;
  /** Ends the sinks' work (the stream stopped, or the user stops). */
  handling: AbortController;
  tell(line: string): void;
  /** The status file's last error. */
  problem(text: string): void;
}

/** How often sinks look for a `retry` run by another process (ms). */
const REDRIVE_POLL = 10_000;

/** How often retention runs while receiving (ms). */
const PRUNE_EVERY = 60_000;

/**
 * Claims the inbox for this process: one receiver per inbox, or each would
 * take messages the other deletes on the server.
 */
export function claimInbox(inbox: Inbox, path: string): () => void {
  const me = { pid: process.pid, host: hostname(), since: Date.now() };
  const holder = inbox.claim(
    me,
    (other) => other.host !== me.host || isRunning(other.pid),
  );
  if (holder) {
    throw new CliError(
      `the inbox ${path} is in use by another listener (pid ${holder.pid} on ${holder.host}, since ${
        new Date(holder.since).toISOString()
      }): stop it, or give this one --inbox with another file`,
    );
  }
  return () => inbox.release(me);
}

/**
 * Receives until the stream stops, the sinks delivering meanwhile; resolves
 * (or rejects, as the stream does) once the sinks have stopped too.
 */
export async function deliverThroughInbox(d: InboxDelivery): Promise<void> {
  forgetStoppedSinks(d);
  prune(d);
  let lastPrune = Date.now();
  // A sink fails only when the inbox under it does (a full disk): the
  // listener stops with that error, as when receiving fails. Caught at once:
  // a rejection left for the `finally` would be an unhandled one meanwhile.
  let inboxFailed: { error: unknown } | undefined;
  const sinks = d.sinks.map((sink) =>
    runOne(d, sink).catch(async (error) => {
      inboxFailed ??= { error };
      await d.stream.close(); // the others stop with it (finally, below)
    })
  );
  try {
    // Accepted: on disk in one write before the server's delete; each
    // message is filed (and the sinks woken) once the stream moved on.
    await d.stream.forEachBatch((messages) => {
      d.inbox.accept(d.deviceId, messages);
      d.received?.(messages.length);
      if (Date.now() - lastPrune >= PRUNE_EVERY) {
        lastPrune = Date.now();
        prune(d);
      }
    });
  } finally {
    d.handling.abort();
    await Promise.all(sinks);
  }
  if (inboxFailed) throw inboxFailed.error;
}

/**
 * Forgets the sinks of earlier runs that this one does not run (a --notify
 * given then, not now), saying so: kept, each would hold every later
 * message past retention, and hand them all over if it ran again one day.
 */
function forgetStoppedSinks(d: InboxDelivery): void {
  const running = new Set(d.sinks.map((sink) => sink.name));
  for (const { name } of d.inbox.stats().sinks) {
    if (running.has(name)) continue;
    const { behind, dead } = d.inbox.forgetSink(name);
    d.tell(
      `the inbox forgot the output ${name}, not given this time (it had ${behind} message(s) to go and ${dead} set aside): given again, it starts with what arrives then`,
    );
  }
}

/** Applies retention, saying what it had to keep for a sink. */
function prune(d: InboxDelivery): void {
  const { held } = d.inbox.prune(d.retention);
  if (held > 0) {
    d.tell(
      `the inbox keeps ${held} message(s) past --keep/--keep-count: a hook has not taken them yet (history --failed shows the set-aside ones)`,
    );
  }
}

/** A failure no retry changes: set aside at once. */
function isPermanent(error: unknown): boolean {
  return (error instanceof HookFailed && error.final) ||
    error instanceof Undecryptable;
}

/** Whether the message's text is still encrypted. */
function isUnreadable(message: Message): boolean {
  return message.e2ee === "encrypted" || message.e2ee === "failed";
}

/** A message a hook cannot use: its text could not be decrypted. */
class Undecryptable extends Error {}

function runOne(d: InboxDelivery, sink: Sink): Promise<void> {
  const cursor = d.inbox.sink(sink.name);
  const deliver = async (stored: StoredMessage) => {
    let { message } = stored;
    // A re-driven message was asked for by name (`retry`): this run's
    // filters do not take it away again.
    if (!stored.redriven && !d.wanted(message)) return;
    if (isUnreadable(message) && d.encryptionKey !== undefined) {
      message = await decryptMessage(message, d.encryptionKey)
        .catch(() => message);
    }
    const unreadable = isUnreadable(message);
    if (unreadable && !sink.takesUndecryptable && !d.deliverUndecryptable) {
      throw new Undecryptable(
        `it is end-to-end encrypted and ${
          message.e2ee === "encrypted"
            ? "no key is set"
            : "the key does not decrypt it"
        } (pass --e2ee-key-file, or --deliver-undecryptable)`,
      );
    }
    try {
      await sink.deliver(message, d.handling.signal);
    } catch (error) {
      // The reader of stdout went away: the listener stops (exit 0), and
      // the line not written is printed again next time.
      if (error instanceof OutputClosed) {
        d.handling.abort();
        await d.stream.close();
      }
      throw error;
    }
  };
  return runSink(d.inbox, cursor, deliver, {
    signal: d.handling.signal,
    retryDelay: d.retry,
    maxAttempts: d.maxAttempts,
    isPermanent,
    poll: REDRIVE_POLL,
    onRetry: ({ message }, reason, delay) =>
      d.tell(
        `message ${message.id_str}: ${reason}; trying again in ${
          Math.ceil(delay / 1000)
        } s`,
      ),
    onDead: ({ message, seq }, reason) => {
      const line =
        `message ${message.id_str} (inbox ${seq}) set aside for ${sink.name}: ${reason}; see ${
          suggest("history --failed")
        }, and hand it over again with ${suggest(`retry ${seq}`)}`;
      d.tell(line);
      d.problem(line);
    },
  });
}
