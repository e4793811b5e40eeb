// Shared test setup: a fake server per test, closed whatever happens.

import { test } from "node:test";
import { login, registerDevice, streamMessages } from "../mod.ts";
import type {
  Device,
  Message,
  MessageStream,
  RequestOptions,
  StreamOptions,
} from "../mod.ts";
import {
  type FakeServer,
  type FakeServerOptions,
  startFakeServer,
} from "./fake_server/mod.ts";

export const EMAIL = "tester@example.com";
export const PASSWORD = "pa55-w0rd-never-shown";
export const TWOFA = "918273";

/** What each server test gets. */
export interface Context {
  server: FakeServer;
  /** `{ apiUrl }` of this server: spread into every call's options. */
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
  options: FakeServerOptions = {},
): void {
  test(name, { timeout: 15_000 }, async () => {
    const server = await startFakeServer({
      keepAliveInterval: 0,
      accounts: [{ email: EMAIL, password: PASSWORD }],
      ...options,
    });
    const streams: MessageStream[] = [];
    const context: Context = {
      server,
      api: { apiUrl: server.apiUrl },
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
  ms = 3000,
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
