import { backoffDelay, MAX_TIMER, type RetryDelay } from "./_backoff.ts";
import { Connection } from "./_connection.ts";
import { Deleter } from "./_deleter.ts";
import { isTransient, resolveOptions } from "./_http.ts";
import { compareIdStrings } from "./_parse_batch.ts";
import { checkSecureUrl } from "./_secure_url.ts";
import { requireDevice } from "./_validate.ts";
import { sleep, Wakeup } from "./_wakeup.ts";
import { downloadMessages } from "./download_messages.ts";
import type { PushoverError } from "./errors.ts";
import type {
  MessageStream,
  StreamOptions,
  StreamStatus,
  WebSocketConstructor,
} from "./stream_types.ts";
import type { Device, Message, RequestOptions } from "./types.ts";

const ACTION = "stream messages";
/** How long stopping may wait for a last delete before giving it up. */
const STOP_GRACE = 2_000;
const DEFAULT_WEBSOCKET_URL = "wss://client.pushover.net/push";
const DEFAULTS = {
  keepAliveTimeout: 90_000,
  retryDelay: { min: 5_000, max: 60_000, resetAfter: 60_000 },
};

/**
 * Streams the device's messages as they arrive, for `for await`: every
 * message exactly once per stream, in id order, across reconnects.
 *
 * It opens the WebSocket, and after every (re)connect and every `!` frame it
 * downloads what is queued — lazily, one batch at a time, when the loop asks
 * for more. Dropped links, keep-alive silence, `R` frames and passing REST
 * failures (network, timeout, 5xx, 429 with `Retry-After`) are retried with
 * backoff, indefinitely; `onStatus` reports each step.
 *
 * **Deletion.** A message is deleted on the server only once the loop has
 * moved past it: asked for the next one, or ended the loop with `break`,
 * `return` — or an exception thrown in the loop body, which `for await` turns
 * into the same `return()`. So the message being handled when the loop body
 * throws counts as handled; catch inside the loop if it should come back.
 * `close()`, dispose and the `signal` stop the stream from outside: the
 * message held at that moment is *not* deleted and comes again on the next
 * start, as does everything after a crash. Deletes are batched (one request
 * per batch moved past), run in the background, and are retried with backoff
 * when the server fails passingly; stopping waits at most 2 s for the last
 * one, and what is not deleted then comes again on the next start.
 *
 * **Backlog.** `backlog: "skip"` drops from the first download the messages
 * queued (`queued_date`, else `date`) before the stream started, and deletes
 * them unseen unless `autoDelete` is false; later arrivals are delivered.
 *
 * **Ending.** `close()`, `break` and dispose end the loop quietly; an abort
 * through `signal` makes the waiting loop throw `signal.reason`. An `E` frame
 * or a REST 4xx rejecting the secret or device throws
 * {@linkcode LoginRequiredError}; an `A` frame (another client logged in as
 * this device) throws {@linkcode SessionReplacedError}; any other refusal (a
 * 4xx other than 408 and 429) throws its {@linkcode PushoverError}. None of
 * them reconnects, and after one nothing more is handed out or deleted.
 *
 * @param device The registered device.
 * @param options Endpoints, timing, deletion and backlog behaviour.
 * @returns The stream: iterate it once, with one consumer.
 * @throws {TypeError} An option is malformed, or there is no WebSocket (before any I/O).
 * @throws {RangeError} A timing option is out of range (before any I/O).
 *
 * @example Print every notification until Ctrl-C
 * ```ts
 * import { streamMessages } from "@openpush/pushover-open-client";
 * import type { Device } from "@openpush/pushover-open-client";
 *
 * async function listen(device: Device, signal: AbortSignal): Promise<void> {
 *   const stream = streamMessages(device, {
 *     signal,
 *     onStatus: (status) => console.error(status.state),
 *   });
 *   try {
 *     for await (const message of stream) {
 *       console.log(`${message.title ?? message.app}: ${message.message}`);
 *     }
 *   } catch (error) {
 *     if (!signal.aborted) throw error; // LoginRequiredError, SessionReplacedError
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

/** The settings of one stream, checked once. */
interface Settings {
  device: Device;
  request: RequestOptions;
  websocketUrl: string;
  WebSocket: WebSocketConstructor;
  keepAliveTimeout: number;
  retryDelay: RetryDelay & { resetAfter: number };
  autoDelete: boolean;
  backlog: "deliver" | "skip";
  onStatus: (status: StreamStatus) => void;
  signal: AbortSignal | undefined;
}

function checkOptions(device: Device, options: StreamOptions): Settings {
  const { secret, deviceId } = requireDevice(device, ACTION);
  const {
    signal,
    websocketUrl = DEFAULT_WEBSOCKET_URL,
    keepAliveTimeout = DEFAULTS.keepAliveTimeout,
    autoDelete = true,
    backlog = "deliver",
    onStatus = () => {},
  } = options;
  resolveOptions(ACTION, options);
  const WebSocket = options.WebSocket ??
    (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof WebSocket !== "function") {
    throw new TypeError(
      `Cannot ${ACTION}: this runtime has no global WebSocket, pass one as the 'WebSocket' option`,
    );
  }
  positive(keepAliveTimeout, "keepAliveTimeout");
  const retryDelay = { ...DEFAULTS.retryDelay, ...options.retryDelay };
  positive(retryDelay.min, "retryDelay.min");
  positive(retryDelay.max, "retryDelay.max");
  if (retryDelay.max < retryDelay.min) {
    throw new RangeError(
      `Cannot ${ACTION}: 'retryDelay.max' must not be below 'retryDelay.min': current values are ${retryDelay.min} and ${retryDelay.max}`,
    );
  }
  positive(retryDelay.resetAfter, "retryDelay.resetAfter");
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
  return {
    device: { secret, deviceId },
    // The user's signal stops the whole stream, not single requests.
    request: { ...options, signal: undefined },
    websocketUrl: checkSecureUrl(websocketUrl, "websocketUrl", ACTION, {
      secure: "wss:",
      plain: "ws:",
    }),
    WebSocket,
    keepAliveTimeout,
    retryDelay,
    autoDelete: autoDelete !== false,
    backlog,
    onStatus,
    signal,
  };
}

function positive(value: unknown, name: string): void {
  // Timers fire at once beyond MAX_TIMER, which would turn a long wait into a loop.
  if (typeof value !== "number" || !(value > 0) || !(value <= MAX_TIMER)) {
    throw new RangeError(
      `Cannot ${ACTION}: '${name}' must be a positive number of milliseconds up to ${MAX_TIMER}: current value is ${value}`,
    );
  }
}

type StopReason = "closed" | "ended" | "aborted" | "failed";

class Stream implements MessageStream {
  readonly #settings: Settings;
  readonly #deleter: Deleter;
  readonly #wakeup = new Wakeup();
  /** Aborted when the stream stops: cuts downloads and backoff sleeps short. */
  readonly #stopping = new AbortController();
  #connection: Connection | undefined;
  #iterated = false;
  #queue: Promise<unknown> = Promise.resolve();

  /** The batch being handed out; only one download's worth is ever held. */
  #batch: Message[] = [];
  #index = 0;
  /** The message the loop holds now (yielded, not yet moved past). */
  #inHand: Message | undefined;
  /** Highest id yielded or skipped: nothing at or below it is yielded again. */
  #seenId: string | undefined;

  #syncWanted = false;
  #firstSync = true;
  /** Unix seconds of the first next(): what is older is backlog. */
  #startedAt = 0;
  #failures = 0;
  /** Cuts the current backoff sleep when an E or A frame ends the stream. */
  #cutSleep: (() => void) | undefined;
  #fatal: PushoverError | undefined;
  #stopped: StopReason | undefined;
  #closing: Promise<void> | undefined;
  #abortThrown = false;
  #onAbort = () => void this.#shutdown("aborted");

  constructor(device: Device, options: StreamOptions) {
    const settings = checkOptions(device, options);
    this.#settings = settings;
    this.#deleter = new Deleter({
      device: settings.device,
      request: settings.request,
      retryDelay: settings.retryDelay,
      enabled: settings.autoDelete,
      fatal: (error) => this.#failWith(error),
      status: (status) => this.#report(status),
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    if (this.#iterated) {
      throw new TypeError(
        `Cannot ${ACTION}: a MessageStream has one consumer and is iterated already; call streamMessages() again for another`,
      );
    }
    this.#iterated = true;
    return {
      next: () => this.#serialised(() => this.#next()),
      return: async () => {
        if (this.#inHand) this.#moveOn();
        await this.#shutdown("ended");
        return { done: true, value: undefined };
      },
    };
  }

  close(): Promise<void> {
    return this.#shutdown("closed");
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Calls to next() run one after another, as for-await makes them. */
  #serialised<T>(step: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(step);
    this.#queue = result.catch(() => {});
    return result;
  }

  async #next(): Promise<IteratorResult<Message>> {
    if (!this.#connection && !this.#stopped) this.#start();
    if (this.#inHand) this.#moveOn();
    while (true) {
      if (this.#stopped) return await this.#finish();
      if (this.#fatal) {
        // After E or A nothing more is handed out (nor deleted): another
        // client, or the next login, gets what is still queued.
        this.#batch = [];
        await this.#shutdown("failed", this.#fatal);
        continue;
      }
      if (this.#index < this.#batch.length) {
        this.#inHand = this.#batch[this.#index++];
        return { done: false, value: this.#inHand };
      }
      this.#batch = [];
      this.#index = 0;
      this.#deleter.flush();
      if (this.#syncWanted) await this.#sync();
      else await this.#wakeup.wait();
    }
  }

  #start(): void {
    const { signal, device } = this.#settings;
    if (signal?.aborted) {
      void this.#shutdown("aborted");
      return;
    }
    signal?.addEventListener("abort", this.#onAbort);
    this.#startedAt = Math.floor(Date.now() / 1000);
    this.#connection = new Connection({
      url: this.#settings.websocketUrl,
      deviceId: device.deviceId,
      secret: device.secret,
      WebSocket: this.#settings.WebSocket,
      keepAliveTimeout: this.#settings.keepAliveTimeout,
      retryDelay: this.#settings.retryDelay,
      resetAfter: this.#settings.retryDelay.resetAfter,
    }, {
      connected: () => this.#wantSync(),
      newMessages: () => this.#wantSync(),
      fatal: (error) => this.#failWith(error),
      status: (status) => this.#report(status),
    });
    this.#connection.start();
  }

  #wantSync(): void {
    // However many `!` arrive meanwhile, they collapse into one more sync.
    this.#syncWanted = true;
    this.#wakeup.wake();
  }

  /** The first refusal ends the stream; later ones change nothing. */
  #failWith(error: PushoverError): void {
    this.#fatal ??= error;
    this.#cutSleep?.();
    this.#wakeup.wake();
  }

  /** The loop asked for more: the message it held is handled. */
  #moveOn(): void {
    this.#deleter.handled(this.#inHand!.id_str);
    this.#inHand = undefined;
  }

  /** Downloads the queue and keeps what this stream has not handed out yet. */
  async #sync(): Promise<void> {
    this.#syncWanted = false;
    const { device, request, backlog } = this.#settings;
    try {
      const { messages } = await downloadMessages(device, {
        ...request,
        signal: this.#stopping.signal,
      });
      this.#failures = 0;
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
      this.#batch = fresh;
      if (this.#firstSync && backlog === "skip") this.#skipBacklog();
      this.#firstSync = false;
    } catch (error) {
      if (this.#stopped) return;
      if (!isTransient(error)) {
        this.#failWith(error as PushoverError);
        return;
      }
      this.#syncWanted = true;
      await this.#backOff(error as PushoverError);
    }
  }

  /**
   * Drops from the first batch what was queued before the stream started, and
   * lets it be deleted unseen: a notifier must not replay a flood of old
   * alerts. Later arrivals in the same batch are live and kept.
   */
  #skipBacklog(): void {
    const isOld = (m: Message) => (m.queued_date ?? m.date) <= this.#startedAt;
    let old = 0;
    while (old < this.#batch.length && isOld(this.#batch[old])) old++;
    if (old > 0) this.#deleter.handled(this.#batch[old - 1].id_str);
    this.#batch = this.#batch.slice(old);
  }

  /** Waits before retrying a sync; cut short by a stop or an E/A frame. */
  async #backOff(error: PushoverError): Promise<void> {
    const attempt = ++this.#failures;
    const delay = Math.min(
      MAX_TIMER,
      Math.max(
        backoffDelay(attempt, this.#settings.retryDelay),
        error.retryAfter ?? 0,
      ),
    );
    this.#report({ state: "retrying", attempt, delay, reason: error.message });
    const cut = new AbortController();
    const onStop = () => cut.abort();
    this.#cutSleep = onStop;
    this.#stopping.signal.addEventListener("abort", onStop);
    try {
      await sleep(delay, cut.signal);
    } finally {
      this.#cutSleep = undefined;
      this.#stopping.signal.removeEventListener("abort", onStop);
    }
  }

  /** The one way the stream stops, whoever stops it. */
  #shutdown(reason: StopReason, error?: unknown): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#stopped = reason;
    this.#stopping.abort();
    this.#connection?.stop();
    this.#settings.signal?.removeEventListener("abort", this.#onAbort);
    this.#wakeup.wake();
    this.#closing = (async () => {
      await this.#deleter.stop(STOP_GRACE);
      this.#report({ state: "stopped", reason, error });
    })();
    return this.#closing;
  }

  /** What next() answers once stopped: done, or the reason it stopped. */
  async #finish(): Promise<IteratorResult<Message>> {
    await this.#closing;
    if (this.#stopped === "failed" && this.#fatal) {
      const fatal = this.#fatal;
      this.#fatal = undefined;
      throw fatal;
    }
    if (this.#stopped === "aborted" && !this.#abortThrown) {
      this.#abortThrown = true;
      throw this.#settings.signal?.reason;
    }
    return { done: true, value: undefined };
  }

  #report(status: StreamStatus): void {
    try {
      const result: unknown = this.#settings.onStatus(status);
      // An async callback's rejection must not become an unhandled one.
      if (result instanceof Promise) result.catch(() => {});
    } catch {
      // A faulty status callback must not break delivery.
    }
  }
}
