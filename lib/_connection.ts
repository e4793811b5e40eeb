// The WebSocket half of the stream: connect, log in, watch liveness, read
// frames, and reconnect with backoff until told to stop or told off (E, A).

import { backoffDelay, type RetryDelay } from "./_backoff.ts";
import {
  LoginRequiredError,
  type PushoverError,
  SessionReplacedError,
} from "./errors.ts";
import type {
  StreamStatus,
  WebSocketConstructor,
  WebSocketLike,
} from "./stream_types.ts";

/** What the connection tells the stream. */
export interface ConnectionEvents {
  /** A socket is open and logged in: `!` frames sent meanwhile were lost, so sync. */
  connected(): void;
  /** A `!` frame: new messages wait on the server. */
  newMessages(): void;
  /** `E` or `A`: the connection will not come back. */
  fatal(error: PushoverError): void;
  /** Every change worth showing to a person. */
  status(status: StreamStatus): void;
}

/** Settings the connection needs, already checked. */
export interface ConnectionSettings {
  url: string;
  deviceId: string;
  secret: string;
  WebSocket: WebSocketConstructor;
  keepAliveTimeout: number;
  retryDelay: RetryDelay;
  /** Milliseconds a connection must live before the attempt count resets. */
  resetAfter: number;
}

// '#' (0x23) only proves liveness, which every frame does.
const BANG = 0x21, RELOAD = 0x52, ERROR = 0x45, ANOTHER = 0x41;

/** One logical connection, made of as many sockets as reconnects need. */
export class Connection {
  readonly #settings: ConnectionSettings;
  readonly #events: ConnectionEvents;
  #socket: WebSocketLike | undefined;
  #detach: (() => void) | undefined;
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #openedAt = 0;
  #stopped = false;

  constructor(settings: ConnectionSettings, events: ConnectionEvents) {
    this.#settings = settings;
    this.#events = events;
  }

  /** Opens the first socket. */
  start(): void {
    this.#connect();
  }

  /** Closes the socket and clears every timer; nothing runs afterwards. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#drop(1000);
  }

  #connect(): void {
    if (this.#stopped) return;
    this.#events.status({ state: "connecting", attempt: this.#attempt + 1 });
    let socket: WebSocketLike;
    try {
      socket = new this.#settings.WebSocket(this.#settings.url);
    } catch (error) {
      this.#retry(error);
      return;
    }
    socket.binaryType = "arraybuffer";
    const onOpen = () => this.#opened(socket);
    const onMessage = (event: Event) =>
      this.#frame((event as MessageEvent).data);
    const onGone = (event: Event) => {
      if (socket !== this.#socket) return;
      this.#drop();
      this.#retry(
        event.type === "close"
          ? "the connection closed"
          : "the connection failed",
      );
    };
    socket.addEventListener("open", onOpen);
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", onGone);
    socket.addEventListener("error", onGone);
    this.#detach = () => {
      socket.removeEventListener("open", onOpen);
      socket.removeEventListener("message", onMessage);
      socket.removeEventListener("close", onGone);
      socket.removeEventListener("error", onGone);
    };
    this.#socket = socket;
    this.#watch();
  }

  #opened(socket: WebSocketLike): void {
    if (socket !== this.#socket) return;
    const { deviceId, secret } = this.#settings;
    try {
      socket.send(`login:${deviceId}:${secret}\n`);
    } catch {
      return; // the close event that follows reconnects
    }
    this.#openedAt = Date.now();
    this.#watch();
    this.#events.status({ state: "connected" });
    this.#events.connected();
  }

  /** Every frame proves liveness; each byte of it is a command. */
  #frame(data: unknown): void {
    if (this.#stopped) return;
    this.#watch();
    if (typeof data === "string") {
      for (let i = 0; i < data.length; i++) this.#command(data.charCodeAt(i));
    } else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
      const bytes = data instanceof ArrayBuffer
        ? new Uint8Array(data)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      for (const byte of bytes) this.#command(byte);
    } else if (data instanceof Blob) {
      // A runtime that ignored binaryType: read it, then handle it the same way.
      data.arrayBuffer().then((buffer) => this.#frame(buffer), () => {});
    }
  }

  #command(byte: number): void {
    if (this.#stopped) return;
    switch (byte) {
      case BANG:
        this.#events.newMessages();
        break;
      case RELOAD:
        // The server asks for a fresh connection: at once, not a failure.
        this.#drop(1000);
        this.#attempt = 0;
        this.#schedule(0, "the server asked to reconnect (R)");
        break;
      case ERROR:
        this.#fail(
          new LoginRequiredError(
            "Stream stopped: the server refused the device's login (E); log in again or re-enable the device",
          ),
        );
        break;
      case ANOTHER:
        this.#fail(
          new SessionReplacedError(
            "Stream stopped: another client logged in as this device (A); not reconnecting",
          ),
        );
        break;
        // '#' only proves liveness; unknown bytes are ignored (PROTOCOL.md §4.2).
    }
  }

  #fail(error: PushoverError): void {
    this.stop();
    this.#events.fatal(error);
  }

  /** Restarts the liveness watchdog: silence for keepAliveTimeout means dead. */
  #watch(): void {
    clearTimeout(this.#watchdog);
    this.#watchdog = setTimeout(() => {
      this.#drop();
      this.#retry(`no frame for ${this.#settings.keepAliveTimeout} ms`);
    }, this.#settings.keepAliveTimeout);
  }

  /** Forgets the current socket (closing it) and its watchdog. */
  #drop(code?: number): void {
    clearTimeout(this.#watchdog);
    this.#detach?.();
    this.#detach = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    if (!socket) return;
    // A late error from the dead socket must not surface as unhandled.
    socket.addEventListener("error", () => {});
    try {
      socket.close(code);
    } catch {
      // Already closed or never opened.
    }
  }

  #retry(reason: unknown): void {
    if (
      this.#openedAt && Date.now() - this.#openedAt >= this.#settings.resetAfter
    ) {
      this.#attempt = 0;
    }
    this.#openedAt = 0;
    this.#attempt++;
    this.#schedule(
      backoffDelay(this.#attempt, this.#settings.retryDelay),
      reason,
    );
  }

  #schedule(delay: number, reason: unknown): void {
    if (this.#stopped) return;
    clearTimeout(this.#retryTimer);
    this.#events.status({
      state: "reconnecting",
      attempt: this.#attempt + 1,
      delay,
      reason: typeof reason === "string" ? reason : describeError(reason),
    });
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }
}

function describeError(error: unknown): string {
  return error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
}
