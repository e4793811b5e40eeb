// The WebSocket half of the fake: client.pushover.net/push as
// testing/README.md ("The WebSocket") describes it.

import type { Log, SocketEntry } from "./log.ts";
import type { ServerSocket, SocketEvents } from "./serve.ts";
import type { Store } from "./store.ts";

/** The one-byte frames the server sends. */
export type Frame = "#" | "!" | "R" | "E" | "A";

/** Conventions of the socket side. */
export interface PushConventions {
  /** Milliseconds between `#` keep-alives; 0 sends none. */
  keepAliveInterval: number;
  /** Frames as single-byte binary messages (the real service) or text. */
  frameKind: "binary" | "text";
  /**
   * Milliseconds between WebSocket pings; 0 sends none. A client that has
   * not answered one ping when the next is due is closed with 1001.
   */
  pingInterval: number;
  /** Open sockets allowed from one address at once; more get a 429. */
  socketsPerAddress: number;
  /**
   * Milliseconds between a login frame's arrival and the moment the push
   * host has registered it; 0 registers at once. Until then the socket gets
   * no `!`: Pushover's REST and push hosts are separate services.
   */
  loginDelay: number;
}

interface Session {
  number: number;
  socket: ServerSocket;
  deviceId?: string;
  keepAlive?: ReturnType<typeof setInterval>;
  pinger?: ReturnType<typeof setInterval>;
  /** A ping went out and no pong came back yet. */
  awaitingPong: boolean;
  closed: boolean;
  /** A mute session stays open but sends nothing and ignores what comes. */
  muted: boolean;
  /** A login frame came and is not registered yet (held or delayed). */
  loginPending: boolean;
  loginTimer?: ReturnType<typeof setTimeout>;
}

const LOGIN = /^login:([^:]+):([^:\r\n]+)(\r?\n)?$/;

/** Every open connection and the rules for them. */
export class PushHub {
  readonly #store: Store;
  readonly #log: Log;
  readonly #conventions: PushConventions;
  readonly #sessions = new Set<Session>();
  /** The logged-in sessions of each device: a `!` looks at no other. */
  readonly #byDevice = new Map<string, Set<Session>>();
  #count = 0;
  #keepAlivePaused = false;
  #dropNext = 0;
  #loginReply: Frame | undefined;
  /** Logins waiting for holdLogins(false), oldest first; undefined: not holding. */
  #heldLogins: (() => void)[] | undefined;

  constructor(store: Store, log: Log, conventions: PushConventions) {
    this.#store = store;
    this.#log = log;
    this.#conventions = conventions;
  }

  /** Accepts one upgraded connection. */
  accept(socket: ServerSocket): SocketEvents {
    const session: Session = {
      number: ++this.#count,
      socket,
      closed: false,
      muted: false,
      awaitingPong: false,
      loginPending: false,
    };
    this.#sessions.add(session);
    this.#entry(session, "open");
    this.#startPinging(session);
    if (this.#dropNext > 0) {
      this.#dropNext--;
      queueMicrotask(() => socket.terminate());
    }
    return {
      message: (data) => this.#receive(session, data),
      pong: () => {
        session.awaitingPong = false;
        this.#entry(session, "pong");
      },
      close: () => {
        session.closed = true;
        clearTimeout(session.loginTimer);
        clearInterval(session.keepAlive);
        clearInterval(session.pinger);
        this.#sessions.delete(session);
        if (session.deviceId !== undefined) {
          const same = this.#byDevice.get(session.deviceId);
          same?.delete(session);
          if (same?.size === 0) this.#byDevice.delete(session.deviceId);
        }
        this.#entry(session, "close");
      },
    };
  }

  /** Sends `frame` to the logged-in sessions (of one device, or all). */
  broadcast(frame: Frame, deviceId?: string): number {
    const targets = this.loggedIn(deviceId);
    for (const session of targets) this.#reply(session, frame);
    return targets.length;
  }

  /** Whether one more socket from `address` may open now. */
  admits(address: string): boolean {
    let open = 0;
    for (const session of this.#sessions) {
      if (session.socket.address === address) open++;
    }
    return open < this.#conventions.socketsPerAddress;
  }

  /** Drops connections with no close frame, as a lost network does. */
  drop(deviceId?: string): number {
    const targets = this.loggedIn(deviceId);
    for (const session of targets) session.socket.terminate();
    return targets.length;
  }

  /** Closes connections with a close frame carrying `code`. */
  closeWith(code: number, deviceId?: string): number {
    const targets = this.loggedIn(deviceId);
    for (const session of targets) session.socket.close(code);
    return targets.length;
  }

  /** The next `count` connections are dropped as soon as they open. */
  dropNextConnections(count: number): void {
    this.#dropNext += count;
  }

  /**
   * Leaves logged-in sockets open but dead: nothing more is sent to them
   * (no `#`, no `!`) and what they send is ignored — the link a suspended
   * laptop or a lost route leaves behind.
   */
  mute(deviceId?: string): number {
    const targets = this.loggedIn(deviceId);
    for (const session of targets) session.muted = true;
    return targets.length;
  }

  /** Every later login is answered with `frame` at once (undefined: none). */
  replyToLogins(frame: Frame | undefined): void {
    this.#loginReply = frame;
  }

  /**
   * Holds every later login unregistered (true) until called with false,
   * which registers the held ones in arrival order: the window in which the
   * push host has not yet taken a login the client already sent.
   */
  holdLogins(held: boolean): void {
    if (held) {
      this.#heldLogins ??= [];
      return;
    }
    const waiting = this.#heldLogins ?? [];
    this.#heldLogins = undefined;
    for (const register of waiting) register();
  }

  /** Stops (or resumes) `#` keep-alives, so clients' watchdogs can fire. */
  pauseKeepAlive(paused: boolean): void {
    this.#keepAlivePaused = paused;
  }

  /** Open sessions that have logged in (to one device, or any). */
  loggedIn(deviceId?: string): Session[] {
    const sessions = deviceId === undefined
      ? this.#sessions
      : this.#byDevice.get(deviceId) ?? [];
    return [...sessions].filter((s) => s.deviceId !== undefined && !s.muted);
  }

  /** Closes every connection. */
  closeAll(): void {
    for (const session of this.#sessions) {
      clearInterval(session.keepAlive);
      clearInterval(session.pinger);
      session.socket.close(1001);
    }
  }

  #startPinging(session: Session): void {
    const every = this.#conventions.pingInterval;
    if (every <= 0) return;
    session.pinger = setInterval(() => {
      if (session.awaitingPong) {
        clearInterval(session.pinger);
        session.socket.close(1001);
        return;
      }
      session.awaitingPong = true;
      this.#entry(session, "ping");
      session.socket.ping();
    }, every);
  }

  #receive(session: Session, data: string | Uint8Array): void {
    const text = typeof data === "string"
      ? data
      : new TextDecoder().decode(data);
    if (session.muted) return;
    this.#entry(session, "received", text);
    // Frames after the login are ignored.
    if (session.deviceId !== undefined || session.loginPending) return;
    const match = text.match(LOGIN);
    const device = match
      ? this.#store.deviceFor(match[2], match[1])
      : undefined;
    if (!device || device.disabled) {
      this.#entry(session, "rejected");
      this.#send(session, "E");
      session.socket.close(1000);
      return;
    }
    session.loginPending = true;
    const register = () => {
      session.loginPending = false;
      if (!session.closed) this.#register(session, device.id);
    };
    const delay = this.#conventions.loginDelay;
    if (this.#heldLogins) this.#heldLogins.push(register);
    else if (delay > 0) session.loginTimer = setTimeout(register, delay);
    else register();
  }

  /** The push host takes the login: `!` frames reach the session from now on. */
  #register(session: Session, deviceId: string): void {
    const device = this.#store.devices.get(deviceId);
    if (!device || device.disabled) {
      this.#entry(session, "rejected");
      this.#send(session, "E");
      session.socket.close(1000);
      return;
    }
    // One live session per device: the older one is told and closed.
    for (const older of this.loggedIn(device.id)) {
      this.#send(older, "A");
      older.socket.close(1000);
    }
    session.deviceId = device.id;
    const same = this.#byDevice.get(device.id) ?? new Set();
    this.#byDevice.set(device.id, same.add(session));
    this.#entry(session, "login");
    const interval = this.#conventions.keepAliveInterval;
    if (interval > 0) {
      session.keepAlive = setInterval(() => {
        if (!this.#keepAlivePaused) this.#send(session, "#");
      }, interval);
    }
    if (this.#loginReply) this.#reply(session, this.#loginReply);
  }

  /** Sends `frame`; R, E and A end the connection, as the real service does. */
  #reply(session: Session, frame: Frame): void {
    this.#send(session, frame);
    if (frame === "R" || frame === "E" || frame === "A") {
      session.socket.close(1000);
    }
  }

  #send(session: Session, frame: Frame): void {
    if (session.closed || session.muted) return;
    this.#entry(session, "sent", frame);
    session.socket.send(
      this.#conventions.frameKind === "binary"
        ? new Uint8Array([frame.charCodeAt(0)])
        : frame,
    );
  }

  #entry(
    session: Session,
    event: SocketEntry["event"],
    data?: string,
  ): void {
    this.#log.add({
      kind: "socket",
      event,
      socket: session.number,
      deviceId: session.deviceId,
      data,
    });
  }
}
