// What the listener knows of itself, for /healthz, /metrics and the
// offline hook: the stream's state and since when, reconnects, messages
// received, each sink's deliveries and failures. One object, fed by the
// listener's status reports and its sinks.

import type { StreamStatus } from "../mod.ts";
import type { InboxStats } from "../inbox/mod.ts";

/** The answer of /healthz. */
export interface Health {
  healthy: boolean;
  state: string;
  /** Why it is not healthy, one line. */
  reason?: string;
  /** Seconds since the last frame on the socket, if one came. */
  lastFrameSeconds?: number;
}

/** Counts and states of one listener. */
export class ListenerState {
  state = "starting";
  /** When `state` began (ms). */
  since: number;
  /** When the stream last synced (ms). */
  syncedAt: number | undefined;
  reconnects = 0;
  received = 0;
  lastMessageAt: number | undefined;
  readonly delivered = new Map<string, number>();
  readonly failed = new Map<string, number>();
  readonly #now: () => number;
  readonly #listeners = new Set<(online: boolean) => void>();

  constructor(now: () => number = Date.now) {
    this.#now = now;
    this.since = now();
  }

  /** Takes one of the stream's status reports. */
  status(change: StreamStatus): void {
    const online = this.online;
    if (change.state === "reconnecting") this.reconnects++;
    if (change.state === "synced") {
      // A download went through — over REST, which may answer while the
      // socket is down: it says nothing of the link.
      this.syncedAt = this.#now();
      return;
    }
    if (change.state === "undecryptable" || change.state === "retrying") {
      return; // not a change of the link
    }
    const state = change.state;
    if (state !== this.state) {
      this.state = state;
      this.since = this.#now();
    }
    if (this.online !== online) {
      for (const listener of this.#listeners) listener(this.online);
    }
  }

  /** Connected (logged in, or synced since). */
  get online(): boolean {
    return this.state === "connected";
  }

  /** Hears each change between online and not. */
  onChange(listener: (online: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A batch was kept. */
  receivedBatch(count: number): void {
    this.received += count;
    if (count > 0) this.lastMessageAt = this.#now();
  }

  /** A sink took a message, or failed to. */
  sinkResult(sink: string, ok: boolean): void {
    const counts = ok ? this.delivered : this.failed;
    counts.set(sink, (counts.get(sink) ?? 0) + 1);
  }

  /**
   * Healthy when connected and synced or framed within `window` ms (two
   * keep-alive intervals): a socket that is open but silent is not.
   */
  health(lastFrameAt: number | undefined, window: number): Health {
    const now = this.#now();
    const heard = Math.max(lastFrameAt ?? 0, this.syncedAt ?? 0);
    const lastFrameSeconds = lastFrameAt === undefined
      ? undefined
      : (now - lastFrameAt) / 1000;
    const base = {
      state: this.state,
      ...(lastFrameSeconds === undefined ? {} : { lastFrameSeconds }),
    };
    if (!this.online) {
      return {
        healthy: false,
        ...base,
        reason: `${this.state} since ${new Date(this.since).toISOString()}`,
      };
    }
    if (now - heard > window) {
      return {
        healthy: false,
        ...base,
        reason: `nothing heard from Pushover for ${
          Math.round((now - heard) / 1000)
        } s`,
      };
    }
    return { healthy: true, ...base };
  }

  /** The Prometheus text exposition (version 0.0.4) of the counts. */
  metrics(lastFrameAt: number | undefined, inbox: InboxStats): string {
    const now = this.#now();
    const lines: string[] = [];
    const metric = (
      name: string,
      type: "counter" | "gauge",
      help: string,
      samples: [labels: Record<string, string>, value: number][],
    ) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) {
        const text = Object.entries(labels)
          .map(([key, v]) => `${key}="${escapeLabel(v)}"`).join(",");
        lines.push(`${name}${text ? `{${text}}` : ""} ${value}`);
      }
    };
    metric(
      "pushover_messages_received_total",
      "counter",
      "Messages received into the inbox since the start.",
      [[{}, this.received]],
    );
    const sinks = [
      ...new Set([
        ...this.delivered.keys(),
        ...this.failed.keys(),
        ...inbox.sinks.map((s) => s.name),
      ]),
    ];
    metric(
      "pushover_sink_delivered_total",
      "counter",
      "Messages each sink took since the start.",
      sinks.map((sink) => [{ sink }, this.delivered.get(sink) ?? 0]),
    );
    metric(
      "pushover_sink_failed_total",
      "counter",
      "Failed tries of each sink since the start.",
      sinks.map((sink) => [{ sink }, this.failed.get(sink) ?? 0]),
    );
    metric(
      "pushover_sink_dead_letters",
      "gauge",
      "Messages each sink set aside (history --failed).",
      inbox.sinks.map((s) => [{ sink: s.name }, s.dead]),
    );
    metric(
      "pushover_sink_behind",
      "gauge",
      "Messages each sink has still to take.",
      inbox.sinks.map((s) => [{ sink: s.name }, s.behind]),
    );
    metric(
      "pushover_reconnects_total",
      "counter",
      "Reconnects of the WebSocket since the start.",
      [[{}, this.reconnects]],
    );
    metric(
      "pushover_stream_state",
      "gauge",
      "1 for the stream's current state.",
      STATES.map((state) => [{ state }, state === this.state ? 1 : 0]),
    );
    if (lastFrameAt !== undefined) {
      metric(
        "pushover_last_frame_age_seconds",
        "gauge",
        "Seconds since the last frame on the socket.",
        [[{}, (now - lastFrameAt) / 1000]],
      );
    }
    if (this.lastMessageAt !== undefined) {
      metric(
        "pushover_last_message_age_seconds",
        "gauge",
        "Seconds since the last message arrived.",
        [[{}, (now - this.lastMessageAt) / 1000]],
      );
    }
    metric(
      "pushover_inbox_messages",
      "gauge",
      "Messages kept in the inbox.",
      [[{}, inbox.messages]],
    );
    return `${lines.join("\n")}\n`;
  }
}

/** The states the gauge reports, one label each. */
const STATES = [
  "starting",
  "connecting",
  "connected",
  "reconnecting",
  "stopped",
];

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')
    .replaceAll("\n", "\\n");
}
