/**
 * The Bun adapter: `Bun.serve` with `server.upgrade()` and its `websocket`
 * handlers. The few Bun types needed are declared here, so nothing depends on
 * bun-types being installed.
 *
 * @module
 */

import type {
  Listener,
  ServeOptions,
  ServerSocket,
  SocketEvents,
} from "./serve.ts";

/** Per-connection state, carried by Bun as `ws.data`. */
interface SocketState {
  events?: SocketEvents;
  /** Settles once `events.close()` has run. */
  closed: PromiseWithResolvers<void>;
}

/** The parts of Bun's `ServerWebSocket` used here. */
interface BunSocket {
  readonly readyState: number;
  readonly data: SocketState;
  send(data: string | Uint8Array): number;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

/** The parts of Bun's `Server` used here. */
interface BunServer {
  readonly port: number;
  upgrade(request: Request, options: { data: SocketState }): boolean;
  stop(closeActiveConnections?: boolean): Promise<void>;
}

interface BunServeOptions {
  hostname: string;
  port: number;
  /** Seconds a connection may idle; 0 disables it. */
  idleTimeout: number;
  fetch(
    request: Request,
    server: BunServer,
  ): Promise<Response | undefined> | Response | undefined;
  websocket: {
    open(ws: BunSocket): void;
    message(ws: BunSocket, message: string | Uint8Array): void;
    close(ws: BunSocket, code: number, reason: string): void;
  };
}

const OPEN = 1;
/** How long a close frame may go unanswered during close() before terminating. */
const CLOSE_TIMEOUT_MS = 1000;

/** Starts the listener on 127.0.0.1 and resolves once it is bound. */
export function serveBun(options: ServeOptions): Promise<Listener> {
  // Bun binds synchronously; the executor turns a bind error into a rejection.
  return new Promise((resolve) => resolve(listen(options)));
}

function listen(options: ServeOptions): Listener {
  const { Bun } = globalThis as unknown as {
    Bun: { serve(options: BunServeOptions): BunServer };
  };
  const sockets = new Set<BunSocket>();
  /** Signals of requests whose handler has not answered yet. */
  const pending = new Set<AbortController>();
  const closing = Promise.withResolvers<void>();

  async function answer(request: Request): Promise<Response> {
    // The handler gets a signal of ours that aborts only while it has not
    // answered: when the client goes away, or when the listener closes.
    const abort = new AbortController();
    const onGone = () => abort.abort(request.signal.reason);
    request.signal.addEventListener("abort", onGone, { once: true });
    pending.add(abort);
    try {
      // A handler that never settles must not hold up close().
      return await Promise.race([
        options.fetch(new Request(request, { signal: abort.signal })),
        closing.promise.then(() =>
          new Response("server closing", { status: 503 })
        ),
      ]);
    } finally {
      pending.delete(abort);
      request.signal.removeEventListener("abort", onGone);
    }
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: options.port,
    // Bun drops connections idle for 10 s by default, which would cut off a
    // handler that legitimately waits longer (long polls, fault injection).
    idleTimeout: 0,
    fetch(request, server) {
      const url = new URL(request.url);
      if (
        url.pathname === options.websocketPath &&
        request.headers.get("upgrade")?.toLowerCase() === "websocket"
      ) {
        const data: SocketState = { closed: Promise.withResolvers<void>() };
        if (server.upgrade(request, { data })) return undefined; // Bun sends the 101
        return new Response("WebSocket upgrade failed", { status: 400 });
      }
      return answer(request);
    },
    websocket: {
      open(ws) {
        sockets.add(ws);
        ws.data.events = options.websocket(wrap(ws));
      },
      message(ws, message) {
        // Bun hands binary frames over as a Buffer; the fake wants plain bytes.
        ws.data.events?.message(
          typeof message === "string" ? message : new Uint8Array(message),
        );
      },
      close(ws) {
        sockets.delete(ws);
        ws.data.events?.close();
        ws.data.events = undefined; // exactly once
        ws.data.closed.resolve();
      },
    },
  });

  async function close(): Promise<void> {
    closing.resolve();
    for (const abort of pending) abort.abort();
    const open = [...sockets];
    for (const ws of open) {
      if (ws.readyState === OPEN) ws.close(1001, "server closing");
      const timer = setTimeout(() => ws.terminate(), CLOSE_TIMEOUT_MS);
      void ws.data.closed.promise.then(() => clearTimeout(timer));
    }
    await Promise.all(open.map((ws) => ws.data.closed.promise));
    await server.stop(true); // true: also drop idle keep-alive connections
  }

  return { port: server.port, close };
}

/** The fake's view of one Bun WebSocket; everything is a no-op once closed. */
function wrap(ws: BunSocket): ServerSocket {
  return {
    send(data) {
      if (ws.readyState === OPEN) ws.send(data);
    },
    close(code, reason) {
      if (ws.readyState === OPEN) ws.close(code, reason);
    },
    terminate() {
      ws.terminate(); // drops TCP with no close frame; Bun still calls close()
    },
  };
}
