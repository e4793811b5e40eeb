/**
 * The server side of RFC 6455 on a `node:http` upgrade (Node ships a
 * WebSocket client but no server). Just enough for the fake: no extensions
 * (permessage-deflate offers are simply not accepted), no subprotocols.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { ServerSocket, SocketEvents } from "./serve.ts";

/** The TCP socket handed over by the `upgrade` event. */
type Socket = IncomingMessage["socket"];

/** Appended to the client's key before hashing (RFC 6455 §1.3). */
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Far above anything the fake exchanges; stops a bogus length from eating memory. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** How long a close frame may go unanswered before the socket is dropped. */
const CLOSE_TIMEOUT_MS = 1000;

// Opcodes (RFC 6455 §5.2), as constants since enums are not erasable.
const CONTINUATION = 0x0;
const TEXT = 0x1;
const BINARY = 0x2;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

// Close codes used by the server itself (RFC 6455 §7.4.1).
const PROTOCOL_ERROR = 1002;
const INVALID_DATA = 1007;
const TOO_BIG = 1009;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Answers an upgrade with `status` and ends the connection once that is
 * sent: ended only, a client that keeps its half open would hold the
 * fake's close() until it let go.
 */
export function refuseUpgrade(socket: Socket, status: string): void {
  socket.end(
    `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    () => socket.destroy(),
  );
}

/**
 * Answers an `upgrade` event with the opening handshake (RFC 6455 §4.2.2) and
 * starts a {@linkcode NodeWebSocket} on the socket, or answers 400 and returns
 * `undefined` when the request is not a valid WebSocket handshake.
 */
export function acceptWebSocket(
  request: IncomingMessage,
  socket: Socket,
  head: Buffer,
  address: string,
  websocket: (socket: ServerSocket) => SocketEvents,
): NodeWebSocket | undefined {
  const key = request.headers["sec-websocket-key"];
  if (
    typeof key !== "string" || request.headers["sec-websocket-version"] !== "13"
  ) {
    refuseUpgrade(socket, "400 Bad Request");
    return undefined;
  }
  const accept = createHash("sha1").update(key + GUID).digest("base64");
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\n" +
      "Upgrade: websocket\r\n" +
      "Connection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  const ws = new NodeWebSocket(socket, address);
  ws.start(websocket(ws), head);
  return ws;
}

/** One accepted connection: parses client frames, writes server frames. */
export class NodeWebSocket implements ServerSocket {
  /** Resolves once the TCP socket is gone and `SocketEvents.close()` has run. */
  readonly closed: Promise<void>;
  readonly address: string;

  #socket: Socket;
  #events: SocketEvents | undefined;
  #resolveClosed!: () => void;
  /** Received bytes not yet forming a whole frame. */
  #pending: Buffer = Buffer.alloc(0);
  /** Payloads of a fragmented message so far, and its opcode (TEXT/BINARY). */
  #fragments: Uint8Array[] = [];
  #fragmentBytes = 0;
  #fragmentOpcode: number | undefined;
  /** False once the client's close frame arrived or the protocol was violated. */
  #receiving = true;
  #closeSent = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(socket: Socket, address: string) {
    this.#socket = socket;
    this.address = address;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  /** Wires the socket to `events`, then parses bytes that came with the handshake. */
  start(events: SocketEvents, head: Buffer): void {
    this.#events = events;
    const socket = this.#socket;
    socket.setNoDelay(true);
    socket.setTimeout(0); // the HTTP server's timeouts do not apply to a WebSocket
    // An error is always followed by "close", which does the bookkeeping;
    // the listener only keeps the error from crashing the process.
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(this.#closeTimer);
      this.#events?.close();
      this.#events = undefined; // exactly once
      this.#resolveClosed();
    });
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    if (head.length > 0) this.#onData(head);
    socket.resume();
  }

  send(data: Uint8Array | string): void {
    if (this.#closeSent || !this.#socket.writable) return;
    if (typeof data === "string") {
      this.#sendFrame(TEXT, Buffer.from(data, "utf8"));
    } else this.#sendFrame(BINARY, data);
  }

  close(code = 1000, reason = ""): void {
    if (this.#closeSent || !this.#socket.writable) return;
    this.#sendClose(code, reason);
  }

  terminate(): void {
    this.#socket.destroy();
  }

  ping(): void {
    if (this.#closeSent) return;
    this.#sendFrame(PING, new Uint8Array(0));
  }

  #onData(chunk: Buffer): void {
    if (!this.#receiving) return;
    this.#pending = this.#pending.length === 0
      ? chunk
      : Buffer.concat([this.#pending, chunk]);
    while (this.#receiving) {
      const frame = this.#readFrame();
      if (frame === undefined) return;
      this.#onFrame(frame.fin, frame.opcode, frame.payload);
    }
  }

  /** Takes one whole frame off `#pending`, unmasked; undefined if incomplete. */
  #readFrame():
    | { fin: boolean; opcode: number; payload: Uint8Array }
    | undefined {
    const bytes = this.#pending;
    if (bytes.length < 2) return undefined;
    const fin = (bytes[0] & 0x80) !== 0;
    const reserved = bytes[0] & 0x70;
    const opcode = bytes[0] & 0x0f;
    const masked = (bytes[1] & 0x80) !== 0;
    let length = bytes[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (bytes.length < 4) return undefined;
      length = bytes.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (bytes.length < 10) return undefined;
      const long = bytes.readBigUInt64BE(2);
      if (long > BigInt(MAX_MESSAGE_BYTES)) return this.#fail(TOO_BIG);
      length = Number(long);
      offset = 10;
    }
    // No extension was negotiated, so RSV bits must be 0; clients must mask (§5.1).
    if (reserved !== 0 || !masked) return this.#fail(PROTOCOL_ERROR);
    if (bytes.length < offset + 4 + length) return undefined;
    const mask = bytes.subarray(offset, offset + 4);
    const start = offset + 4;
    // A fresh plain Uint8Array: not a Buffer, and not a view into Node's shared
    // pool, so handlers can keep it or read its `.buffer` safely.
    const payload = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      payload[i] = bytes[start + i] ^ mask[i & 3];
    }
    this.#pending = bytes.subarray(start + length);
    return { fin, opcode, payload };
  }

  #onFrame(fin: boolean, opcode: number, payload: Uint8Array): void {
    if (opcode >= 0x8) {
      // Control frames may be interleaved with fragments but never fragmented (§5.5).
      if (!fin || payload.length > 125) return this.#fail(PROTOCOL_ERROR);
      if (opcode === CLOSE) return this.#onClose(payload);
      if (opcode === PING) return this.#sendFrame(PONG, payload);
      if (opcode === PONG) return this.#events?.pong?.();
      return this.#fail(PROTOCOL_ERROR);
    }
    if (opcode === CONTINUATION) {
      if (this.#fragmentOpcode === undefined) return this.#fail(PROTOCOL_ERROR);
    } else if (opcode === TEXT || opcode === BINARY) {
      if (this.#fragmentOpcode !== undefined) return this.#fail(PROTOCOL_ERROR);
      this.#fragmentOpcode = opcode;
    } else {
      return this.#fail(PROTOCOL_ERROR);
    }
    this.#fragments.push(payload);
    this.#fragmentBytes += payload.length;
    if (this.#fragmentBytes > MAX_MESSAGE_BYTES) return this.#fail(TOO_BIG);
    if (!fin) return;

    const type = this.#fragmentOpcode;
    const data = this.#fragments.length === 1
      ? payload
      : concat(this.#fragments, this.#fragmentBytes);
    this.#fragments = [];
    this.#fragmentBytes = 0;
    this.#fragmentOpcode = undefined;
    if (type === BINARY) return this.#events?.message(data);
    let text: string;
    try {
      text = utf8.decode(data);
    } catch {
      return this.#fail(INVALID_DATA);
    }
    this.#events?.message(text);
  }

  /** The client's close frame: echo its code if we have not closed yet, then end TCP. */
  #onClose(payload: Uint8Array): void {
    this.#receiving = false;
    if (payload.length === 1) return this.#fail(PROTOCOL_ERROR);
    if (!this.#closeSent) {
      const code = payload.length >= 2
        ? (payload[0] << 8) | payload[1]
        : undefined;
      this.#sendClose(code, "");
    }
    // Handshake complete; the server is the one to close TCP (§7.1.1).
    this.#socket.end();
  }

  /** Closes on a protocol violation and ignores whatever the client sends next. */
  #fail(code: number): undefined {
    this.#receiving = false;
    this.#pending = Buffer.alloc(0);
    if (!this.#closeSent) this.#sendClose(code, "");
    this.#socket.end();
    return undefined;
  }

  #sendClose(code: number | undefined, reason: string): void {
    let payload = Buffer.alloc(0);
    if (code !== undefined) {
      // Control payloads are capped at 125 bytes: 2 for the code, 123 for the reason.
      const text = Buffer.from(reason, "utf8").subarray(0, 123);
      payload = Buffer.alloc(2 + text.length);
      payload.writeUInt16BE(code, 0);
      text.copy(payload, 2);
    }
    this.#sendFrame(CLOSE, payload);
    this.#closeSent = true;
    // A client that never answers must not keep the socket (and the process) alive.
    this.#closeTimer = setTimeout(
      () => this.#socket.destroy(),
      CLOSE_TIMEOUT_MS,
    );
  }

  /** Writes one unmasked, unfragmented frame (servers never mask, §5.1). */
  #sendFrame(opcode: number, payload: Uint8Array): void {
    if (!this.#socket.writable) return;
    let header: Buffer;
    if (payload.length < 126) {
      header = Buffer.alloc(2);
      header[1] = payload.length;
    } else if (payload.length < 0x10000) {
      header = Buffer.alloc(4);
      header[1] = 126;
      header.writeUInt16BE(payload.length, 2);
    } else {
      header = Buffer.alloc(10);
      header[1] = 127;
      header.writeBigUInt64BE(BigInt(payload.length), 2);
    }
    header[0] = 0x80 | opcode; // FIN
    // One write of a copy: the caller may reuse its array right after send().
    this.#socket.write(Buffer.concat([header, payload]));
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
