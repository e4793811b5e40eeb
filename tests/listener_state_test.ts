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

test("ListenerState: a decryption or a passing REST failure is no change of the link; onChange stops when asked", () => {
  const state = new ListenerState(() => 0);
  const heard: boolean[] = [];
  const stop = state.onChange((online) => heard.push(online));
  state.status({ state: "connected" });
  state.status({
    state: "undecryptable",
    id: "1",
    field: "message",
    reason: "mac",
  });
  state.status({ state: "retrying", attempt: 1, delay: 5, reason: "503" });
  assert.equal(state.state, "connected");
  stop();
  state.status({
    state: "reconnecting",
    attempt: 1,
    delay: 5,
    reason: "closed",
  });
  assert.deepEqual(heard, [true], "not told after stop()");
  assert.equal(state.state, "reconnecting");
});

test("ListenerState.metrics: the Prometheus text of what happened, labels escaped", () => {
  let now = 10_000;
  const state = new ListenerState(() => now);
  state.status({ state: "connected" });
  state.receivedBatch(3);
  state.receivedBatch(0);
  state.sinkResult("stdout", true);
  state.sinkResult("stdout", true);
  state.sinkResult('web"hook\\', false);
  now = 12_500;
  const text = state.metrics(11_000, {
    messages: 3,
    bytes: 0,
    sinks: [{ name: 'web"hook\\', position: 1, behind: 2, dead: 1 }],
  } as never);
  assert.equal(
    text,
    [
      "# HELP pushover_messages_received_total Messages received into the inbox since the start.",
      "# TYPE pushover_messages_received_total counter",
      "pushover_messages_received_total 3",
      "# HELP pushover_sink_delivered_total Messages each sink took since the start.",
      "# TYPE pushover_sink_delivered_total counter",
      'pushover_sink_delivered_total{sink="stdout"} 2',
      'pushover_sink_delivered_total{sink="web\\"hook\\\\"} 0',
      "# HELP pushover_sink_failed_total Failed tries of each sink since the start.",
      "# TYPE pushover_sink_failed_total counter",
      'pushover_sink_failed_total{sink="stdout"} 0',
      'pushover_sink_failed_total{sink="web\\"hook\\\\"} 1',
      "# HELP pushover_sink_dead_letters Messages each sink set aside (history --failed).",
      "# TYPE pushover_sink_dead_letters gauge",
      'pushover_sink_dead_letters{sink="web\\"hook\\\\"} 1',
      "# HELP pushover_sink_behind Messages each sink has still to take.",
      "# TYPE pushover_sink_behind gauge",
      'pushover_sink_behind{sink="web\\"hook\\\\"} 2',
      "# HELP pushover_reconnects_total Reconnects of the WebSocket since the start.",
      "# TYPE pushover_reconnects_total counter",
      "pushover_reconnects_total 0",
      "# HELP pushover_stream_state 1 for the stream's current state.",
      "# TYPE pushover_stream_state gauge",
      'pushover_stream_state{state="starting"} 0',
      'pushover_stream_state{state="connecting"} 0',
      'pushover_stream_state{state="connected"} 1',
      'pushover_stream_state{state="reconnecting"} 0',
      'pushover_stream_state{state="stopped"} 0',
      "# HELP pushover_last_frame_age_seconds Seconds since the last frame on the socket.",
      "# TYPE pushover_last_frame_age_seconds gauge",
      "pushover_last_frame_age_seconds 1.5",
      "# HELP pushover_last_message_age_seconds Seconds since the last message arrived.",
      "# TYPE pushover_last_message_age_seconds gauge",
      "pushover_last_message_age_seconds 2.5",
      "# HELP pushover_inbox_messages Messages kept in the inbox.",
      "# TYPE pushover_inbox_messages gauge",
      "pushover_inbox_messages 3",
      "",
    ].join("\n"),
  );
  // No frame and no message yet: those two gauges are left out.
  const quiet = new ListenerState(() => 0).metrics(undefined, {
    messages: 0,
    bytes: 0,
    sinks: [],
  } as never);
  assert.doesNotMatch(quiet, /last_frame|last_message/);
});
