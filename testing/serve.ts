/**
 * The transport seam of the fake server: what a listener on loopback
 * (serve_http.ts, `node:http` on Deno, Bun and Node alike) or the in-process
 * transport (memory.ts) hands to the fake's logic. Everything above this
 * file (accounts, queues, frames, faults) is plain web-platform code.
 *
 * @module
 */

/** What the fake's WebSocket logic sees of one accepted connection. */
export interface ServerSocket {
  /** The client's address, for per-address limits. */
  readonly address: string;
  /** Sends one frame: a `Uint8Array` as a binary frame, a string as a text frame. */
  send(data: Uint8Array<ArrayBuffer> | string): void;
  /** Closes with a close frame (RFC 6455 handshake). */
  close(code?: number, reason?: string): void;
  /** Drops the connection with no close frame: a lost network. */
  terminate(): void;
  /** Sends a WebSocket ping; the pong comes as `SocketEvents.pong()`. */
  ping(): void;
}

/** Callbacks for one connection, returned by {@linkcode ServeOptions.websocket}. */
export interface SocketEvents {
  /** A text frame arrives as a string, a binary frame as bytes. */
  message(data: string | Uint8Array): void;
  /** The client answered a ping. */
  pong?(): void;
  /** The connection is gone, however it ended; called once. */
  close(): void;
}

/**
 * Answers one HTTP request. `getBody` is the body of a GET, which a web
 * `Request` cannot carry: some clients send their parameters that way.
 */
export type RequestHandler = (
  request: Request,
  getBody?: string,
) => Promise<Response>;

/** What a runtime adapter needs. */
export interface ServeOptions {
  /** 0 picks an ephemeral port. The host is always 127.0.0.1. */
  port: number;
  /** Path whose upgrade requests become WebSockets (e.g. "/push"). */
  websocketPath: string;
  /** Every other request. `request.signal` aborts when the client goes away. */
  fetch: RequestHandler;
  /** Whether a new WebSocket from this address is let in (else 429). */
  admit(address: string): boolean;
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

/** Starts the listener: `node:http`, which Deno, Bun and Node all have. */
export async function serve(options: ServeOptions): Promise<Listener> {
  return (await import("./serve_http.ts")).serveHttp(options);
}
