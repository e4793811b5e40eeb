import { backoffDelay, type RetryDelay } from "./_backoff.ts";
import { Connection } from "./_connection.ts";
import { resolveOptions } from "./_http.ts";
import { compareIdStrings } from "./_parse_batch.ts";
import { checkSecureUrl } from "./_secure_url.ts";
import { requireDevice } from "./_validate.ts";
import { sleep, Wakeup } from "./_wakeup.ts";
import { deleteThrough } from "./delete_through.ts";
import { downloadMessages } from "./download_messages.ts";
import { LoginRequiredError, PushoverError } from "./errors.ts";
import type {
  MessageStream,
  StreamOptions,
  StreamStatus,
  WebSocketConstructor,
} from "./stream_types.ts";
import type { Device, Message, RequestOptions } from "./types.ts";

const ACTION = "stream messages";
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
 * start, as does everything after a crash. Deletes are batched: one request
 * per batch moved past.
 *
 * **Ending.** `close()`, `break` and dispose end the loop quietly; an abort
 * through `signal` makes the waiting loop throw `signal.reason`. An `E` frame
 * or a REST 4xx rejecting the secret or device throws
 * {@linkcode LoginRequiredError}; an `A` frame (another client logged in as
 * this device) throws {@linkcode SessionReplacedError}. Neither reconnects.
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
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(
      `Cannot ${ACTION}: '${name}' must be a positive number of milliseconds: current value is ${value}`,
    );
  }
}

/** A passing failure is retried; a refusal of the request itself is not. */
function isTransient(error: unknown): boolean {
  if (
    !(error instanceof PushoverError) || error instanceof LoginRequiredError
  ) {
    return false;
  }
  const { status } = error;
  return status === undefined || status >= 500 || status === 408 ||
    status === 429 || status < 400;
}

type StopReason = "closed" | "ended" | "aborted" | "failed";

class Stream implements MessageStream {
  readonly #settings: Settings;
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
  /** Highest id the loop has moved past: safe to delete. */
  #handledId: string | undefined;
  /** Highest id deleted on the server. */
  #deletedId: string | undefined;
  #deleting: Promise<void> | undefined;

  #syncWanted = false;
  #firstSync = true;
  #failures = 0;
  #fatal: PushoverError | undefined;
  #stopped: StopReason | undefined;
  #closing: Promise<void> | undefined;
  #abortThrown = false;
  #onAbort = () => void this.#shutdown("aborted");

  constructor(device: Device, options: StreamOptions) {
    this.#settings = checkOptions(device, options);
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
      if (this.#index < this.#batch.length) {
        this.#inHand = this.#batch[this.#index++];
        return { done: false, value: this.#inHand };
      }
      this.#batch = [];
      this.#index = 0;
      this.#deleteHandled();
      if (this.#fatal) {
        await this.#shutdown("failed", this.#fatal);
        continue;
      }
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
      fatal: (error) => {
        this.#fatal = error;
        this.#wakeup.wake();
      },
      status: (status) => this.#report(status),
    });
    this.#connection.start();
  }

  #wantSync(): void {
    // However many `!` arrive meanwhile, they collapse into one more sync.
    this.#syncWanted = true;
    this.#wakeup.wake();
  }

  /** The loop asked for more: the message it held is handled. */
  #moveOn(): void {
    this.#handledId = this.#inHand!.id_str;
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
      const seen = this.#seenId;
      const fresh = seen === undefined
        ? messages
        : messages.filter((m) => compareIdStrings(m.id_str, seen) > 0);
      const last = fresh.at(-1)?.id_str;
      if (last !== undefined) this.#seenId = last;
      if (this.#firstSync && backlog === "skip") {
        // Old alerts are deleted unseen: a notifier must not replay a flood.
        if (last !== undefined) this.#handledId = last;
      } else {
        this.#batch = fresh;
      }
      this.#firstSync = false;
    } catch (error) {
      if (this.#stopped) return;
      if (!isTransient(error)) {
        this.#fatal = error as PushoverError;
        return;
      }
      this.#syncWanted = true;
      await this.#backOff(error as PushoverError);
    }
  }

  async #backOff(error: PushoverError): Promise<void> {
    const attempt = ++this.#failures;
    const delay = Math.max(
      backoffDelay(attempt, this.#settings.retryDelay),
      error.retryAfter ?? 0,
    );
    this.#report({ state: "retrying", attempt, delay, reason: error.message });
    await sleep(delay, this.#stopping.signal);
  }

  /** Deletes through the handled id in the background; one request at a time. */
  #deleteHandled(): void {
    const target = this.#handledId;
    if (
      !this.#settings.autoDelete || this.#deleting || target === undefined ||
      (this.#deletedId !== undefined &&
        compareIdStrings(target, this.#deletedId) <= 0)
    ) return;
    const { device, request } = this.#settings;
    this.#deleting = deleteThrough(device, target, request).then(
      () => {
        this.#deletedId = target;
      },
      (error) => {
        // A passing failure is retried at the next batch or at the end.
        if (isTransient(error)) return;
        this.#fatal ??= error as PushoverError;
        this.#wakeup.wake();
      },
    ).finally(() => {
      this.#deleting = undefined;
    });
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
      await this.#deleting;
      this.#deleteHandled();
      await this.#deleting;
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
      this.#settings.onStatus(status);
    } catch {
      // A faulty status callback must not break delivery.
    }
  }
}
