// The WebSocket half of the stream: connect, log in, watch liveness, notice a
// suspended process, read frames, and reconnect with backoff until told to
// stop or told off (E, A).

import { Backoff, type RetryDelay } from "./_retry.ts";
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
  /** Silence (no frame) after which an open link counts as dead. */
  keepAliveTimeout: number;
  /** How long the opening handshake may take before it counts as failed. */
  connectTimeout: number;
  retryDelay: RetryDelay;
  /** The wall clock; a test moves it to fake a suspend. */
  now?: () => number;
  /** Milliseconds between checks of the wall clock. */
  tickInterval?: number;
  /** A check this late (ms) means the process was suspended meanwhile. */
  suspendThreshold?: number;
}

/**
 * How often the wall clock is compared with the timers: a check that comes
 * SUSPEND_THRESHOLD late means the machine slept or the process was stopped
 * (SIGSTOP), so the socket is most likely dead without a close, and waiting
 * for the keep-alive watchdog would take up to `keepAliveTimeout`.
 */
const TICK_INTERVAL = 1_000;
const SUSPEND_THRESHOLD = 4_000;

// '#' (0x23) only proves liveness, which every frame does.
const BANG = 0x21, RELOAD = 0x52, ERROR = 0x45, ANOTHER = 0x41;

/** What the connection is doing: exactly one of these at any time. */
type Link =
  /** Before the first socket, or waiting out a delay before the next one. */
  | { state: "waiting"; timer?: ReturnType<typeof setTimeout> }
  /** A socket is opening; `timer` gives up on it after `connectTimeout`. */
  | { state: "opening"; socket: Socket; timer: ReturnType<typeof setTimeout> }
  /** Logged in; `watchdog` replaces the socket after `keepAliveTimeout` of silence. */
  | { state: "open"; socket: Socket; watchdog: ReturnType<typeof setTimeout> }
  | { state: "stopped" };

/** A socket with the listeners this connection put on it. */
interface Socket {
  ws: WebSocketLike & { terminate?: () => void };
  detach(): void;
}

/** One logical connection, made of as many sockets as reconnects need. */
export class Connection {
  readonly #settings: ConnectionSettings;
  readonly #events: ConnectionEvents;
  readonly #backoff: Backoff;
  readonly #now: () => number;
  #link: Link = { state: "waiting" };
  #clock: ReturnType<typeof setInterval> | undefined;
  #lastTick = 0;

  constructor(settings: ConnectionSettings, events: ConnectionEvents) {
    this.#settings = settings;
    this.#events = events;
    this.#now = settings.now ?? Date.now;
    this.#backoff = new Backoff(settings.retryDelay, this.#now);
  }

  /** Opens the first socket and starts watching the clock. */
  start(): void {
    const every = this.#settings.tickInterval ?? TICK_INTERVAL;
    this.#lastTick = this.#now();
    this.#clock = setInterval(() => this.#tick(every), every);
    this.#connect();
  }

  /** Closes the socket and clears every timer; nothing runs afterwards. */
  stop(): void {
    clearInterval(this.#clock);
    this.#leave("close");
    this.#link = { state: "stopped" };
  }

  #connect(): void {
    if (this.#link.state === "stopped") return;
    this.#events.status({
      state: "connecting",
      attempt: this.#backoff.attempt + 1,
    });
    let ws: Socket["ws"];
    try {
      ws = new this.#settings.WebSocket(this.#settings.url);
    } catch (error) {
      this.#retry(describeError(error));
      return;
    }
    ws.binaryType = "arraybuffer";
    const onOpen = () => this.#opened(socket);
    const onMessage = (event: Event) => {
      if (this.#current() === socket) this.#frame((event as MessageEvent).data);
    };
    const onGone = (event: Event) => {
      if (this.#current() !== socket) return;
      this.#leave("abandon");
      this.#retry(
        event.type === "close"
          ? "the connection closed"
          : "the connection failed",
      );
    };
    const socket: Socket = {
      ws,
      detach: () => {
        ws.removeEventListener("open", onOpen);
        ws.removeEventListener("message", onMessage);
        ws.removeEventListener("close", onGone);
        ws.removeEventListener("error", onGone);
      },
    };
    ws.addEventListener("open", onOpen);
    ws.addEventListener("message", onMessage);
    ws.addEventListener("close", onGone);
    ws.addEventListener("error", onGone);
    const timer = setTimeout(() => {
      this.#leave("abandon");
      this.#retry(
        `the connection did not open within ${this.#settings.connectTimeout} ms`,
      );
    }, this.#settings.connectTimeout);
    this.#link = { state: "opening", socket, timer };
  }

  #opened(socket: Socket): void {
    const link = this.#link;
    if (link.state !== "opening" || link.socket !== socket) return;
    const { deviceId, secret } = this.#settings;
    try {
      socket.ws.send(`login:${deviceId}:${secret}\n`);
    } catch {
      return; // the close event that follows reconnects
    }
    clearTimeout(link.timer);
    this.#link = { state: "open", socket, watchdog: this.#watchdog() };
    this.#backoff.succeeded();
    this.#events.status({ state: "connected" });
    this.#events.connected();
  }

  /** Every frame proves liveness; each byte of it is a command. */
  #frame(data: unknown): void {
    const link = this.#link;
    if (link.state !== "open") return;
    clearTimeout(link.watchdog);
    link.watchdog = this.#watchdog();
    if (typeof data === "string") {
      for (let i = 0; i < data.length; i++) this.#command(data.charCodeAt(i));
    } else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
      const bytes = data instanceof ArrayBuffer
        ? new Uint8Array(data)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      for (const byte of bytes) this.#command(byte);
    } else if (data instanceof Blob) {
      // A runtime that ignored binaryType: read it, then handle it the same way.
      const socket = link.socket;
      data.arrayBuffer().then((buffer) => {
        if (this.#current() === socket) this.#frame(buffer);
      }, () => {});
    }
  }

  #command(byte: number): void {
    // A frame of several bytes may have ended the link at an earlier byte.
    if (this.#link.state !== "open") return;
    switch (byte) {
      case BANG:
        this.#events.newMessages();
        break;
      case RELOAD:
        this.#leave("close");
        if (this.#backoff.settled) {
          // A long-lived link the server wants renewed: at once, not a failure.
          this.#backoff.reset();
          this.#schedule(0, RELOAD_REASON);
        } else {
          // A server (or proxy) that answers every login with R must not
          // get a login loop: a young link's R counts as a failure.
          this.#retry(RELOAD_REASON);
        }
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
        // '#' only proves liveness; other bytes mean nothing: ignored.
    }
  }

  #fail(error: PushoverError): void {
    this.stop();
    this.#events.fatal(error);
  }

  /** Silence for keepAliveTimeout means the link is dead. */
  #watchdog(): ReturnType<typeof setTimeout> {
    return setTimeout(() => {
      this.#leave("abandon");
      this.#retry(`no frame for ${this.#settings.keepAliveTimeout} ms`);
    }, this.#settings.keepAliveTimeout);
  }

  /**
   * Compares the wall clock with the interval timer: after a suspend the
   * timer fires late (or, once the process runs again, at once with the
   * clock far ahead). The socket is then replaced and a sync follows at once,
   * instead of waiting out the watchdog or a backoff delay.
   */
  #tick(every: number): void {
    const now = this.#now();
    const late = now - this.#lastTick - every;
    this.#lastTick = now;
    const threshold = this.#settings.suspendThreshold ?? SUSPEND_THRESHOLD;
    if (late < threshold || this.#link.state === "stopped") return;
    this.#leave("abandon");
    this.#backoff.reset();
    this.#schedule(
      0,
      `the process was suspended for about ${Math.round(late / 1000)} s`,
    );
  }

  /** The socket in use now, if any. */
  #current(): Socket | undefined {
    const link = this.#link;
    return link.state === "opening" || link.state === "open"
      ? link.socket
      : undefined;
  }

  /**
   * Leaves the current socket and its timers. "close" ends it politely (the
   * server asked, or the user stopped); "abandon" is for a socket presumed
   * dead: where the runtime can drop it without a closing handshake (Bun's
   * `terminate()`), it does, so a mute peer does not keep it open.
   */
  #leave(how: "close" | "abandon"): void {
    const link = this.#link;
    if (link.state === "stopped") return;
    clearTimeout(link.state === "open" ? link.watchdog : link.timer);
    this.#link = { state: "waiting" };
    const socket = link.state === "waiting" ? undefined : link.socket;
    if (!socket) return;
    socket.detach();
    const { ws } = socket;
    // A late error from the dead socket must not surface as unhandled.
    ws.addEventListener("error", () => {});
    try {
      if (how === "abandon" && typeof ws.terminate === "function") {
        ws.terminate();
      } else ws.close(1000);
    } catch {
      // Already closed or never opened.
    }
  }

  /** A failed attempt: wait as the retry policy says, then connect again. */
  #retry(reason: string): void {
    this.#schedule(this.#backoff.failed().delay, reason);
  }

  #schedule(delay: number, reason: string): void {
    if (this.#link.state === "stopped") return;
    this.#leave("abandon");
    this.#events.status({
      state: "reconnecting",
      attempt: this.#backoff.attempt + 1,
      delay,
      reason,
    });
    this.#link = {
      state: "waiting",
      timer: setTimeout(() => this.#connect(), delay),
    };
  }
}

const RELOAD_REASON = "the server asked to reconnect (R)";

function describeError(error: unknown): string {
  return error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
}
