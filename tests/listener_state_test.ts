// ListenerState (cli/_listener_state.ts): what /healthz, /metrics and
// --on-offline read. The link's state comes from the socket's reports only:
// a download (REST) that goes through while the socket is down says nothing
// of the link.

import { test } from "node:test";
import assert from "node:assert/strict";
import { ListenerState } from "../cli/_listener_state.ts";

test("ListenerState: online only while the socket is connected; a sync while reconnecting keeps it offline", () => {
  let now = 1_000;
  const state = new ListenerState(() => now);
  const heard: boolean[] = [];
  state.onChange((online) => heard.push(online));
  state.status({ state: "connecting", attempt: 1 });
  assert.equal(state.online, false);
  state.status({ state: "connected" });
  state.status({ state: "synced", queued: 0 });
  assert.equal(state.online, true);
  now = 2_000;
  state.status({
    state: "reconnecting",
    attempt: 1,
    delay: 5_000,
    reason: "closed",
  });
  state.status({ state: "synced", queued: 0 }); // the REST side still answers
  assert.equal(state.online, false, "a sync is not the link");
  assert.deepEqual(heard, [true, false]);
  assert.equal(state.reconnects, 1);
  const health = state.health(undefined, 60_000);
  assert.equal(health.healthy, false);
  assert.match(health.reason!, /^reconnecting since /);
});

test("ListenerState.health: connected but silent longer than the window is unhealthy", () => {
  let now = 0;
  const state = new ListenerState(() => now);
  state.status({ state: "connected" });
  state.status({ state: "synced", queued: 0 });
  now = 30_000;
  assert.equal(state.health(20_000, 65_000).healthy, true);
  now = 100_000;
  const silent = state.health(20_000, 65_000);
  assert.equal(silent.healthy, false);
  assert.equal(silent.reason, "nothing heard from Pushover for 80 s");
  assert.equal(silent.lastFrameSeconds, 80);
});
