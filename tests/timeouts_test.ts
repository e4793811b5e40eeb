// RequestTimeouts (lib/_timeouts.ts): the requests of one prepared call are
// timed out on one timer, each at its own deadline and never before it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { RequestTimeouts } from "../lib/_timeouts.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts the timers armed while `body` runs. */
async function countingTimers(body: () => Promise<void>): Promise<number> {
  const original = globalThis.setTimeout;
  let armed = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    armed++;
    return original(...args);
  }) as typeof setTimeout;
  try {
    await body();
  } finally {
    globalThis.setTimeout = original;
  }
  return armed;
}

/** Starts a request's timeout; `expired` resolves with how long it ran. */
function request(timeouts: RequestTimeouts) {
  const started = performance.now();
  let settle!: () => void;
  const expired = new Promise<number>((resolve) => {
    settle = timeouts.start(() => resolve(performance.now() - started));
  });
  return { expired, settle };
}

test("RequestTimeouts expires a request that outlives its timeout, never before it", async () => {
  const timeouts = new RequestTimeouts(20);
  const ran = await request(timeouts).expired;
  assert.ok(ran >= 20, `expired after ${ran} ms`);
});

test("RequestTimeouts expires a later request at its own deadline, not at the timer an earlier one armed", async () => {
  const timeouts = new RequestTimeouts(40);
  request(timeouts).settle(); // arms the timer, settles at once
  await sleep(20);
  const later = request(timeouts);
  const ran = await later.expired;
  assert.ok(ran >= 40, `expired after ${ran} ms`);
});

test("RequestTimeouts expires two pending requests each at its own deadline", async () => {
  const timeouts = new RequestTimeouts(30);
  const first = request(timeouts);
  await sleep(10);
  const second = request(timeouts);
  const [a, b] = await Promise.all([first.expired, second.expired]);
  assert.ok(a >= 30 && b >= 30, `expired after ${a} and ${b} ms`);
});

test("RequestTimeouts never expires a request that settled", async () => {
  const timeouts = new RequestTimeouts(10);
  let expired = false;
  const settle = timeouts.start(() => expired = true);
  settle();
  // What does expire is a later request: the timer has fired by then.
  await request(timeouts).expired;
  assert.equal(expired, false);
});

test("RequestTimeouts arms one timer for a run of requests that each settle in time", async () => {
  const timeouts = new RequestTimeouts(60_000);
  const armed = await countingTimers(async () => {
    for (let i = 0; i < 100; i++) {
      timeouts.start(() => assert.fail("expired"))();
      await Promise.resolve();
    }
  });
  timeouts.dispose();
  assert.equal(armed, 1);
});

test("RequestTimeouts arms no timer when the timeout is Infinity", async () => {
  const timeouts = new RequestTimeouts(Infinity);
  const armed = await countingTimers(async () => {
    timeouts.start(() => assert.fail("expired"))();
    timeouts.start(() => assert.fail("expired"));
    await Promise.resolve();
  });
  assert.equal(armed, 0);
});

test("RequestTimeouts.dispose() drops the timer: a pending request no longer expires", async () => {
  const disposed = new RequestTimeouts(10);
  let expired = false;
  disposed.start(() => expired = true);
  disposed.dispose();
  // Another instance's request of the same timeout expires after it would have.
  await request(new RequestTimeouts(20)).expired;
  assert.equal(expired, false);
});

test("RequestTimeouts reads deadlines on the clock it is given", async () => {
  let now = 0;
  const timeouts = new RequestTimeouts(5, () => now);
  let expired = 0;
  const done = new Promise<void>((resolve) => {
    timeouts.start(() => {
      expired++;
      resolve();
    });
  });
  // The injected clock stands still: the timer fires and finds nothing due.
  await sleep(20);
  assert.equal(expired, 0);
  now = 5;
  await done;
  assert.equal(expired, 1);
});
