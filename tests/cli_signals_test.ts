// How the command line follows SIGINT and SIGTERM, with a double for the
// process and a hand clock: a duplicate Ctrl-C, a late one, a hang.

import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import {
  DUPLICATE_WINDOW_MS,
  followProcessSignals,
  type SignalTarget,
} from "../cli/_signals.ts";

/** A process double: signals are emitted by hand, exits are recorded. */
function fakeProcess(): SignalTarget & EventEmitter & { exits: number[] } {
  const target = Object.assign(new EventEmitter(), {
    exits: [] as number[],
    exit(code: number) {
      target.exits.push(code);
    },
  });
  return target;
}

test("a signal stops the command; undoing before any signal removes both listeners", () => {
  const target = fakeProcess();
  const stop = new AbortController();
  const undo = followProcessSignals(stop, target, () => 0);
  assert.equal(target.listenerCount("SIGINT"), 1);
  assert.equal(target.listenerCount("SIGTERM"), 1);
  undo();
  assert.equal(target.listenerCount("SIGINT"), 0);
  assert.equal(target.listenerCount("SIGTERM"), 0);
  assert.equal(stop.signal.aborted, false);

  const again = new AbortController();
  followProcessSignals(again, target, () => 0);
  target.emit("SIGTERM");
  assert.equal(again.signal.aborted, true);
  assert.deepEqual(target.exits, []);
});

test("the duplicate of the Ctrl-C that stopped the command is swallowed, even after undo: a late one must not end a clean exit by the signal", () => {
  const target = fakeProcess();
  const stop = new AbortController();
  let now = 5_000;
  const undo = followProcessSignals(stop, target, () => now);
  target.emit("SIGINT");
  assert.equal(stop.signal.aborted, true);
  undo(); // the command ended cleanly; the process is on its way out
  assert.equal(target.listenerCount("SIGINT"), 1);
  assert.equal(target.listenerCount("SIGTERM"), 1);
  now += DUPLICATE_WINDOW_MS; // forwarded late by `deno task`
  target.emit("SIGINT");
  assert.deepEqual(target.exits, []);
});

test("another signal once the window is over exits at once with 130: stopping hangs", () => {
  const target = fakeProcess();
  const stop = new AbortController();
  let now = 0;
  followProcessSignals(stop, target, () => now);
  target.emit("SIGINT");
  now = DUPLICATE_WINDOW_MS / 2; // a duplicate: it does not move the window
  target.emit("SIGINT");
  assert.deepEqual(target.exits, []);
  now = DUPLICATE_WINDOW_MS + 1;
  target.emit("SIGTERM");
  assert.deepEqual(target.exits, [130]);
});

test("a first signal while a stop from elsewhere (end of input) hangs exits at once", () => {
  const target = fakeProcess();
  const stop = new AbortController();
  followProcessSignals(stop, target, () => 0);
  stop.abort();
  target.emit("SIGINT");
  assert.deepEqual(target.exits, [130]);
});
