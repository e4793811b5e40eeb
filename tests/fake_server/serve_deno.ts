/**
 * The Deno adapter: `Deno.serve` plus `Deno.upgradeWebSocket`.
 *
 * @module
 */

import type {
  Listener,
  ServeOptions,
  ServerSocket,
  SocketEvents,
} from "./serve.ts";

/** Starts the listener on 127.0.0.1 and resolves once it is bound. */
export function serveDeno(options: ServeOptions): Promise<Listener> {
  /** Open WebSockets, each with a promise that settles after its close(). */
  const sockets = new Map<WebSocket, Promise<void>>();
  /** Signals of requests whose handler has not answered yet. */
  const pending = new Set<AbortController>();
  const closing = Promise.withResolvers<void>();

  function handler(request: Request): Promise<Response> | Response {
    const url = new URL(request.url);
    if (
      url.pathname === options.websocketPath &&
      request.headers.get("upgrade")?.toLowerCase() === "websocket"
    ) {
      const { socket, response } = Deno.upgradeWebSocket(request);
      adopt(socket);
      return response;
    }
    return answer(request);
  }

  async function answer(request: Request): Promise<Response> {
    // Deno's own request.signal also aborts after every successful response
    // (the "legacy abort" still on by default in Deno 2), so the handler gets
    // a signal of ours that only aborts while it has not answered yet: when
    // the client goes away, or when the listener closes. (Reading
    // request.signal makes Deno print a one-time legacy-abort warning unless
    // `"unstable": ["no-legacy-abort"]` is set; either way this is correct.)
    const abort = new AbortController();
    const onGone = () => abort.abort(request.signal.reason);
    request.signal.addEventListener("abort", onGone, { once: true });
    pending.add(abort);
    try {
      // shutdown() waits for in-flight requests, so a handler that never
      // settles would hang close(); racing it against `closing` cannot.
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

  function adopt(socket: WebSocket): void {
    socket.binaryType = "arraybuffer"; // bytes, not Blobs
    let events: SocketEvents | undefined;
    const closed = Promise.withResolvers<void>();
    sockets.set(socket, closed.promise);
    // send() throws before "open", so the fake only gets the socket then.
    socket.onopen = () => {
      events = options.websocket(wrap(socket));
    };
    socket.onmessage = (event: MessageEvent) => {
      const data = event.data;
      events?.message(
        typeof data === "string" ? data : new Uint8Array(data as ArrayBuffer),
      );
    };
    socket.onerror = () => {}; // "close" always follows and does the bookkeeping
    socket.onclose = () => {
      sockets.delete(socket);
      events?.close();
      events = undefined; // exactly once
      closed.resolve();
    };
  }

  return new Promise((resolve) => {
    // Aborting this drops every connection at once, upgraded ones included.
    const stop = new AbortController();
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: options.port,
      signal: stop.signal,
      onListen: ({ port }) => resolve({ port, close }),
    }, handler);

    async function close(): Promise<void> {
      closing.resolve();
      for (const abort of pending) abort.abort();
      const open = [...sockets];
      for (const [socket] of open) closeSocket(socket, 1001, "server closing");
      // Graceful first: close handshakes and the last responses get a moment.
      // But shutdown() waits for every connection, and a client that never
      // answers the close frame would hold it forever, so after the grace
      // period the serve signal drops whatever is left. (Only then: aborting
      // a server that has already shut down throws BadResource.)
      const graceful = Promise.all([
        ...open.map(([, closed]) => closed),
        server.shutdown(),
      ]);
      if (!await settlesWithin(graceful, GRACE_MS)) stop.abort();
      await server.finished;
    }
  });
}

/** How long close() waits for a graceful end before dropping connections. */
const GRACE_MS = 1000;

/** Whether `promise` settles within `ms`; leaves no timer behind. */
async function settlesWithin(
  promise: Promise<unknown>,
  ms: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) =>
    timer = setTimeout(() => resolve(false), ms)
  );
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The fake's view of one Deno WebSocket; everything is a no-op once closed. */
function wrap(socket: WebSocket): ServerSocket {
  return {
    send(data) {
      if (socket.readyState === WebSocket.OPEN) socket.send(data);
    },
    close(code, reason) {
      closeSocket(socket, code, reason);
    },
    // Deno exposes no way to drop the TCP connection under one WebSocket, so
    // this is the documented fallback: a close frame with 1011.
    terminate() {
      closeSocket(socket, 1011, "terminated");
    },
  };
}

function closeSocket(socket: WebSocket, code?: number, reason?: string): void {
  if (socket.readyState === WebSocket.OPEN) socket.close(code, reason);
}
