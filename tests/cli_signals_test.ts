// How the command line follows SIGINT and SIGTERM, with a double for the
// process and a hand clock: a duplicate Ctrl-C, a late one, a hang.

import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import {
  DUPLICATE_WINDOW_MS,
  followProcessSignals,
  followSignal,
  outliveLateSignals,
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

test("a duplicate of the Ctrl-C that stopped the command, within the window, is swallowed; undo then hands the signals back to an embedding program", () => {
  const target = fakeProcess();
  const stop = new AbortController();
  let now = 5_000;
  const undo = followProcessSignals(stop, target, () => now);
  target.emit("SIGINT");
  assert.equal(stop.signal.aborted, true);
  now += DUPLICATE_WINDOW_MS; // forwarded by `deno task`
  target.emit("SIGINT");
  assert.deepEqual(target.exits, []);
  undo();
  assert.equal(target.listenerCount("SIGINT"), 0);
  assert.equal(target.listenerCount("SIGTERM"), 0);
});

test("the binary outlives a duplicate that comes after main() let go: a listener that does nothing stays", () => {
  const target = fakeProcess();
  outliveLateSignals(target);
  const undo = followProcessSignals(new AbortController(), target, () => 0);
  target.emit("SIGINT");
  undo();
  assert.equal(target.listenerCount("SIGINT"), 1);
  assert.equal(target.listenerCount("SIGTERM"), 1);
  target.emit("SIGINT"); // late: heard, and nothing happens
  target.emit("SIGTERM");
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

test("in-process, the caller's signal stops the command, even one aborted before; undo lets go of it", () => {
  const early = new AbortController();
  early.abort();
  const stopped = new AbortController();
  followSignal(early.signal, stopped);
  assert.equal(stopped.signal.aborted, true);

  const caller = new AbortController();
  const stop = new AbortController();
  followSignal(caller.signal, stop)();
  caller.abort();
  assert.equal(stop.signal.aborted, false);
  const again = new AbortController();
  const heard = new AbortController();
  followSignal(again.signal, heard);
  again.abort();
  assert.equal(heard.signal.aborted, true);
});
