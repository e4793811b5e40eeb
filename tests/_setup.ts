// Shared test setup: a fake server per test, closed whatever happens. By
// default it runs in-process (its own fetch and WebSocket, no port); tests of
// the real listener, and those that start child processes, ask for
// `listen: true`.

import { test } from "node:test";
import { login, registerDevice, streamMessages } from "../mod.ts";
import type {
  Device,
  Message,
  MessageStream,
  RequestOptions,
  StreamOptions,
  WebSocketConstructor,
  WebSocketLike,
} from "../mod.ts";
import {
  type FakeServer,
  type FakeServerOptions,
  startFakeServer,
} from "../testing/mod.ts";

/** serverTest options: the fake's, plus how long the test may take and a skip reason. */
export type ServerTestOptions = FakeServerOptions & {
  timeout?: number;
  skip?: string | false;
};

export const EMAIL = "tester@example.com";
export const PASSWORD = "pa55-w0rd-never-shown";
export const TWOFA = "918273";

/** What each server test gets. */
export interface Context {
  server: FakeServer;
  /** `{ apiUrl, fetch }` of this server: spread into every call's options. */
  api: RequestOptions;
  /**
   * A stream against this server with millisecond timing (see
   * {@linkcode streamOptions}), closed when the test ends, even if it fails.
   */
  stream(device: Device, extra?: StreamOptions): MessageStream;
}

/**
 * A node:test test with a fresh fake server (one account, EMAIL/PASSWORD,
 * no 2FA unless `twofa` is set in the accounts option) that is always closed.
 */
export function serverTest(
  name: string,
  body: (context: Context) => Promise<void>,
  { timeout = 120_000, skip = false, ...options }: ServerTestOptions = {},
): void {
  test(name, { timeout, skip }, async () => {
    const server = await startFakeServer({
      listen: false,
      keepAliveInterval: 0,
      accounts: [{ email: EMAIL, password: PASSWORD }],
      ...options,
    });
    const streams: MessageStream[] = [];
    const context: Context = {
      server,
      api: options.listen
        ? { apiUrl: server.apiUrl }
        : { apiUrl: server.apiUrl, fetch: server.fetch },
      stream: (device, extra) => {
        const stream = streamMessages(device, streamOptions(context, extra));
        streams.push(stream);
        return stream;
      },
    };
    try {
      await body(context);
    } finally {
      await Promise.all(streams.map((stream) => stream.close()));
      await server.close();
    }
  });
}

/** Logs in, registers a device and returns it (the welcome message is queued). */
export async function newDevice(
  { api }: Context,
  name = "test-device",
): Promise<Device> {
  const session = await login({ email: EMAIL, password: PASSWORD }, api);
  return await registerDevice(session, name, api);
}

/** A fetch that fails the test if it is ever called. */
export const forbiddenFetch: typeof fetch = () => {
  throw new Error("no request should have been made");
};

/** The rejection reason of `promise`; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}

/** Stream options for this server, with millisecond timing for tests. */
export function streamOptions(
  { server, api }: Pick<Context, "server" | "api">,
  extra: StreamOptions = {},
): StreamOptions {
  return {
    ...api,
    websocketUrl: server.websocketUrl,
    // In-process unless the test's server listens (its api has no fetch then).
    ...(api.fetch ? { WebSocket: server.WebSocket } : {}),
    keepAliveTimeout: 10_000,
    retryDelay: { min: 1, max: 10 },
    ...extra,
  };
}

/** Pulls `count` messages from the stream, then ends the loop with `break`. */
export async function take(
  stream: AsyncIterable<Message>,
  count: number,
  each: (message: Message, index: number) => void | Promise<void> = () => {},
): Promise<Message[]> {
  const taken: Message[] = [];
  if (count === 0) return taken;
  for await (const message of stream) {
    taken.push(message);
    await each(message, taken.length - 1);
    if (taken.length === count) break;
  }
  return taken;
}

/** The bodies of the messages still queued on the server for the device. */
export function queued(server: FakeServer, device: Device): string[] {
  return server.store.devices.get(device.deviceId)!.queue.map((m) => m.message);
}

/** `promise`, or a rejection naming `what` after `ms`; leaves no timer. */
export async function within<T>(
  promise: Promise<T>,
  what: string,
  ms = 30_000,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One 0 ms macrotask turn: what is due now (timers, ready I/O) runs first. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Waits for a condition that the code calling `notify()` may have changed. */
function condition() {
  const waiters = new Set<{ test: () => boolean; resolve: () => void }>();
  return {
    notify(): void {
      for (const waiter of waiters) {
        if (waiter.test()) {
          waiters.delete(waiter);
          waiter.resolve();
        }
      }
    },
    until(test: () => boolean): Promise<void> {
      if (test()) return Promise.resolve();
      return new Promise((resolve) => waiters.add({ test, resolve }));
    },
  };
}

/** A REST call a stream made, seen from the client's side. */
export interface FetchCall {
  endpoint: "download" | "delete" | "other";
  /** Query or form parameters, e.g. `message` of a delete. */
  params: URLSearchParams;
  /** Whether its answer has been handed to the client. */
  answered: boolean;
}

/**
 * A `fetch` option that records each call the moment the client makes it and
 * can hold the calls to one endpoint until `release()`. Answers are read in
 * full before the client gets them, so handling one takes the client no I/O:
 * a few {@linkcode nextTurn}s after `answered` it has acted on it.
 */
export function recordingFetch(base: typeof fetch) {
  const calls: FetchCall[] = [];
  const changes = condition();
  let holding: FetchCall["endpoint"] | undefined;
  let gate = Promise.resolve();
  let open = () => {};
  const fetchFn: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const endpoint = url.pathname.endsWith("/messages.json")
      ? "download"
      : url.pathname.endsWith("/update_highest_message.json")
      ? "delete"
      : "other";
    const params = new URLSearchParams(
      init?.method === "POST" ? String(init.body ?? "") : url.search,
    );
    const call: FetchCall = { endpoint, params, answered: false };
    calls.push(call);
    changes.notify();
    if (endpoint === holding) {
      // Held, but still cut short by the client's abort like a real request.
      const signal = init?.signal;
      await new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        signal?.addEventListener("abort", () => reject(signal.reason));
        gate.then(resolve);
      });
    }
    const response = await base(input, init);
    const body = await response.arrayBuffer();
    call.answered = true;
    changes.notify();
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
  const count = (endpoint: FetchCall["endpoint"], answered = false) =>
    calls.filter((c) => c.endpoint === endpoint && (!answered || c.answered))
      .length;
  return {
    fetch: fetchFn,
    calls,
    /** Calls to `endpoint` made (or, with `answered`, answered) so far. */
    count,
    /** Resolves once `test()` holds, checked at every call and answer. */
    until: changes.until,
    /** Calls to `endpoint` from now on wait until `release()`. */
    hold(endpoint: FetchCall["endpoint"]): void {
      holding = endpoint;
      gate = new Promise((resolve) => open = resolve);
    },
    /** Lets the held calls, and all later ones, through. */
    release(): void {
      holding = undefined;
      open();
    },
  };
}

/** What one socket made by {@linkcode spySockets} received. */
export interface SpiedSocket {
  /** Every frame's payload as text, in order. */
  frames: string[];
  closed: boolean;
}

/**
 * A `WebSocket` option that makes real sockets and watches them from before
 * the stream's own listeners: when a frame or a close shows here, the stream
 * handles it in the same dispatch (one {@linkcode nextTurn} later it has).
 */
export function spySockets(
  Native: new (url: string) => WebSocketLike & EventTarget,
) {
  const sockets: SpiedSocket[] = [];
  const changes = condition();
  function Spy(url: string): WebSocketLike {
    const socket = new Native(url);
    const seen: SpiedSocket = { frames: [], closed: false };
    sockets.push(seen);
    socket.addEventListener("message", (event) => {
      const data = (event as MessageEvent).data;
      seen.frames.push(
        typeof data === "string"
          ? data
          : new TextDecoder().decode(data as ArrayBuffer),
      );
      changes.notify();
    });
    socket.addEventListener("close", () => {
      seen.closed = true;
      changes.notify();
    });
    changes.notify();
    return socket;
  }
  return {
    WebSocket: Spy as unknown as WebSocketConstructor,
    sockets,
    /** Resolves once `test()` holds, checked at every new socket, frame and close. */
    until: changes.until,
  };
}
