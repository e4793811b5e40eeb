import { Backoff, requireDelay, type RetryDelay } from "./_retry.ts";
import { Connection, type StreamEvents } from "./_connection.ts";
import { Deleter } from "./_deleter.ts";
import { retryOrStop } from "./_failure.ts";
import { resolveOptions } from "./_http.ts";
import { compareIdStrings } from "./_parse_batch.ts";
import { checkSecureUrl } from "./_secure_url.ts";
import { describe, requireDevice } from "./_validate.ts";
import { sleep, Wakeup } from "./_wakeup.ts";
import { type PreparedDownload, prepareDownload } from "./download_messages.ts";
import { createDecryptor, decryptAll, type Decryptor } from "./e2ee.ts";
import type { DecryptionError, PushoverError } from "./errors.ts";
import type {
  MessageStream,
  StreamOptions,
  StreamStatus,
  WebSocketConstructor,
} from "./stream_types.ts";
import type { Device, DownloadOptions, Message } from "./types.ts";

const ACTION = "stream messages";
/** How long stopping may wait for a last delete before giving it up. */
const STOP_GRACE = 2_000;
/** Messages in a row that fail to verify before the key is called wrong. */
const KEY_MISMATCHES = 3;
const DEFAULT_WEBSOCKET_URL = "wss://client.pushover.net/push";
const DEFAULT_KEEP_ALIVE_TIMEOUT = 90_000;
const DEFAULT_RETRY_DELAY: RetryDelay = {
  min: 5_000,
  max: 60_000,
  resetAfter: 60_000,
};

/**
 * Streams the device's messages as they arrive, for `for await`: every
 * message exactly once per stream, in id order, across reconnects.
 *
 * It opens the WebSocket, and after every (re)connect and every `!` frame it
 * downloads what is queued — lazily, one batch at a time, when the loop asks
 * for more. Dropped links, keep-alive silence, `R` frames and passing REST
 * failures (no answer, timeout, 5xx, 408, 429 with `Retry-After`, an answer
 * that cannot be read) are retried with backoff, indefinitely: the delay
 * before attempt n is random in `[min, min(max, min·2ⁿ)]`, and the count
 * starts again only after `resetAfter` ms of working connection. `R` on a
 * link up for `resetAfter` reconnects at once; on a younger link it counts as
 * a failed attempt. After a suspend (a laptop's sleep, `SIGSTOP`) — noticed as
 * a 10 s timer firing more than 4 s late by the wall clock — the socket is
 * replaced and a download made at once. `onStatus` reports each step.
 *
 * **Deletion.** A message is deleted on the server only once it is handled.
 * With {@linkcode MessageStream.forEach} that is when the handler resolves:
 * a handler that throws stops the stream and leaves its message queued. With
 * `for await`, *leaving the loop counts as handled*: asking for the next
 * message, `break`, `return` — and an exception thrown in the loop body,
 * which `for await` turns into the same `return()`; to leave the held
 * message queued there, `await stream.close()` before leaving the loop.
 * Deletes are batched — one request through the highest id of each batch the
 * loop moved past, sent beside the next download, and within a long batch one
 * every 16 messages, at most one a second, so a crash re-delivers at most the
 * messages moved past since the last delete and those of the one on its way —
 * and are retried with backoff when the server fails passingly; a retry the
 * server refuses after the earlier attempt's answer was lost counts as done
 * (the attempt most likely went through), unless it refuses the secret.
 *
 * **Stopping.** `close()`, dispose, the `signal`, or a refusal stop the
 * stream. From the moment stopping begins, nothing more is handed out and
 * nothing more is marked handled: the message held then is *not* deleted and
 * comes again on the next start, as does everything after a crash. What the
 * loop moved past before is deleted; stopping waits at most 2 s for that.
 *
 * **Backlog.** `backlog: "skip"` drops from the first download the messages
 * queued (`queued_date`, else `date`, whole seconds) before the second the
 * stream started in, and deletes them unseen unless `autoDelete` is false; a
 * message queued in that second, and every later one, is delivered.
 *
 * **Ending.** `close()`, `break` and dispose end the loop quietly; an abort
 * through `signal` makes the waiting loop throw `signal.reason`. An `E` frame
 * or an answer rejecting the secret or device — on any HTTP status, a 200
 * with `status: 0` included — throws {@linkcode LoginRequiredError}; an `A`
 * frame (another client logged in as this device) throws
 * {@linkcode SessionReplacedError}; any other refusal (a 4xx other than 408
 * and 429, or `status: 0`) throws its {@linkcode PushoverError}. None of them
 * reconnects.
 *
 * @param device The registered device.
 * @param options Endpoints, timing, deletion and backlog behaviour.
 * @returns The stream: iterate it once, with one consumer.
 * @throws {TypeError} An option is malformed, or there is no WebSocket (before any I/O).
 * @throws {RangeError} A timing option is out of range (before any I/O).
 *
 * @example Show every notification until Ctrl-C; one that fails to show stays queued
 * ```ts
 * import { streamMessages } from "@openpush/pushover-open-client";
 * import type { Device, Message } from "@openpush/pushover-open-client";
 *
 * async function listen(
 *   device: Device,
 *   show: (message: Message) => Promise<void>,
 *   signal: AbortSignal,
 * ): Promise<void> {
 *   const stream = streamMessages(device, {
 *     signal,
 *     onStatus: (status) => console.error(status.state),
 *   });
 *   try {
 *     await stream.forEach(show); // deleted once show() resolves
 *   } catch (error) {
 *     if (!signal.aborted) throw error; // show()'s error, LoginRequiredError …
 *   }
 * }
 * ```
 *
 * @example The same with `for await`: leaving the loop counts as handled
 * ```ts
 * import { streamMessages } from "@openpush/pushover-open-client";
 * import type { Device } from "@openpush/pushover-open-client";
 *
 * async function print(device: Device, signal: AbortSignal): Promise<void> {
 *   for await (const message of streamMessages(device, { signal })) {
 *     console.log(`${message.title ?? message.app}: ${message.message}`);
 *   }
 * }
 * ```
 */
export function streamMessages(
  device: Device,
  options: StreamOptions = {},
): MessageStream {
  return new Stream(device, options);
}

/**
 * The settings of one stream, checked once; the connection and the deleter
 * read theirs from it.
 */
interface Settings {
  device: Device;
  request: DownloadOptions;
  /** The download, checked and built once: it runs on every `!`. */
  download: PreparedDownload;
  websocketUrl: string;
  WebSocket: WebSocketConstructor;
  keepAliveTimeout: number;
  connectTimeout: number;
  retryDelay: RetryDelay;
  autoDelete: boolean;
  backlog: "deliver" | "skip";
  onStatus: (status: StreamStatus) => void;
  signal: AbortSignal | undefined;
  decryptor: Decryptor | undefined;
}

function checkOptions(device: Device, options: StreamOptions): Settings {
  // A copy of the device's two fields: what the stream and its parts send.
  const checked = requireDevice(device, ACTION);
  const {
    signal,
    websocketUrl = DEFAULT_WEBSOCKET_URL,
    keepAliveTimeout = DEFAULT_KEEP_ALIVE_TIMEOUT,
    autoDelete = true,
    backlog = "deliver",
    onStatus = () => {},
  } = options;
  const { timeout } = resolveOptions(ACTION, options);
  const WebSocket = options.WebSocket ??
    (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof WebSocket !== "function") {
    throw new TypeError(
      `Cannot ${ACTION}: this runtime has no global WebSocket, pass one as the 'WebSocket' option`,
    );
  }
  requireDelay(keepAliveTimeout, "keepAliveTimeout", ACTION);
  const retryDelay = checkRetryDelay(options.retryDelay);
  if (backlog !== "deliver" && backlog !== "skip") {
    throw new TypeError(
      `Cannot ${ACTION}: 'backlog' must be "deliver" or "skip": current value is ${
        JSON.stringify(backlog)
      }`,
    );
  }
  if (typeof onStatus !== "function") {
    throw new TypeError(`Cannot ${ACTION}: 'onStatus' must be a function`);
  }
  const decryptor = options.encryptionKey === undefined
    ? undefined
    : createDecryptor(options.encryptionKey, ACTION, "encryptionKey");
  // The user's signal stops the whole stream, not single requests; the
  // stream decrypts itself, to report what fails.
  const request = { ...options, signal: undefined, encryptionKey: undefined };
  return {
    device: checked,
    request,
    download: prepareDownload(checked, request),
    websocketUrl: checkSecureUrl(websocketUrl, "websocketUrl", ACTION, {
      secure: "wss:",
      plain: "ws:",
    }),
    WebSocket,
    keepAliveTimeout,
    // The handshake gets what a REST request gets, and never more than the
    // silence that would count an open link as dead.
    connectTimeout: Math.min(timeout, keepAliveTimeout),
    retryDelay,
    autoDelete: autoDelete !== false,
    backlog,
    onStatus,
    signal,
    decryptor,
  };
}

/** A handler given to forEach or forEachBatch must be a function. */
function checkHandler(method: string, what: string, handler: unknown): void {
  if (typeof handler !== "function") {
    throw new TypeError(
      `Cannot ${ACTION}: ${method}() takes a function, called with ${what}: current value is ${
        describe(handler)
      }`,
    );
  }
}

/** Each bound may be left out (undefined): it then takes its default. */
function checkRetryDelay(given: StreamOptions["retryDelay"]): RetryDelay {
  if (given !== undefined && (typeof given !== "object" || given === null)) {
    throw new TypeError(
      `Cannot ${ACTION}: 'retryDelay' must be an object such as { min: 5000, max: 60000 }: current value is ${
        describe(given)
      }`,
    );
  }
  const {
    min = DEFAULT_RETRY_DELAY.min,
    max = DEFAULT_RETRY_DELAY.max,
    resetAfter = DEFAULT_RETRY_DELAY.resetAfter,
  } = given ?? {};
  requireDelay(min, "retryDelay.min", ACTION);
  requireDelay(max, "retryDelay.max", ACTION);
  if (max < min) {
    throw new RangeError(
      `Cannot ${ACTION}: 'retryDelay.max' must not be below 'retryDelay.min': current values are ${min} and ${max}`,
    );
  }
  requireDelay(resetAfter, "retryDelay.resetAfter", ACTION);
  return { min, max, resetAfter };
}

type StopReason = "closed" | "ended" | "aborted" | "failed";

/**
 * Where the stream is in its life; the one value every step consults.
 * `stopping` holds what the loop is to learn: the error to throw once (a
 * refusal, or the signal's reason), then done.
 */
type Phase =
  | { name: "idle" }
  | { name: "running"; connection: Connection }
  | {
    name: "stopping";
    error: { value: unknown } | undefined;
    released: Promise<void>;
  };

class Stream implements MessageStream {
  readonly #settings: Settings;
  readonly #deleter: Deleter;
  readonly #wakeup = new Wakeup();
  readonly #syncBackoff: Backoff;
  /** Aborted when stopping begins: cuts downloads and backoff sleeps short. */
  readonly #stopSignal = new AbortController();
  #phase: Phase = { name: "idle" };
  #iterated = false;
  #queue: Promise<unknown> = Promise.resolve();

  /** The batch being handed out; only one download's worth is ever held. */
  #batch: Message[] = [];
  #index = 0;
  /** The message the loop holds now (yielded, not yet moved past). */
  #inHand: Message | undefined;
  /** Highest id yielded or skipped: nothing at or below it is yielded again. */
  #seenId: string | undefined;

  /** A `!`, a (re)connect or a failed download asks for a download. */
  #syncWanted = false;
  #firstSync = true;
  /** Unix seconds of the first next(): what was queued before is backlog. */
  #startedAt = 0;
  /** Messages in a row whose HMAC did not verify with the key. */
  #mismatches = 0;
  /** The listener on the caller's signal: its reason ends the stream. */
  #onAbort = (event: Event) =>
    void this.#stop("aborted", (event.target as AbortSignal).reason);
  /** What the connection and the deleter tell the stream. */
  readonly #events: StreamEvents = {
    // However many `!` arrive meanwhile, they collapse into one more sync.
    sync: () => {
      this.#syncWanted = true;
      this.#wakeup.wake();
    },
    fatal: (error) => void this.#stop("failed", error),
    status: (status) => this.#report(status),
  };

  constructor(device: Device, options: StreamOptions) {
    const settings = checkOptions(device, options);
    this.#settings = settings;
    this.#syncBackoff = new Backoff(settings.retryDelay);
    this.#deleter = new Deleter(settings, this.#events);
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    this.#claim();
    return {
      next: () => this.#serialised(() => this.#next()),
      return: async () => {
        this.#moveOn();
        await this.#stop("ended");
        return { done: true, value: undefined };
      },
    };
  }

  async forEach(handler: (message: Message) => unknown): Promise<void> {
    checkHandler("forEach", "each message", handler);
    for await (const message of this) {
      try {
        await handler(message);
      } catch (error) {
        // Stopping first: leaving the loop then does not mark the message
        // in hand handled.
        await this.close();
        throw error;
      }
    }
  }

  async forEachBatch(
    handler: (messages: Message[]) => unknown,
  ): Promise<void> {
    checkHandler("forEachBatch", "each batch", handler);
    this.#claim();
    const next = () => this.#serialised(() => this.#nextBatch());
    for (let batch = await next(); batch; batch = await next()) {
      try {
        await handler(batch);
      } catch (error) {
        // Stopping first: the batch in hand is then not marked handled.
        await this.close();
        throw error;
      }
    }
  }

  close(): Promise<void> {
    return this.#stop("closed");
  }

  /** One consumer per stream: a second is a mistake worth a clear error. */
  #claim(): void {
    if (this.#iterated) {
      throw new TypeError(
        `Cannot ${ACTION}: a MessageStream has one consumer and is iterated already; call streamMessages() again for another`,
      );
    }
    this.#iterated = true;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  get lastFrameAt(): number | undefined {
    return this.#phase.name === "running"
      ? this.#phase.connection.lastFrameAt
      : undefined;
  }

  /** Calls to next() run one after another, as for-await makes them. */
  #serialised<T>(step: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(step);
    this.#queue = result.catch(() => {});
    return result;
  }

  async #next(): Promise<IteratorResult<Message>> {
    if (await this.#ready()) {
      this.#inHand = this.#batch[this.#index++];
      return { done: false, value: this.#inHand };
    }
    return await this.#finish();
  }

  /** The rest of the batch at once; undefined once the stream stopped. */
  async #nextBatch(): Promise<Message[] | undefined> {
    if (await this.#ready()) {
      // The whole batch: a batch consumer is the stream's only one, so none
      // of it was handed out before (the batch is dropped, not reused).
      const rest = this.#batch;
      this.#index = rest.length;
      // Moving on from the last marks the whole batch handled: the delete
      // goes through the highest id.
      this.#inHand = rest[rest.length - 1];
      return rest;
    }
    await this.#finish();
    return undefined;
  }

  /**
   * Marks what the consumer held handled, then waits until the batch has a
   * message to hand out (downloading as `!`s ask); false once stopped.
   */
  async #ready(): Promise<boolean> {
    if (this.#phase.name === "idle") this.#start();
    this.#moveOn();
    while (this.#phase.name === "running") {
      if (this.#index < this.#batch.length) return true;
      this.#batch = [];
      this.#index = 0;
      // The loop moved past the whole batch: its delete goes out now, right
      // after the next download has started (never holding it up).
      if (this.#syncWanted) {
        const synced = this.#sync();
        this.#deleter.flush();
        await synced;
        continue;
      }
      this.#deleter.flush();
      await this.#wakeup.wait();
    }
    return false;
  }

  #start(): void {
    const { signal } = this.#settings;
    if (signal?.aborted) {
      void this.#stop("aborted", signal.reason);
      return;
    }
    signal?.addEventListener("abort", this.#onAbort);
    this.#startedAt = Math.floor(Date.now() / 1000);
    const connection = new Connection(this.#settings, this.#events);
    this.#phase = { name: "running", connection };
    connection.start();
  }

  /**
   * The loop asked for more: the message it held is handled — unless the
   * stream is stopping, when the held message must come again next start.
   */
  #moveOn(): void {
    if (this.#inHand && this.#phase.name === "running") {
      this.#deleter.handled(this.#inHand.id_str);
    }
    this.#inHand = undefined;
  }

  /** Downloads the queue and keeps what this stream has not handed out yet. */
  async #sync(): Promise<void> {
    this.#syncWanted = false;
    const { download, backlog } = this.#settings;
    try {
      const { messages, user } = await download.send(this.#stopSignal.signal);
      this.#syncBackoff.succeeded();
      if (this.#phase.name !== "running") return;
      this.#report({ state: "synced", queued: messages.length, user });
      // The batch is ascending: keeping only ids above the last one kept
      // drops what was handed out before, and repeats within the batch.
      const fresh: Message[] = [];
      let last = this.#seenId;
      for (const message of messages) {
        if (last === undefined || compareIdStrings(message.id_str, last) > 0) {
          fresh.push(message);
          last = message.id_str;
        }
      }
      this.#seenId = last;
      const { decryptor } = this.#settings;
      if (!decryptor) {
        // The download marked what is encrypted; nothing more to do.
        this.#batch = fresh;
      } else {
        this.#batch = await decryptAll(
          fresh,
          decryptor,
          (message, error) => this.#undecryptable(message, error),
        );
        if (this.#phase.name !== "running") return;
      }
      if (this.#firstSync && backlog === "skip") {
        this.#skipBacklog();
        this.#deleter.flush();
      }
      this.#firstSync = false;
    } catch (thrown) {
      if (this.#phase.name !== "running") return;
      const { retry, error } = retryOrStop(thrown, ACTION);
      if (!retry) {
        void this.#stop("failed", error);
        return;
      }
      this.#syncWanted = true;
      await this.#backOff(error);
    }
  }

  /**
   * Reports a message that cannot be decrypted, once (it is handed out once).
   * A run of messages whose HMAC does not verify means the key is wrong.
   */
  #undecryptable(message: Message, error: DecryptionError): void {
    const mismatch = error.reason === "mac";
    this.#mismatches = mismatch ? this.#mismatches + 1 : 0;
    this.#report({
      state: "undecryptable",
      id: message.id_str,
      field: error.field,
      reason: this.#mismatches >= KEY_MISMATCHES
        ? `the end-to-end key does not match the sender's: ${this.#mismatches} messages in a row did not verify; check encryptionKey`
        : error.message,
    });
  }

  /**
   * Drops from the first batch what was queued before the second the stream
   * started in, and lets it be deleted unseen: a notifier must not replay a
   * flood of old alerts. Queue times are whole seconds, so a message queued
   * in the start's own second is delivered: when in doubt, deliver.
   */
  #skipBacklog(): void {
    const isOld = (m: Message) => (m.queued_date ?? m.date) < this.#startedAt;
    let old = 0;
    while (old < this.#batch.length && isOld(this.#batch[old])) old++;
    if (old > 0) this.#deleter.handled(this.#batch[old - 1].id_str);
    this.#batch = this.#batch.slice(old);
  }

  /** Waits before retrying a sync; cut short when stopping begins. */
  async #backOff(error: PushoverError): Promise<void> {
    const { attempt, delay } = this.#syncBackoff.failed(error.retryAfter);
    this.#report({ state: "retrying", attempt, delay, reason: error.message });
    await sleep(delay, this.#stopSignal.signal);
  }

  /**
   * The one way the stream stops, whoever stops it: from then on nothing is
   * handed out or marked handled; the deleter gets its last word.
   */
  #stop(reason: StopReason, error?: unknown): Promise<void> {
    const phase = this.#phase;
    if (phase.name === "stopping") return phase.released;
    phase.name === "running" && phase.connection.stop();
    this.#stopSignal.abort();
    this.#settings.download.dispose();
    this.#settings.signal?.removeEventListener("abort", this.#onAbort);
    const thrown = reason === "failed" || reason === "aborted";
    const released = (async () => {
      await this.#deleter.stop(STOP_GRACE);
      this.#report({
        state: "stopped",
        reason,
        error: reason === "failed" ? error : undefined,
      });
    })();
    this.#phase = {
      name: "stopping",
      error: thrown ? { value: error } : undefined,
      released,
    };
    this.#wakeup.wake();
    return released;
  }

  /** What next() answers once stopped: the reason it stopped once, then done. */
  async #finish(): Promise<IteratorResult<Message>> {
    const phase = this.#phase as Extract<Phase, { name: "stopping" }>;
    await phase.released;
    const error = phase.error;
    phase.error = undefined;
    if (error) throw error.value;
    return { done: true, value: undefined };
  }

  #report(status: StreamStatus): void {
    try {
      const result: unknown = this.#settings.onStatus(status);
      // An async callback's rejection must not become an unhandled one.
      Promise.resolve(result).catch(() => {});
    } catch {
      // A faulty status callback must not break delivery.
    }
  }
}
