// streamMessages(): every way of stopping releases every socket, timer and
// listener — proven by a child process that must exit by itself at once.

import assert from "node:assert/strict";
import { test } from "node:test";
import { LoginRequiredError, streamMessages } from "../mod.ts";
import type { Device, StreamStatus } from "../mod.ts";
import { runScript } from "./_spawn.ts";
import {
  newDevice,
  nextTurn,
  recordingFetch,
  rejection,
  serverTest,
  spySockets,
  take,
  within,
} from "./_setup.ts";

const MODES: [mode: string, expected: string][] = [
  ["break", "stopped break"],
  ["return", "stopped return"],
  ["close", 'stopped close {"done":true}'],
  ["dispose", "stopped dispose"],
  ["abort", "stopped abort rejected stop now"],
  ["refused", "stopped refused rejected LoginRequiredError"],
  ["reconnecting", 'stopped reconnecting {"done":true}'],
];

for (const [mode, expected] of MODES) {
  serverTest(
    `streamMessages() stopped by ${mode} leaves nothing running: the process exits by itself`,
    async (context) => {
      let device: Device = await newDevice(context);
      let websocketUrl = context.server.websocketUrl;
      if (mode === "refused") device = { ...device, secret: "x".repeat(60) };
      if (mode === "reconnecting") websocketUrl = "ws://127.0.0.1:9/push";
      const args = [
        JSON.stringify({
          apiUrl: context.server.apiUrl,
          websocketUrl,
          device,
          mode,
        }),
      ];
      // Killed at the limit (a failure) if anything is left: the child's
      // timers are ten minutes long. No claim on how fast it exits.
      const result = await runScript("tests/fixtures/stop_stream.ts", { args });
      assert.equal(result.stdout.trim(), expected, result.stderr);
      assert.equal(result.code, 0);
    },
    { listen: true }, // the child reaches the fake over loopback
  );
}

serverTest(
  "streamMessages() removes its abort listener from the signal once stopped",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const { signal } = new AbortController();
    // The signal's own methods, wrapped to see which listeners it holds.
    const listeners = new Set<unknown>();
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    Object.assign(signal, {
      addEventListener: (type: string, listener: EventListener) => {
        if (type === "abort") listeners.add(listener);
        add(type, listener);
      },
      removeEventListener: (type: string, listener: EventListener) => {
        if (type === "abort") listeners.delete(listener);
        remove(type, listener);
      },
    });
    // Ended by the loop.
    await take(context.stream(device, { signal }), 1, () => {
      assert.equal(listeners.size, 1);
    });
    assert.equal(listeners.size, 0);
    // Closed from outside.
    const closed = context.stream(device, { signal });
    const waiting = closed[Symbol.asyncIterator]().next();
    await server.waitForLogin(device.deviceId, 2);
    assert.equal(listeners.size, 1);
    await closed.close();
    assert.deepEqual(await waiting, { done: true, value: undefined });
    assert.equal(listeners.size, 0);
    // Failed.
    const failed = context.stream(device, { signal });
    const refused = failed[Symbol.asyncIterator]().next();
    await server.waitForLogin(device.deviceId, 3);
    assert.equal(listeners.size, 1);
    server.sendFrame("E", device.deviceId);
    assert.ok(await rejection(refused) instanceof LoginRequiredError);
    assert.equal(listeners.size, 0);
  },
);

serverTest(
  "streamMessages() closed during a backoff sleep ends the waiting loop at once",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    let backingOff!: () => void;
    const backoff = new Promise<void>((resolve) => backingOff = resolve);
    server.failNext({ type: "status", status: 503 }, { endpoint: "download" });
    const statuses: StreamStatus[] = [];
    const stream = context.stream(device, {
      retryDelay: { min: 60_000, max: 60_000 },
      onStatus: (s) => {
        statuses.push(s);
        if (s.state === "retrying") backingOff();
      },
    });
    const waiting = stream[Symbol.asyncIterator]().next();
    await backoff; // the first sync failed: the loop sleeps 60 s
    await within(stream.close(), "close()");
    assert.deepEqual(await within(waiting, "the waiting loop"), {
      done: true,
      value: undefined,
    });
    assert.equal(server.log.requests("download").length, 1);
    assert.deepEqual(statuses.at(-1), {
      state: "stopped",
      reason: "closed",
      error: undefined,
    });
  },
);

serverTest(
  "streamMessages() closed during a download that hangs ends the waiting loop at once",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    server.failNext({ type: "hang" }, { endpoint: "download" });
    const stream = context.stream(device, { timeout: 60_000 });
    const waiting = stream[Symbol.asyncIterator]().next();
    await server.log.waitFor((e) =>
      e.kind === "http" && e.endpoint === "download"
    );
    await within(stream.close(), "close()");
    assert.deepEqual(await within(waiting, "the waiting loop"), {
      done: true,
      value: undefined,
    });
    assert.equal(server.log.requests("download").length, 1);
  },
);

serverTest(
  "streamMessages() aborted before the first next() rejects with the reason and never connects",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const spy = spySockets(context.server.WebSocket);
    const rest = recordingFetch(context.server.fetch);
    const controller = new AbortController();
    const stream = context.stream(device, {
      signal: controller.signal,
      WebSocket: spy.WebSocket,
      fetch: rest.fetch,
    });
    const reason = new Error("not today");
    controller.abort(reason);
    const iterator = stream[Symbol.asyncIterator]();
    assert.equal(await rejection(iterator.next()), reason);
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
    await nextTurn();
    assert.equal(spy.sockets.length, 0);
    assert.equal(rest.calls.length, 0);
    assert.ok(!server.log.entries.some((e) => e.kind === "socket"));
  },
);

test("streamMessages() checks its options before any I/O, naming the option", () => {
  const device = { secret: "s", deviceId: "d" };
  const NoSocket = undefined as never;
  const saved = (globalThis as { WebSocket?: unknown }).WebSocket;
  try {
    (globalThis as { WebSocket?: unknown }).WebSocket = undefined;
    assert.throws(() => streamMessages(device, { WebSocket: NoSocket }), {
      name: "TypeError",
      message:
        "Cannot stream messages: this runtime has no global WebSocket, pass one as the 'WebSocket' option",
    });
  } finally {
    (globalThis as { WebSocket?: unknown }).WebSocket = saved;
  }
  const cases: [Record<string, unknown>, string, string][] = [
    [
      { websocketUrl: "ws://push.example.com/push" },
      "TypeError",
      "'websocketUrl' must use wss:// (ws:// only for loopback hosts): current value is 'ws://push.example.com'",
    ],
    [
      { keepAliveTimeout: 0 },
      "RangeError",
      "'keepAliveTimeout' must be a positive number of milliseconds up to 2147483647: current value is 0",
    ],
    [
      { retryDelay: { min: 10, max: 5 } },
      "RangeError",
      "'retryDelay.max' must not be below 'retryDelay.min': current values are 10 and 5",
    ],
    [
      { retryDelay: { min: -1, max: 5 } },
      "RangeError",
      "'retryDelay.min' must be a positive number of milliseconds up to 2147483647: current value is -1",
    ],
    [
      { retryDelay: { max: 1_000 } }, // min defaults to 5000
      "RangeError",
      "'retryDelay.max' must not be below 'retryDelay.min': current values are 5000 and 1000",
    ],
    [
      { retryDelay: { min: 1, max: 2 ** 31 } },
      "RangeError",
      "'retryDelay.max' must be a positive number of milliseconds up to 2147483647: current value is 2147483648",
    ],
    [
      { retryDelay: { min: 1, max: 5, resetAfter: 0 } },
      "RangeError",
      "'retryDelay.resetAfter' must be a positive number of milliseconds up to 2147483647: current value is 0",
    ],
    [
      { retryDelay: 5000 },
      "TypeError",
      "'retryDelay' must be an object such as { min: 5000, max: 60000 }: current value is 5000",
    ],
    [
      { retryDelay: null },
      "TypeError",
      "'retryDelay' must be an object such as { min: 5000, max: 60000 }: current value is null",
    ],
    [
      { keepAliveTimeout: "90000" },
      "RangeError",
      "'keepAliveTimeout' must be a positive number of milliseconds up to 2147483647: current value is 90000",
    ],
    [
      { onStatus: "log" },
      "TypeError",
      "'onStatus' must be a function",
    ],
    [
      { backlog: "all" },
      "TypeError",
      `'backlog' must be "deliver" or "skip": current value is "all"`,
    ],
    [
      { apiUrl: "http://example.com/1" },
      "TypeError",
      "'apiUrl' must use https:// (http:// only for loopback hosts): current value is 'http://example.com'",
    ],
    [
      { timeout: -1 },
      "RangeError",
      "'timeout' must be a positive number of milliseconds up to 2147483647, or Infinity: current value is -1",
    ],
  ];
  for (const [options, name, message] of cases) {
    assert.throws(() => streamMessages(device, options), {
      name,
      message: `Cannot stream messages: ${message}`,
    }, message);
  }
  // The largest timer a runtime takes is allowed, as every bound left out.
  for (
    const options of [
      { keepAliveTimeout: 2 ** 31 - 1 },
      { retryDelay: { min: 1, max: 2 ** 31 - 1, resetAfter: 2 ** 31 - 1 } },
      { retryDelay: {} },
    ]
  ) {
    assert.doesNotThrow(() => streamMessages(device, options as never));
  }
  assert.throws(() => streamMessages({ secret: "", deviceId: "d" }), {
    name: "TypeError",
    message:
      "Cannot stream messages: 'device.secret' must be a non-empty string",
  });
});

serverTest(
  "streamMessages() takes URL objects for apiUrl and websocketUrl, as fetch() and WebSocket do",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    server.send({ message: "by URL" });
    const [, message] = await take(
      context.stream(device, {
        // Typed as strings; a JavaScript caller may hand in what fetch takes.
        apiUrl: new URL(`${server.apiUrl}/`) as unknown as string,
        websocketUrl: new URL(server.websocketUrl) as unknown as string,
      }),
      2, // the welcome message, then this one
    );
    assert.equal(message.message, "by URL");
  },
);
