/**
 * The in-process transport: a `fetch` and a `WebSocket` class bound to one
 * fake server, with no port and no listener. Requests go straight to the
 * REST handler; a socket is a pair of event targets fed to the push hub.
 * Every hop waits one macrotask, as a trip over loopback would, so the order
 * in which a client sees things is the order a network gives.
 *
 * @module
 */

import type { RequestHandler, ServerSocket, SocketEvents } from "./serve.ts";

/**
 * A socket of the in-process transport: the platform WebSocket's shape
 * (events `open`, `message`, `close`, `error`), connected to the fake.
 *
 * @example Talk to the fake by hand
 * ```ts
 * import { startFakeServer } from "@openpush/pushover-open-client/testing";
 * import type { MemoryWebSocket } from "@openpush/pushover-open-client/testing";
 *
 * const server = await startFakeServer({ listen: false });
 * const socket: MemoryWebSocket = new server.WebSocket(server.websocketUrl);
 * await new Promise((resolve) => socket.addEventListener("open", resolve));
 * socket.send("login:no-such-device:no-secret\n"); // answered with 'E'
 * await new Promise((resolve) => socket.addEventListener("close", resolve));
 * await server.close();
 * ```
 */
export interface MemoryWebSocket extends EventTarget {
  /** "blob" (default) or "arraybuffer", as on the platform's WebSocket. */
  binaryType: string;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** The URL it was made with. */
  readonly url: string;
  /** Sends a text or binary frame to the fake. */
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  /** Closes with a close frame; the fake answers it. */
  close(code?: number, reason?: string): void;
  /** Called with each event of its kind, as the platform's are. */
  onopen: ((event: Event) => unknown) | null;
  /** See {@linkcode MemoryWebSocket.onopen}. */
  onmessage: ((event: MessageEvent) => unknown) | null;
  /** See {@linkcode MemoryWebSocket.onopen}. */
  onerror: ((event: Event) => unknown) | null;
  /** See {@linkcode MemoryWebSocket.onopen}. */
  onclose: ((event: Event) => unknown) | null;
  /** 0, as on the platform's WebSocket (the class has them too). */
  readonly CONNECTING: number;
  /** 1. */
  readonly OPEN: number;
  /** 2. */
  readonly CLOSING: number;
  /** 3. */
  readonly CLOSED: number;
}

/** The transport's two halves. */
export interface MemoryTransport {
  /** A `fetch` that answers from the fake. */
  fetch: typeof fetch;
  /** A `WebSocket` class whose sockets connect to the fake. */
  WebSocket: new (url: string | URL) => MemoryWebSocket;
  /**
   * From now on nothing connects; what is still open once the close frames
   * sent just before have arrived (one hop on) is dropped.
   */
  shutDown(): Promise<void>;
}

/** Where the in-process transport is bound. */
export interface MemoryEndpoints {
  handler: RequestHandler;
  /** Whether a new socket from this address may connect. */
  admit(address: string): boolean;
  /** Takes an accepted socket. */
  accept(socket: ServerSocket): SocketEvents;
  websocketPath: string;
}

/** The address every in-process socket comes from. */
const ADDRESS = "in-process";

const CONNECTING = 0, OPEN = 1, CLOSING = 2, CLOSED = 3;

/** An `on…` handler of a socket. */
type Handler = (event: Event) => unknown;

/** The reason phrases an HTTP listener would add (RFC 9110). */
const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  412: "Precondition Failed",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/**
 * One macrotask, like a trip over loopback. setImmediate where the runtime
 * has it (Deno, Bun, Node): a zero-delay timer is clamped to 1–2 ms there,
 * which made every in-process message cost milliseconds and hid the
 * client's own cost; a browser or Worker keeps the timer.
 */
const nextMacrotask: (callback: () => void) => unknown =
  (globalThis as { setImmediate?: (callback: () => void) => unknown })
    .setImmediate ?? ((callback) => setTimeout(callback, 0));

function hop(): Promise<void> {
  return new Promise((resolve) => nextMacrotask(resolve));
}

/** Makes a fetch and a WebSocket class for `endpoints`. */
export function memoryTransport(endpoints: MemoryEndpoints): MemoryTransport {
  let down = false;
  const open = new Set<{ drop(): void }>();

  const memoryFetch: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const signal = request.signal;
    await hop();
    signal.throwIfAborted();
    if (down) throw new TypeError("fetch failed: the fake server is closed");
    const aborted = new Promise<never>((_, reject) => {
      signal.addEventListener("abort", () => reject(signal.reason), {
        once: true,
      });
    });
    aborted.catch(() => {});
    const response = await Promise.race([endpoints.handler(request), aborted]);
    // The body is read here, as a network delivers it, so a hanging fault
    // cannot hold a body stream open after the answer.
    const body = await Promise.race([response.arrayBuffer(), aborted]);
    await hop();
    signal.throwIfAborted();
    return new Response(body, {
      status: response.status,
      statusText: response.statusText || REASONS[response.status] || "",
      headers: response.headers,
    });
  };

  class Socket extends EventTarget implements MemoryWebSocket {
    static readonly CONNECTING = CONNECTING;
    static readonly OPEN = OPEN;
    static readonly CLOSING = CLOSING;
    static readonly CLOSED = CLOSED;
    readonly CONNECTING = CONNECTING;
    readonly OPEN = OPEN;
    readonly CLOSING = CLOSING;
    readonly CLOSED = CLOSED;
    binaryType = "blob";
    readyState = CONNECTING;
    readonly url: string;
    #events: SocketEvents | undefined;
    #closedByServer = false;
    /**
     * Each `on…` handler, called from a listener added when it is first
     * set: where the platform calls it among the listeners.
     */
    readonly #handlers = new Map<string, { handler: Handler | null }>();

    #handler(type: string): Handler | null {
      return this.#handlers.get(type)?.handler ?? null;
    }

    #setHandler(type: string, handler: unknown): void {
      let slot = this.#handlers.get(type);
      if (!slot) {
        const made: { handler: Handler | null } = { handler: null };
        this.#handlers.set(type, made);
        this.addEventListener(type, (event) => made.handler?.(event));
        slot = made;
      }
      slot.handler = typeof handler === "function"
        ? (handler as Handler).bind(this)
        : null;
    }

    get onopen(): Handler | null {
      return this.#handler("open");
    }
    set onopen(handler: Handler | null) {
      this.#setHandler("open", handler);
    }
    get onmessage(): ((event: MessageEvent) => unknown) | null {
      return this.#handler("message");
    }
    set onmessage(handler: ((event: MessageEvent) => unknown) | null) {
      this.#setHandler("message", handler);
    }
    get onerror(): Handler | null {
      return this.#handler("error");
    }
    set onerror(handler: Handler | null) {
      this.#setHandler("error", handler);
    }
    get onclose(): Handler | null {
      return this.#handler("close");
    }
    set onclose(handler: Handler | null) {
      this.#setHandler("close", handler);
    }

    constructor(url: string | URL) {
      super();
      this.url = String(url);
      const { pathname, protocol } = new URL(this.url);
      if (protocol !== "ws:" && protocol !== "wss:") {
        throw new SyntaxError(`not a WebSocket URL: ${this.url}`);
      }
      void this.#connect(pathname);
    }

    async #connect(pathname: string): Promise<void> {
      await hop();
      if (this.readyState !== CONNECTING) return;
      const events = down || pathname !== endpoints.websocketPath ||
          !endpoints.admit(ADDRESS)
        ? undefined
        : endpoints.accept(this.#serverSide());
      if (!events) {
        this.#end(1006, "", false, true);
        return;
      }
      this.#events = events;
      this.readyState = OPEN;
      open.add(this.#handle);
      this.dispatchEvent(new Event("open"));
    }

    readonly #handle = { drop: () => this.#serverGone(1006, "", false) };

    send(data: string | ArrayBufferLike | ArrayBufferView): void {
      if (this.readyState === CONNECTING) {
        throw new DOMException(
          "the socket is not open yet",
          "InvalidStateError",
        );
      }
      if (this.readyState !== OPEN) return;
      const payload = typeof data === "string" ? data : toBytes(data);
      void hop().then(() => {
        if (this.readyState === OPEN) this.#events?.message(payload);
      });
    }

    close(code?: number, reason = ""): void {
      // The platform's rules: only 1000 or 3000–4999 from a client, and a
      // reason of at most 123 bytes — a test must not pass what throws
      // against a real server.
      if (
        code !== undefined && code !== 1000 && !(code >= 3000 && code <= 4999)
      ) {
        throw new DOMException(
          `close code ${code} is neither 1000 nor in 3000-4999`,
          "InvalidAccessError",
        );
      }
      if (new TextEncoder().encode(reason).length > 123) {
        throw new DOMException(
          "the close reason is over 123 bytes",
          "SyntaxError",
        );
      }
      if (this.readyState === CLOSING || this.readyState === CLOSED) return;
      if (this.readyState === CONNECTING) {
        this.readyState = CLOSED;
        void hop().then(() => this.#end(1006, "", false, false));
        return;
      }
      this.readyState = CLOSING;
      // The server answers the close frame, then the connection ends.
      void hop().then(() => this.#serverGone(code ?? 1000, reason, true));
    }

    /** What the fake holds of this socket. */
    #serverSide(): ServerSocket {
      return {
        address: ADDRESS,
        send: (data) => {
          if (this.readyState !== OPEN || this.#closedByServer) return;
          const copy = typeof data === "string" ? data : data.slice();
          void hop().then(() => this.#deliver(copy));
        },
        close: (code = 1000, reason = "") => {
          if (this.#closedByServer) return;
          this.#closedByServer = true;
          void hop().then(() => this.#serverGone(code, reason, true));
        },
        terminate: () => {
          if (this.#closedByServer) return;
          this.#closedByServer = true;
          void hop().then(() => this.#serverGone(1006, "", false));
        },
        // The platform's WebSocket answers pings by itself.
        ping: () => void hop().then(() => this.#events?.pong?.()),
      };
    }

    #deliver(data: string | Uint8Array): void {
      if (this.readyState !== OPEN) return;
      let payload: unknown = data;
      if (typeof data !== "string") {
        payload = this.binaryType === "arraybuffer"
          ? data.buffer
          : new Blob([data as Uint8Array<ArrayBuffer>]);
      }
      this.dispatchEvent(new MessageEvent("message", { data: payload }));
    }

    /** The connection is over: the fake learns it, then the client. */
    #serverGone(code: number, reason: string, clean: boolean): void {
      if (this.readyState === CLOSED) return;
      const events = this.#events;
      this.#events = undefined;
      events?.close();
      this.#end(code, reason, clean, !clean);
    }

    #end(code: number, reason: string, clean: boolean, error: boolean): void {
      open.delete(this.#handle);
      this.readyState = CLOSED;
      if (error) this.dispatchEvent(new Event("error"));
      // Node 22 has no CloseEvent: an Event with the same fields.
      this.dispatchEvent(
        Object.assign(new Event("close"), { code, reason, wasClean: clean }),
      );
    }
  }

  return {
    fetch: memoryFetch,
    WebSocket: Socket,
    shutDown: async () => {
      down = true;
      // A close the fake just sent lands first, as over a network: the
      // client sees 1001 from close(), not a lost connection.
      await hop();
      for (const socket of [...open]) socket.drop();
    },
  };
}

function toBytes(data: ArrayBufferLike | ArrayBufferView): Uint8Array {
  return ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer.slice(
      data.byteOffset,
      data.byteOffset + data.byteLength,
    ))
    : new Uint8Array(data.slice(0));
}
