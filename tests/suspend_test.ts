// One suspend watch for the whole process (lib/_suspend.ts): its timer runs
// only while someone listens, and every listener hears of each suspend.

import { test } from "node:test";
import assert from "node:assert/strict";
import { processSuspendWatch, SuspendWatch } from "../lib/_suspend.ts";
import { streamMessages } from "../mod.ts";
import { HandSocket } from "./_doubles.ts";
import { nextTurn, within } from "./_setup.ts";

test("SuspendWatch tells every listener how late its tick came, once per suspend", async () => {
  let now = 0;
  const watch = new SuspendWatch({
    now: () => now,
    tickInterval: 5,
    threshold: 1_000,
  });
  const heard: [string, number][] = [];
  let told!: () => void;
  const both = new Promise<void>((resolve) => told = resolve);
  const stopA = watch.subscribe((late) => heard.push(["a", late]));
  const stopB = watch.subscribe((late) => {
    heard.push(["b", late]);
    told();
  });
  assert.equal(watch.running, true);
  now += 999 + 5; // one tick, just under the threshold late: nothing
  await nextTurn();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(heard, []);
  now += 1_005; // a whole threshold late
  await within(both, "the suspend told");
  assert.deepEqual(heard, [["a", 1_000], ["b", 1_000]]);
  stopA();
  stopB();
  assert.equal(watch.running, false);
});

test("SuspendWatch runs its timer only while someone listens, and one unsubscribe stops one subscription", () => {
  const watch = new SuspendWatch({ tickInterval: 60_000 });
  assert.equal(watch.running, false);
  const listener = () => {};
  const first = watch.subscribe(listener);
  const second = watch.subscribe(listener); // the same function, twice
  first();
  first(); // twice is harmless
  assert.equal(watch.running, true, "the second subscription still listens");
  second();
  assert.equal(watch.running, false);
});

test("a thousand streams share the process's one suspend timer, gone once they stop", async () => {
  const started: unknown[] = [];
  const original = globalThis.setInterval;
  globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
    const timer = original(...args);
    started.push(timer);
    return timer;
  }) as typeof setInterval;
  const streams = [];
  try {
    for (let i = 0; i < 1_000; i++) {
      const stream = streamMessages({ secret: "s", deviceId: `d${i}` }, {
        apiUrl: "https://api.example/1",
        websocketUrl: "wss://push.example/push",
        WebSocket: HandSocket,
        fetch: () => new Promise(() => {}), // downloads never answer
      });
      void stream[Symbol.asyncIterator]().next().catch(() => {});
      streams.push(stream);
    }
    await nextTurn();
  } finally {
    globalThis.setInterval = original;
  }
  assert.ok(
    started.length <= 1,
    `${started.length} interval timers for 1,000 streams`,
  );
  assert.equal(processSuspendWatch.running, true);
  await Promise.all(streams.map((stream) => stream.close()));
  assert.equal(processSuspendWatch.running, false);
});
