// One Pushover device, owned by one Durable Object (`idFromName(deviceId)`):
// it runs streamMessages over an outbound WebSocket, commits each batch to
// an inbox on the object's own SQLite storage before the server's delete,
// and hands messages on to its sinks (a webhook, a Queue), each from its own
// cursor. An alarm is the watchdog: after an eviction, a crash or a deploy
// the object is made again by its next event, and the alarm is that event
// within WATCHDOG_SECONDS (60 s at most).

import { deleteThrough, downloadMessages, streamMessages } from "../mod.ts";
import type { Device, Message, MessageStream, StreamStatus } from "../mod.ts";
import { LoginRequiredError, SessionReplacedError } from "../lib/errors.ts";
import { Inbox, type InboxStats } from "../inbox/store.ts";
import { durableObjectDriver } from "./sql_driver.ts";
import { PermanentFailure, queueSink, webhookSink } from "./_sinks.ts";
import type { StoredMessage } from "../inbox/store.ts";
import type { DurableObjectState, QueueProducer } from "./_workers.ts";

/** The bindings and variables the object reads. */
export interface DeviceEnv {
  /** A Queue's producer binding: the `queue` sink sends there. */
  QUEUE?: QueueProducer;
  /** The watchdog's period, seconds (default and ceiling 60). */
  WATCHDOG_SECONDS?: string;
  /** How long the webhook has to answer, seconds (default 60). */
  WEBHOOK_TIMEOUT_SECONDS?: string;
  /** Pushover's REST base; the fake's in tests. */
  PUSHOVER_API_URL?: string;
  /** Pushover's WebSocket; the fake's in tests. */
  PUSHOVER_WEBSOCKET_URL?: string;
}

/** What the admin API gives a device; kept in the object's storage. */
export interface DeviceSettings {
  /** The Pushover device: its id and secret (never answered back). */
  device: Device;
  /** A name for people, e.g. the account's owner. */
  name?: string;
  /** POST each message to this URL. */
  webhook?: string;
  /** Send each message to the QUEUE binding. */
  queue?: boolean;
  /**
   * `socket` (default): a WebSocket, messages in about a second; the object
   * stays in memory. `poll`: no socket, a download every `pollSeconds` (≥ 60)
   * from the alarm; the object sleeps in between.
   */
  mode?: "socket" | "poll";
  /** Seconds between downloads in `poll` mode (60 or more; 60 by default). */
  pollSeconds?: number;
  /**
   * The end-to-end key (64 hexadecimal characters): messages are kept
   * decrypted where it decrypts them. Kept in the object's storage, as the
   * device's secret is; never answered back.
   */
  encryptionKey?: string;
}

/** What `GET /status` answers: never the secret. */
export interface DeviceStatus {
  /** The Pushover device id. */
  deviceId: string;
  /** The name given when it was added. */
  name?: string;
  /** How it receives. */
  mode: "socket" | "poll";
  /** Whether it has an end-to-end key (the key is never answered back). */
  encrypted: boolean;
  /** Its sinks by name: webhook, queue. */
  sinks: string[];
  /** The stream's last state (connecting, synced, reconnecting …). */
  state: string;
  /** When that state began (ISO time). */
  since: string;
  /** The last problem, one line; never a secret. */
  lastError?: string;
  /** Why it stopped for good (refused, taken over), until set up again. */
  stopped?: string;
  /** The inbox's counts: messages, each sink's position and dead letters. */
  inbox: InboxStats;
}

/** Tries of one message per sink before it is set aside. */
const SINK_ATTEMPTS = 20;
/** Retention in the object: what a sink has not taken is held either way. */
const RETENTION = { maxAge: 30 * 86_400_000, maxCount: 10_000 };
/** How often retention is applied at most (ms). */
const PRUNE_EVERY = 3_600_000;

/** The Durable Object class: bind it as `DEVICE` (see wrangler.jsonc). */
export class PushoverDevice {
  readonly #state: DurableObjectState;
  readonly #env: DeviceEnv;
  readonly #now: () => number;
  #inbox: Inbox;
  #settings: DeviceSettings | undefined;
  /** When retention was last applied (ms, by `#now`); kept in storage. */
  #prunedAt = 0;
  /** The stream and sinks running in this instance, if any. */
  #running: { stop: AbortController; done: Promise<void> } | undefined;
  #status: { state: string; since: string; lastError?: string } = {
    state: "idle",
    since: new Date().toISOString(),
  };

  /**
   * Made by the runtime for the object's first event after a start.
   *
   * @param options.now The clock messages are kept and pruned by (ms); a
   *   test's subclass moves it. The runtime gives no options.
   */
  constructor(
    state: DurableObjectState,
    env: DeviceEnv,
    options: { now?: () => number } = {},
  ) {
    this.#state = state;
    this.#env = env;
    this.#now = options.now ?? Date.now;
    this.#inbox = this.#openInbox();
    void state.blockConcurrencyWhile(async () => {
      this.#settings = await state.storage.get<DeviceSettings>("settings");
      this.#prunedAt = await state.storage.get<number>("prunedAt") ?? 0;
    });
  }

  /** The inbox on the object's storage; makes its tables if missing. */
  #openInbox(): Inbox {
    return new Inbox(durableObjectDriver(this.#state.storage), this.#now);
  }

  /** The admin API's calls, from the Worker. */
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const route = `${request.method} ${url.pathname}`;
    if (route === "PUT /settings") {
      return this.#setUp(await request.json() as DeviceSettings);
    }
    if (!this.#settings) {
      return Response.json({ error: "no such device here" }, { status: 404 });
    }
    switch (route) {
      case "GET /status":
        this.#ensureRunning();
        return Response.json(await this.#statusReport());
      case "GET /history":
        return Response.json(this.#history(url.searchParams));
      case "POST /retry": {
        const sink = url.searchParams.get("sink") ?? "";
        const retried = this.#sinkNames().includes(sink)
          ? this.#inbox.retry(sink)
          : 0;
        this.#held.delete(sink); // asked for now: not left to the alarm
        this.#state.waitUntil(this.#drain());
        return Response.json({ retried });
      }
      case "POST /restart":
        // The object is made again by its next event: what an eviction or
        // a deploy does. Answered first (an abort fails the requests in
        // flight, this one too); the alarm brings it back.
        setTimeout(() => this.#state.abort("restart"), 10);
        return Response.json({ restarting: true });
      case "DELETE /settings":
        await this.#stop();
        await this.#state.storage.deleteAlarm();
        this.#inbox.close();
        await this.#state.storage.deleteAll();
        // deleteAll drops the inbox's tables too: a device added again
        // while this instance lives needs them made afresh.
        this.#inbox = this.#openInbox();
        this.#settings = undefined;
        this.#prunedAt = 0;
        this.#held.clear();
        return Response.json({ removed: true });
    }
    return Response.json({ error: "no such route" }, { status: 404 });
  }

  /**
   * The watchdog: starts what should run, then sets the next alarm. It
   * also paces the sinks: a held one is tried again here, once an alarm.
   */
  async alarm(): Promise<void> {
    if (!this.#settings) return;
    if (this.#settings.mode === "poll") await this.#pollOnce();
    else this.#ensureRunning();
    await this.#armWatchdog();
    this.#pruneIfDue(); // a quiet device too
    this.#held.clear();
    await this.#drain();
  }

  async #setUp(settings: DeviceSettings): Promise<Response> {
    await this.#stop();
    const kept = { ...settings };
    await this.#state.storage.put("settings", kept);
    await this.#state.storage.delete("stopped");
    this.#settings = kept;
    this.#forgetDroppedSinks(kept);
    this.#held.clear(); // a new webhook URL, say: worth a try now
    if (settings.mode === "poll") await this.#pollOnce();
    else this.#ensureRunning();
    await this.#armWatchdog();
    this.#state.waitUntil(this.#drain());
    return Response.json(await this.#statusReport(), { status: 201 });
  }

  async #armWatchdog(): Promise<void> {
    const poll = this.#settings?.mode === "poll";
    const seconds = poll
      ? Math.max(60, this.#settings?.pollSeconds ?? 60)
      : Math.min(60, Number(this.#env.WATCHDOG_SECONDS ?? 60) || 60);
    await this.#state.storage.setAlarm(Date.now() + seconds * 1000);
  }

  /** Starts the stream and the sinks unless they run or the device stopped. */
  #ensureRunning(): void {
    const settings = this.#settings;
    if (!settings || settings.mode === "poll" || this.#running) return;
    void this.#state.storage.get<string>("stopped").then((stopped) => {
      if (stopped === undefined && !this.#running) this.#start(settings);
    });
  }

  #start(settings: DeviceSettings): void {
    const stop = new AbortController();
    const stream = streamMessages(settings.device, {
      ...this.#urls(),
      ...this.#key(),
      signal: stop.signal,
      onStatus: (change) => this.#onStatus(change),
    });
    const done = this.#receive(stream, settings.device)
      .catch((error) => this.#failed(error))
      .finally(() => {
        stop.abort();
        if (this.#running?.stop === stop) this.#running = undefined;
      });
    this.#running = { stop, done };
  }

  async #receive(stream: MessageStream, device: Device): Promise<void> {
    await stream.forEachBatch((messages) => {
      this.#keep(device.deviceId, messages);
      this.#inbox.indexSoon();
      // Committed: the sinks go on from the inbox, beside the stream.
      this.#state.waitUntil(this.#drain());
    });
  }

  /** Commits a batch; retention is looked at on each (hourly at most). */
  #keep(deviceId: string, messages: Message[]): void {
    this.#inbox.add(deviceId, messages);
    this.#pruneIfDue();
  }

  /**
   * Applies retention if an hour passed since it last was. By time, not by
   * batches counted: a quiet device prunes too, and an object made again
   * (each alarm, in poll mode) does not prune each time.
   */
  #pruneIfDue(): void {
    const now = this.#now();
    if (now - this.#prunedAt < PRUNE_EVERY) return;
    this.#prunedAt = now;
    this.#inbox.prune(RETENTION);
    this.#state.waitUntil(this.#state.storage.put("prunedAt", now));
  }

  /**
   * Forgets the inbox's sinks that `settings` no longer ask for: kept, one
   * would hold every later message past retention, and hand them all over
   * if it were asked for again.
   */
  #forgetDroppedSinks(settings: DeviceSettings): void {
    const asked = [
      ...(settings.webhook ? ["webhook"] : []),
      ...(settings.queue ? ["queue"] : []),
    ];
    for (const { name } of this.#inbox.stats().sinks) {
      if (!asked.includes(name)) this.#inbox.forgetSink(name);
    }
  }

  /** One download, kept, then deleted on the server (poll mode). */
  async #pollOnce(): Promise<void> {
    const device = this.#settings!.device;
    try {
      const { messages } = await downloadMessages(device, {
        ...this.#urls(),
        ...this.#key(),
      });
      if (messages.length > 0) {
        this.#keep(device.deviceId, messages);
        this.#inbox.index();
        await deleteThrough(device, messages.at(-1)!, this.#urls());
      }
      this.#status = { state: "polled", since: new Date().toISOString() };
    } catch (error) {
      this.#status = {
        state: "failing",
        since: new Date().toISOString(),
        lastError: (error as Error).message,
      };
      return;
    }
  }

  #sinkNames(): string[] {
    return [...this.#deliverers().keys()];
  }

  /** Each sink's deliverer by its name in the inbox. */
  #deliverers(): Map<string, (stored: StoredMessage) => Promise<void>> {
    const settings = this.#settings;
    const deliverers = new Map<string, (s: StoredMessage) => Promise<void>>();
    if (settings?.webhook) {
      deliverers.set(
        "webhook",
        webhookSink(settings.webhook, this.#webhookTimeout()),
      );
    }
    if (settings?.queue && this.#env.QUEUE) {
      deliverers.set("queue", queueSink(this.#env.QUEUE));
    }
    return deliverers;
  }

  /** WEBHOOK_TIMEOUT_SECONDS in ms: 60 s unless a number above 0. */
  #webhookTimeout(): number {
    const seconds = Number(this.#env.WEBHOOK_TIMEOUT_SECONDS);
    return (seconds > 0 ? seconds : 60) * 1000;
  }

  /** Sinks draining now: a second call while one runs has nothing to add. */
  readonly #draining = new Set<string>();
  /**
   * Sinks whose first message failed: left to the next alarm, so that a
   * burst of arrivals does not use up its tries in a second (20 tries are
   * some 20 alarms). In memory: an object made again tries once more.
   */
  readonly #held = new Set<string>();

  /** Hands each sink what it has not taken, in order, until one fails. */
  async #drain(): Promise<void> {
    await Promise.all(
      [...this.#deliverers()].map(([name, deliver]) =>
        this.#drainSink(name, deliver)
      ),
    );
  }

  async #drainSink(
    name: string,
    deliver: (stored: StoredMessage) => Promise<void>,
  ): Promise<void> {
    // The running drain reads the cursor again after each message: it
    // takes what was added meanwhile too.
    if (this.#draining.has(name) || this.#held.has(name)) return;
    this.#draining.add(name);
    try {
      const cursor = this.#inbox.sink(name, "beginning");
      for (let [stored] = cursor.next(1); stored; [stored] = cursor.next(1)) {
        try {
          await deliver(stored);
          cursor.done(stored.seq);
        } catch (error) {
          const reason = (error as Error).message;
          const outcome = cursor.failed(stored.seq, reason, {
            permanent: error instanceof PermanentFailure,
            maxAttempts: SINK_ATTEMPTS,
          });
          this.#problem(
            outcome === "dead"
              ? `message ${stored.message.id_str} set aside for ${name}: ${reason}`
              : `${name}: ${reason}; tried again by the next alarm`,
          );
          if (outcome === "retry") {
            this.#held.add(name);
            return;
          }
        }
      }
    } finally {
      this.#draining.delete(name);
    }
  }

  #onStatus(change: StreamStatus): void {
    if (change.state === "undecryptable") return;
    const lastError = "reason" in change && typeof change.reason === "string" &&
        change.state !== "stopped"
      ? change.reason
      : this.#status.lastError;
    this.#status = {
      state: change.state,
      since: new Date().toISOString(),
      ...(lastError ? { lastError } : {}),
    };
  }

  /** The stream failed: refused or taken over stops for good, else retried. */
  async #failed(error: unknown): Promise<void> {
    const why = (error as Error)?.message ?? String(error);
    this.#problem(why);
    if (
      error instanceof LoginRequiredError ||
      error instanceof SessionReplacedError
    ) {
      await this.#state.storage.put("stopped", why);
    }
    // Anything else: the watchdog starts it again.
  }

  #problem(text: string): void {
    this.#status = { ...this.#status, lastError: text };
  }

  async #stop(): Promise<void> {
    const running = this.#running;
    if (!running) return;
    running.stop.abort();
    await running.done;
  }

  #key(): { encryptionKey?: string } {
    const key = this.#settings?.encryptionKey;
    return key ? { encryptionKey: key } : {};
  }

  #urls(): { apiUrl?: string; websocketUrl?: string } {
    return {
      ...(this.#env.PUSHOVER_API_URL
        ? { apiUrl: this.#env.PUSHOVER_API_URL }
        : {}),
      ...(this.#env.PUSHOVER_WEBSOCKET_URL
        ? { websocketUrl: this.#env.PUSHOVER_WEBSOCKET_URL }
        : {}),
    };
  }

  async #statusReport(): Promise<DeviceStatus> {
    const settings = this.#settings!;
    const stopped = await this.#state.storage.get<string>("stopped");
    return {
      deviceId: settings.device.deviceId,
      ...(settings.name ? { name: settings.name } : {}),
      mode: settings.mode ?? "socket",
      encrypted: settings.encryptionKey !== undefined,
      sinks: this.#sinkNames(),
      ...this.#status,
      ...(stopped ? { state: "stopped", stopped } : {}),
      inbox: this.#inbox.stats(),
    };
  }

  #history(params: URLSearchParams) {
    const number = (name: string) => {
      const value = params.get(name);
      return value === null || !/^-?\d+$/.test(value)
        ? undefined
        : Number(value);
    };
    // 1 to 500: SQLite reads a negative LIMIT as none at all.
    const limit = Math.min(500, Math.max(1, number("limit") ?? 100));
    const afterSeq = number("after");
    const list = this.#inbox.history({
      text: params.get("q") ?? undefined,
      app: params.get("app") ?? undefined,
      minPriority: number("min_priority"),
      afterSeq,
      beforeSeq: number("before"),
      limit,
      // Paging on from a seq reads what follows it, not the newest.
      ...(afterSeq === undefined ? {} : { order: "oldest" as const }),
    });
    return {
      messages: list.map((stored) => ({
        seq: stored.seq,
        receivedAt: new Date(stored.receivedAt).toISOString(),
        message: stored.message,
      })),
      deadLetters: this.#sinkNames().flatMap((sink) =>
        this.#inbox.deadLetters(sink)
      ),
    };
  }
}
