// The WebSocket half of the stream: connect, log in, watch liveness, notice a
// suspended process, read frames, and reconnect with backoff until told to
// stop or told off (E, A).

import { Backoff, type RetryDelay } from "./_retry.ts";
import { describeThrown } from "./_redact.ts";
import { processSuspendWatch, type SuspendWatch } from "./_suspend.ts";
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
import type { Device } from "./types.ts";

/** Why a download is due now. */
export type SyncCause =
  /** A socket is open and its login sent: `!` frames sent meanwhile were lost. */
  | "connected"
  /**
   * The socket's first frame: the server has registered the login by now.
   * Pushover's push host is not its REST host and nothing orders the two: a
   * message queued after the connect-time download but before the push host
   * took the login got no `!`, so sync once more.
   */
  | "login heard"
  /** A `!` frame: new messages wait on the server. */
  | "new messages";

/** What the stream's parts (this connection, the deleter) tell the stream. */
export interface StreamEvents {
  /** A download is due. */
  sync(cause: SyncCause): void;
  /** The stream cannot go on: `E`, `A`, a delete refused for good. */
  fatal(error: PushoverError): void;
  /** Every change worth showing to a person. */
  status(status: StreamStatus): void;
}

/** Settings the connection needs, already checked: the stream's own. */
export interface ConnectionSettings {
  websocketUrl: string;
  device: Device;
  WebSocket: WebSocketConstructor;
  /** Silence (no frame) after which an open link counts as dead. */
  keepAliveTimeout: number;
  /** How long the opening handshake may take before it counts as failed. */
  connectTimeout: number;
  retryDelay: RetryDelay;
  /** The wall clock of the backoff; a test moves it. */
  now?: () => number;
  /** What tells of a suspend: the process's one watch unless a test brings its own. */
  suspendWatch?: SuspendWatch;
}

// '#' (0x23) only proves liveness, which every frame does.
const BANG = 0x21, RELOAD = 0x52, ERROR = 0x45, ANOTHER = 0x41;

type Timer = ReturnType<typeof setTimeout>;

/** What the connection is doing: exactly one of these at any time. */
type Link =
  /** Before the first socket, or waiting out a delay before the next one. */
  | { state: "waiting"; timer?: Timer }
  /** A socket is opening; `timer` gives up on it after `connectTimeout`. */
  | { state: "opening"; socket: Socket; timer: Timer }
  /** Logged in; `timer` replaces the socket after `keepAliveTimeout` of silence. */
  | { state: "open"; socket: Socket; timer: Timer }
  | { state: "stopped"; timer?: undefined };

/** What the connection may call on a socket besides the WebSocket API. */
type Ws = WebSocketLike & { terminate?: () => void };

/**
 * A socket with the listeners this connection put on it. Once `detach()`ed
 * none of its events reach the connection: that alone is what makes a left
 * socket's late frames, closes and errors harmless.
 */
interface Socket {
  ws: Ws;
  /** Set by detach(); read by work that outlives an event (a Blob frame). */
  left: boolean;
  /** Whether a frame came on it yet (the proof the login was registered). */
  heard: boolean;
  detach(): void;
}

/** How a socket is ended: the server asked, or the user stopped. */
const politely = (ws: Ws) => ws.close(1000);

/**
 * A socket presumed dead: dropped without a closing handshake where the
 * runtime can (Bun's and the `ws` package's `terminate()`), so a mute peer
 * does not keep it open.
 */
const atOnce = (ws: Ws) =>
  typeof ws.terminate === "function" ? ws.terminate() : ws.close(1000);

/** One logical connection, made of as many sockets as reconnects need. */
export class Connection {
  readonly #settings: ConnectionSettings;
  readonly #events: StreamEvents;
  readonly #backoff: Backoff;
  #link: Link = { state: "waiting" };
  #unwatch: (() => void) | undefined;
  /** When the open socket's last frame (or its login) came, `performance.now()`. */
  #lastFrame = 0;
  /** The same, on the wall clock (ms since the epoch), for people. */
  #lastFrameAt: number | undefined;

  constructor(settings: ConnectionSettings, events: StreamEvents) {
    this.#settings = settings;
    this.#events = events;
    this.#backoff = new Backoff(settings.retryDelay, settings.now);
  }

  /** When the last frame came on a socket (ms since the epoch), if any. */
  get lastFrameAt(): number | undefined {
    return this.#lastFrameAt;
  }

  /** What the link is doing now (for tests and diagnostics). */
  get state(): Link["state"] {
    return this.#link.state;
  }

  /** Opens the first socket and starts listening for suspends. */
  start(): void {
    const watch = this.#settings.suspendWatch ?? processSuspendWatch;
    this.#unwatch = watch.subscribe((late) => this.#resumed(late));
    this.#connect();
  }

  /** Closes the socket and clears every timer; nothing runs afterwards. */
  stop(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#end(politely);
    this.#link = { state: "stopped" };
  }

  #connect(): void {
    this.#events.status({
      state: "connecting",
      attempt: this.#backoff.attempt + 1,
    });
    // The status may have reached code that stopped the stream.
    if (this.#link.state === "stopped") return;
    let ws: Ws;
    try {
      ws = new this.#settings.WebSocket(this.#settings.websocketUrl);
    } catch (error) {
      // Whatever the constructor threw, read without throwing again: this
      // may run in a timer, where a throw would end the process.
      this.#retry(describeThrown(error, [this.#settings.device.secret]));
      return;
    }
    ws.binaryType = "arraybuffer";
    const onOpen = () => this.#opened(socket, onMessage);
    const onMessage = (event: Event) =>
      this.#frame(socket, (event as MessageEvent).data);
    const onGone = (event: Event) =>
      this.#retry(
        event.type === "close"
          ? "the connection closed"
          : "the connection failed",
      );
    const socket: Socket = {
      ws,
      left: false,
      heard: false,
      detach: () => {
        socket.left = true;
        ws.removeEventListener("open", onOpen);
        ws.removeEventListener("message", onMessage);
        ws.removeEventListener("close", onGone);
        ws.removeEventListener("error", onGone);
      },
    };
    ws.addEventListener("open", onOpen);
    ws.addEventListener("close", onGone);
    ws.addEventListener("error", onGone);
    const timer = setTimeout(
      () =>
        this.#retry(
          `the connection did not open within ${this.#settings.connectTimeout} ms`,
        ),
      this.#settings.connectTimeout,
    );
    this.#link = { state: "opening", socket, timer };
  }

  #opened(socket: Socket, onMessage: (event: Event) => void): void {
    const { deviceId, secret } = this.#settings.device;
    try {
      socket.ws.send(`login:${deviceId}:${secret}\n`);
    } catch {
      return; // the close event that follows reconnects
    }
    // Frames count from the login on; none can come before the open.
    socket.ws.addEventListener("message", onMessage);
    clearTimeout(this.#link.timer);
    this.#lastFrame = performance.now();
    this.#link = { state: "open", socket, timer: this.#watchdog() };
    this.#backoff.succeeded();
    this.#events.status({ state: "connected" });
    // The status may have reached code that stopped the stream (read through
    // the getter: TypeScript still thinks the link is the one set above).
    if (this.state === "stopped") return;
    this.#events.sync("connected");
  }

  /** Every frame proves liveness; each character or byte is a command. */
  #frame(socket: Socket, data: unknown): void {
    if (data instanceof Blob) {
      // A runtime that ignored binaryType: read it, then handle it the same way.
      data.arrayBuffer().then((buffer) => {
        if (!socket.left) this.#frame(socket, buffer);
      }, () => {});
      return;
    }
    // The watchdog reads this when it fires: no timer is touched per frame.
    this.#lastFrame = performance.now();
    this.#lastFrameAt = Date.now();
    // Commands are ASCII: any other character (code above 127) or byte is
    // one no command has.
    const codes: ArrayLike<number> | string = typeof data === "string"
      ? data
      : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : [];
    let previous: number | undefined;
    for (let i = 0; i < codes.length; i++) {
      const byte = typeof codes === "string" ? codes.charCodeAt(i) : codes[i];
      // A run of one command acts once: "!!!" asks for one sync (as the
      // stream would coalesce them), "###" proves liveness once; the others
      // end the link at their first byte. A 16 MB frame of them is cheap.
      if (byte === previous) continue;
      previous = byte;
      // A frame of several bytes may have ended the link at an earlier byte.
      if (socket.left) return;
      this.#command(byte);
    }
    if (!socket.heard && !socket.left) {
      socket.heard = true;
      this.#events.sync("login heard");
    }
  }

  #command(byte: number): void {
    switch (byte) {
      case BANG:
        this.#events.sync("new messages");
        break;
      case RELOAD:
        if (this.#backoff.settled) {
          // A long-lived link the server wants renewed: at once, not a failure.
          this.#backoff.reset();
          this.#reconnect(0, RELOAD_REASON, politely);
        } else {
          // A server (or proxy) that answers every login with R must not
          // get a login loop: a young link's R counts as a failure.
          this.#retry(RELOAD_REASON, politely);
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

  /**
   * Silence for keepAliveTimeout means the link is dead. The timer is set
   * once per socket, not once per frame: when it fires early for the last
   * frame, it waits out the rest of that frame's timeout.
   */
  #watchdog(wait = this.#settings.keepAliveTimeout): Timer {
    return setTimeout(() => {
      const timeout = this.#settings.keepAliveTimeout;
      const silence = performance.now() - this.#lastFrame;
      if (silence >= timeout) this.#retry(`no frame for ${timeout} ms`);
      else if (this.#link.state === "open") {
        this.#link.timer = this.#watchdog(timeout - silence);
      }
    }, wait);
  }

  /**
   * The process ran again after a suspend of `late` ms: the socket is most
   * likely dead without a close, so it is replaced and a sync follows at
   * once, instead of waiting out the watchdog or a backoff delay.
   */
  #resumed(late: number): void {
    this.#backoff.reset();
    this.#reconnect(
      0,
      `the process was suspended for about ${Math.round(late / 1000)} s`,
    );
  }

  /** Ends the current socket, if any, `how` it should be, and its timer. */
  #end(how: (ws: Ws) => void): void {
    const link = this.#link;
    clearTimeout(link.timer);
    if (!("socket" in link)) return;
    const { ws } = link.socket;
    link.socket.detach();
    // A late error from the dead socket must not surface as unhandled (an
    // EventEmitter-based WebSocket, like the `ws` package's, throws then).
    ws.addEventListener("error", () => {});
    try {
      how(ws);
    } catch {
      // Already closed or never opened.
    }
  }

  /** A failed attempt: wait as the retry policy says, then connect again. */
  #retry(reason: string, end: (ws: Ws) => void = atOnce): void {
    this.#reconnect(this.#backoff.failed().delay, reason, end);
  }

  /** Leaves the socket, then connects again after `delay` ms. */
  #reconnect(delay: number, reason: string, end = atOnce): void {
    this.#end(end);
    // Waiting before telling: a status handler may stop, clearing the timer.
    this.#link = {
      state: "waiting",
      timer: setTimeout(() => this.#connect(), delay),
    };
    this.#events.status({
      state: "reconnecting",
      attempt: this.#backoff.attempt + 1,
      delay,
      reason,
    });
  }
}

const RELOAD_REASON = "the server asked to reconnect (R)";
