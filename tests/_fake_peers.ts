// Plain-HTTP and plain-WebSocket clients of the fake server, for the tests
// of the fake itself: in-process (fake_server_test.ts) or over the loopback
// listener (fake_server_transport_test.ts) — whichever `fetch` and
// `WebSocket` the server view given to them carries.

import assert from "node:assert/strict";
import type { FakeServer, FakeServerOptions } from "../testing/mod.ts";
import {
  type Context,
  EMAIL,
  PASSWORD,
  serverTest,
  within as withinMs,
} from "./_setup.ts";

/** Longest any single wait may take before the test fails. */
const WAIT_MS = 3000;

export const within = <T>(promise: Promise<T>, what: string, ms = WAIT_MS) =>
  withinMs(promise, what, ms);

export type Json = Record<string, unknown>;

/** One HTTP answer, body read in full. */
export interface Reply {
  status: number;
  contentType: string;
  bytes: Uint8Array;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: Json | undefined;
}

export async function call(
  server: FakeServer,
  url: string,
  init?: RequestInit,
): Promise<Reply> {
  const response = await within(server.fetch(url, init), `${url} to answer`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  let json: Json | undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    bytes,
    text,
    json,
  };
}

/** POSTs urlencoded `fields` to `{apiUrl}{path}`. */
export function post(
  server: FakeServer,
  path: string,
  fields: Record<string, string>,
): Promise<Reply> {
  return call(server, `${server.apiUrl}${path}`, {
    method: "POST",
    body: new URLSearchParams(fields),
  });
}

/** A fresh session secret of the test account. */
export async function secretOf(
  server: FakeServer,
  email = EMAIL,
  password = PASSWORD,
): Promise<string> {
  const reply = await post(server, "/users/login.json", { email, password });
  assert.equal(reply.status, 200, reply.text);
  return reply.json!.secret as string;
}

/** Registers `name` and returns its device id. */
export async function register(
  server: FakeServer,
  secret: string,
  name: string,
): Promise<string> {
  const reply = await post(server, "/devices.json", { secret, name, os: "O" });
  assert.equal(reply.status, 200, reply.text);
  return reply.json!.id as string;
}

/** Logs in and registers one device. */
export async function newDevice(
  server: FakeServer,
  name = "desk",
): Promise<{ secret: string; deviceId: string }> {
  const secret = await secretOf(server);
  return { secret, deviceId: await register(server, secret, name) };
}

export function download(
  server: FakeServer,
  secret: string,
  deviceId: string,
): Promise<Reply> {
  const query = new URLSearchParams({ secret, device_id: deviceId });
  return call(server, `${server.apiUrl}/messages.json?${query}`);
}

export async function messagesOf(
  server: FakeServer,
  secret: string,
  deviceId: string,
): Promise<Json[]> {
  const reply = await download(server, secret, deviceId);
  assert.equal(reply.status, 200, reply.text);
  return reply.json!.messages as Json[];
}

/** The log entries after index `from` of frames the fake sent. */
export function sentAfter(
  server: FakeServer,
  from: number,
  frame?: string,
): { socket: number; deviceId?: string; data?: string }[] {
  return server.log.entries.slice(from).flatMap((e) =>
    e.kind === "socket" && e.event === "sent" &&
      (frame === undefined || e.data === frame)
      ? [e]
      : []
  );
}

/** Resolves once the fake has sent `frame` `count` times since index `from`. */
export function waitForSent(
  server: FakeServer,
  frame: string,
  count: number,
  from: number,
): Promise<unknown> {
  let seen = 0;
  return within(
    server.log.waitFor(
      (e) =>
        e.kind === "socket" && e.event === "sent" && e.data === frame &&
        ++seen === count,
      from,
    ),
    `${count} '${frame}' frame(s) in the log`,
  );
}

/** A client socket that records every frame as a one-character string. */
export interface Peer {
  /** Each frame's payload: one character per frame for the real service. */
  readonly frames: string[];
  /** How each frame came: `binary:{byteLength}` (an ArrayBuffer) or `text:{length}`. */
  readonly kinds: string[];
  /** Resolves on "open"; rejects if the socket closes first. */
  readonly opened: Promise<void>;
  /** Resolves on "close", however the socket ended. */
  readonly closed: Promise<void>;
  isClosed(): boolean;
  /** The next frame not yet read; fails if the socket closes or nothing comes. */
  next(): Promise<string>;
  send(data: string | Uint8Array<ArrayBuffer>): void;
  /** Closes from the client side (if still open) and waits for "close". */
  close(): Promise<void>;
}

export function openPeer(server: FakeServer, url = server.websocketUrl): Peer {
  const ws = new server.WebSocket(url);
  ws.binaryType = "arraybuffer";
  const frames: string[] = [];
  const kinds: string[] = [];
  let read = 0;
  let closed = false;
  let wake: (() => void) | undefined;
  const opened = new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    ws.addEventListener(
      "close",
      () => reject(new Error("the socket closed before opening")),
    );
    // Node 22 reports a refused handshake with "error" alone, never "close".
    ws.addEventListener(
      "error",
      () => reject(new Error("the socket failed before opening")),
    );
  });
  opened.catch(() => {}); // only a rejection nobody awaits
  const whenClosed = new Promise<void>((resolve) => {
    ws.addEventListener("close", () => {
      closed = true;
      resolve();
      wake?.();
    });
  });
  ws.addEventListener("message", (event) => {
    const data: unknown = (event as MessageEvent).data;
    if (data instanceof ArrayBuffer) {
      kinds.push(`binary:${data.byteLength}`);
      frames.push(String.fromCharCode(...new Uint8Array(data)));
    } else if (typeof data === "string") {
      kinds.push(`text:${data.length}`);
      frames.push(data);
    } else {
      kinds.push(`other:${Object.prototype.toString.call(data)}`);
      frames.push("?");
    }
    wake?.();
  });
  return {
    frames,
    kinds,
    opened,
    closed: whenClosed,
    isClosed: () => closed,
    async next() {
      while (read >= frames.length) {
        if (closed) {
          throw new Error(
            `the socket closed after frames "${frames.join("")}"`,
          );
        }
        await within(
          new Promise<void>((resolve) => wake = resolve),
          `frame #${read + 1} (so far "${frames.join("")}")`,
        );
      }
      return frames[read++];
    },
    send: (data) => ws.send(data),
    async close() {
      if (!closed) ws.close();
      await within(whenClosed, "the socket to close");
    },
  };
}

/** What each socket test gets: a server test context plus tracked sockets. */
export interface SocketContext extends Context {
  /** Opens a socket to the fake's websocketUrl; closed after the test. */
  connect(): Peer;
  /**
   * A new device (logged in and registered over REST) and a socket logged in
   * as it; `socket` is the fake's number for the connection.
   */
  loggedIn(name?: string): Promise<{
    secret: string;
    deviceId: string;
    peer: Peer;
    socket: number;
  }>;
}

/** A serverTest whose sockets are all closed afterwards. */
export function socketTest(
  name: string,
  body: (context: SocketContext) => Promise<void>,
  options: FakeServerOptions = {},
): void {
  serverTest(name, async (context) => {
    const peers: Peer[] = [];
    const connect = () => {
      const peer = openPeer(context.server);
      peers.push(peer);
      return peer;
    };
    const loggedIn = async (name?: string) => {
      const { secret, deviceId } = await newDevice(context.server, name);
      const peer = connect();
      const socket = await socketLogin(context.server, peer, deviceId, secret);
      return { secret, deviceId, peer, socket };
    };
    try {
      await body({ ...context, connect, loggedIn });
    } finally {
      await Promise.all(peers.map((peer) => peer.close()));
    }
  }, options);
}

export function loginsOf(server: FakeServer, deviceId: string): number {
  return server.log.sockets("login", { deviceId: deviceId }).length;
}

/**
 * Opens `peer`, sends the login frame (default text with `\n`) and waits until
 * the fake has logged it in; returns the fake's number for the connection.
 */
export async function socketLogin(
  server: FakeServer,
  peer: Peer,
  deviceId: string,
  secret: string,
  frame: string | Uint8Array<ArrayBuffer> = `login:${deviceId}:${secret}\n`,
): Promise<number> {
  await within(peer.opened, "the socket to open");
  const count = loginsOf(server, deviceId) + 1;
  peer.send(frame);
  await within(server.waitForLogin(deviceId, count), "the socket login");
  return lastLogin(server, deviceId);
}

/** The fake's number for the connection that last logged in as `deviceId`. */
export function lastLogin(server: FakeServer, deviceId: string): number {
  return server.log.sockets("login", { deviceId }).at(-1)!.socket;
}

/** Resolves once the fake has seen its connection number `socket` close. */
export function closedOnServer(
  server: FakeServer,
  socket: number,
): Promise<unknown> {
  return within(
    server.log.waitFor((e) =>
      e.kind === "socket" && e.event === "close" && e.socket === socket
    ),
    `the fake to see connection ${socket} close`,
  );
}

/**
 * Proves `peer` got no frame so far: the fake sends `#` to the device, and
 * that `#` must be the very next frame the peer reads.
 */
export async function assertNothingBefore(
  server: FakeServer,
  peer: Peer,
  deviceId: string,
): Promise<void> {
  server.sendFrame("#", deviceId);
  assert.equal(await peer.next(), "#");
}
