/**
 * The runtime seam of the fake server: one HTTP + WebSocket listener on
 * loopback, whichever of Deno, Bun or Node is running. Everything above this
 * file (accounts, queues, frames, faults) is plain web-platform code.
 *
 * @module
 */

/** What the fake's WebSocket logic sees of one accepted connection. */
export interface ServerSocket {
  /** Sends one frame: a `Uint8Array` as a binary frame, a string as a text frame. */
  send(data: Uint8Array<ArrayBuffer> | string): void;
  /** Closes with a close frame (RFC 6455 handshake). */
  close(code?: number, reason?: string): void;
  /**
   * Drops the connection with no close frame where the runtime allows it
   * (Node, Bun); on Deno it falls back to a close frame with code 1011.
   */
  terminate(): void;
}

/** Callbacks for one connection, returned by {@linkcode ServeOptions.websocket}. */
export interface SocketEvents {
  /** A text frame arrives as a string, a binary frame as bytes. */
  message(data: string | Uint8Array): void;
  /** The connection is gone, however it ended; called once. */
  close(): void;
}

/** What a runtime adapter needs. */
export interface ServeOptions {
  /** 0 picks an ephemeral port. The host is always 127.0.0.1. */
  port: number;
  /** Path whose upgrade requests become WebSockets (e.g. "/push"). */
  websocketPath: string;
  /** Every other request. `request.signal` aborts when the client goes away. */
  fetch(request: Request): Promise<Response>;
  /** Called once per accepted WebSocket, after the upgrade. */
  websocket(socket: ServerSocket): SocketEvents;
}

/** A running listener. */
export interface Listener {
  /** The port actually bound. */
  port: number;
  /** Stops listening and ends every open HTTP connection and WebSocket. */
  close(): Promise<void>;
}

/** Starts a listener with the adapter of the runtime in use. */
export async function serve(options: ServeOptions): Promise<Listener> {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno) return (await import("./serve_deno.ts")).serveDeno(options);
  if (g.Bun) return (await import("./serve_bun.ts")).serveBun(options);
  return (await import("./serve_node.ts")).serveNode(options);
}
