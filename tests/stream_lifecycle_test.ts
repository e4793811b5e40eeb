// streamMessages(): every way of stopping releases every socket, timer and
// listener — proven by a child process that must exit by itself at once.

import assert from "node:assert/strict";
import { test } from "node:test";
import { streamMessages } from "../mod.ts";
import type { Device } from "../mod.ts";
import { runScript } from "./_spawn.ts";
import { newDevice, serverTest } from "./_setup.ts";

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
    `streamMessages() stopped by ${mode} leaves nothing running: the process exits at once`,
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
      const result = await runScript("tests/fixtures/stop_stream.ts", {
        args,
        limit: 8_000,
      });
      assert.equal(result.stdout.trim(), expected, result.stderr);
      assert.equal(result.code, 0);
      // Well under the 5 s first backoff and the 90 s keep-alive watchdog.
      assert.ok(result.elapsed < 4_000, `took ${result.elapsed} ms`);
    },
  );
}

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
  assert.throws(() => streamMessages({ secret: "", deviceId: "d" }), {
    name: "TypeError",
    message:
      "Cannot stream messages: 'device.secret' must be a non-empty string",
  });
});
