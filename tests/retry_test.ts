// The one retry policy: the delay formula and the attempt count's reset.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Backoff, MAX_TIMER, retryDelay } from "../lib/_retry.ts";

const policy = { min: 5_000, max: 60_000, resetAfter: 60_000 };

test("retryDelay() draws from [min, min·2^n] capped at max, jittered from attempt 1", () => {
  assert.equal(retryDelay(1, policy, 0, () => 0), 5_000);
  assert.equal(retryDelay(1, policy, 0, () => 1), 10_000);
  assert.equal(retryDelay(1, policy, 0, () => 0.5), 7_500);
  assert.equal(retryDelay(2, policy, 0, () => 1), 20_000);
  assert.equal(retryDelay(3, policy, 0, () => 1), 40_000);
  assert.equal(retryDelay(4, policy, 0, () => 1), 60_000);
  assert.equal(retryDelay(50, policy, 0, () => 1), 60_000);
  assert.equal(retryDelay(50, policy, 0, () => 0), 5_000);
  assert.equal(retryDelay(3, policy, 0, () => 0.25), 13_750);
});

test("retryDelay() takes Retry-After as a floor and never exceeds a timer's range", () => {
  assert.equal(retryDelay(1, policy, 30_000, () => 0), 30_000);
  assert.equal(retryDelay(1, policy, 1_000, () => 0), 5_000);
  assert.equal(retryDelay(1, policy, 2 ** 40, () => 0), MAX_TIMER);
  const huge = { min: MAX_TIMER, max: MAX_TIMER, resetAfter: 1 };
  assert.equal(retryDelay(60, huge, 0, () => 1), MAX_TIMER);
});

test("retryDelay() with the real Math.random spreads the first attempt over [min, 2·min]", () => {
  const delays = Array.from({ length: 200 }, () => retryDelay(1, policy));
  assert.ok(delays.every((d) => d >= 5_000 && d <= 10_000));
  assert.ok(new Set(delays).size > 150, "clients must not come back in step");
});

/** A Backoff on a clock the test moves. */
function clocked() {
  let now = 1_000_000;
  const backoff = new Backoff(
    { min: 10, max: 1_000, resetAfter: 500 },
    () => now,
  );
  return { backoff, advance: (ms: number) => now += ms };
}

test("Backoff grows the attempt count with every failure", () => {
  const { backoff } = clocked();
  assert.equal(backoff.attempt, 0);
  assert.deepEqual([1, 2, 3].map(() => backoff.failed().attempt), [1, 2, 3]);
  assert.equal(backoff.attempt, 3);
});

test("Backoff resets only after resetAfter ms of health, not at every success", () => {
  const { backoff, advance } = clocked();
  backoff.failed();
  backoff.failed();
  backoff.succeeded();
  advance(499);
  assert.equal(backoff.settled, false);
  assert.equal(
    backoff.failed().attempt,
    3,
    "a short healthy spell must not reset",
  );
  backoff.succeeded();
  advance(500);
  assert.equal(backoff.settled, true);
  assert.equal(backoff.failed().attempt, 1);
});

test("Backoff's healthy spell starts at the first success, not the latest", () => {
  const { backoff, advance } = clocked();
  backoff.failed();
  backoff.succeeded();
  advance(300);
  backoff.succeeded();
  advance(200);
  assert.equal(backoff.settled, true);
  assert.equal(backoff.failed().attempt, 1);
});

test("Backoff's delays follow the policy and Retry-After", () => {
  const { backoff } = clocked();
  const { delay } = backoff.failed(700);
  assert.equal(delay, 700);
  const second = backoff.failed();
  assert.ok(second.delay >= 10 && second.delay <= 40, String(second.delay));
});

test("Backoff.reset() starts a new run", () => {
  const { backoff } = clocked();
  backoff.failed();
  backoff.failed();
  backoff.succeeded();
  backoff.reset();
  assert.equal(backoff.attempt, 0);
  assert.equal(backoff.settled, false);
  assert.equal(backoff.failed().attempt, 1);
});
