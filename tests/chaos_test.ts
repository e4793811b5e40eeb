// Chaos: messages keep arriving while the fake server misbehaves in every
// way it knows, chosen by a seeded random generator (CHAOS_SEED to replay a
// run). Every message must arrive exactly once, in id order, and nothing may
// be deleted on the server before the consumer has it.

import assert from "node:assert/strict";
import process from "node:process";
import { deleteThrough, downloadMessages } from "../mod.ts";
import type { Message } from "../mod.ts";
import type { FakeServer } from "../testing/mod.ts";
import { newDevice, nextTurn, serverTest } from "./_setup.ts";

const SEED = Number(process.env.CHAOS_SEED ?? 20261128);

/** mulberry32: small, fast, and the same sequence on every runtime. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Records every delete the fake performs and fails it when it would remove a
 * message the consumer has not received yet.
 */
function watchDeletes(server: FakeServer, received: Set<string>): string[] {
  const violations: string[] = [];
  const original = server.store.deleteThrough.bind(server.store);
  server.store.deleteThrough = (device, through) => {
    for (const message of device.queue) {
      if (message.id <= through && !received.has(String(message.umid))) {
        violations.push(`${message.message} deleted before it was received`);
      }
    }
    original(device, through);
  };
  return violations;
}

/** One seeded fault, or none. */
function injectFault(server: FakeServer, deviceId: string, roll: number) {
  if (roll < 0.04) server.dropSockets(deviceId);
  else if (roll < 0.08) server.sendFrame("R", deviceId);
  else if (roll < 0.11) {
    server.failNext({ type: "status", status: 503 }, { endpoint: "download" });
  } else if (roll < 0.13) {
    server.failNext({ type: "status", status: 502 }, { endpoint: "delete" });
  } else if (roll < 0.14) {
    server.failNext({ type: "hang" }, { endpoint: "download" });
  } else if (roll < 0.15) {
    server.failNext({ type: "json", body: "<html>" }, { endpoint: "download" });
  } else if (roll < 0.17) server.pauseKeepAlive(true);
  else if (roll < 0.22) server.pauseKeepAlive(false);
  else if (roll < 0.27) {
    for (let i = 0; i < 3; i++) server.sendFrame("!", deviceId);
  }
}

serverTest(
  `streamMessages() delivers 1000 messages exactly once, in order, through seeded chaos (seed ${SEED})`,
  async (context) => {
    const { server } = context;
    const next = random(SEED);
    const device = await newDevice(context);
    const received = new Set<string>();
    const violations = watchDeletes(server, received);
    const stream = context.stream(device, {
      keepAliveTimeout: 40,
      timeout: 40,
      retryDelay: { min: 1, max: 4 },
    });
    const total = 1000;
    const producer = (async () => {
      for (let i = 0; i < total; i++) {
        server.send({ message: `c${i}` });
        injectFault(server, device.deviceId, next());
        if (next() < 0.3) await nextTurn();
      }
      // Calm after the storm: faults not yet triggered would otherwise hit
      // the final delete, which (by design) is not retried at stop.
      server.clearFaults();
      server.pauseKeepAlive(false);
    })();
    const got: Message[] = [];
    for await (const message of stream) {
      received.add(message.umid_str);
      if (message.message.startsWith("c")) got.push(message);
      if (got.length === total) break;
    }
    await producer;
    assert.deepEqual(violations, []);
    assert.deepEqual(
      got.map((m) => m.message),
      Array.from({ length: total }, (_, i) => `c${i}`),
    );
    const ids = got.map((m) => BigInt(m.id_str));
    assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]), "id order");
    // Left on the server: at most the tail handed out since the last delete
    // that went through — the stop's own delete is tried once, within the
    // 40 ms timeout this test sets, and a loaded machine can miss that (12
    // left on a Node 22 beside another test run). A restart hands the tail
    // out again; nothing before it is queued.
    const left = server.store.devices.get(device.deviceId)!.queue
      .map((m) => m.message);
    assert.deepEqual(
      left,
      got.slice(got.length - left.length).map((m) => m.message),
      "only a tail of what was handed out",
    );
    // Deletes kept up during the run (issue 19): the tail is a batch or so,
    // not the run.
    assert.ok(left.length <= 100, `${left.length} left on the server`);
    // The chaos really happened: reconnects and failed requests by the dozen.
    const logins = server.log.sockets("login").length;
    const failed = server.log.requests().filter((r) => (r.status ?? 0) >= 500);
    assert.ok(logins >= 20, `only ${logins} logins`);
    assert.ok(failed.length >= 10, `only ${failed.length} failed requests`);
  },
  { keepAliveInterval: 5 },
);

serverTest(
  `streamMessages() stopped and restarted at random points loses nothing; only held messages repeat (seed ${SEED})`,
  async (context) => {
    const { server } = context;
    const next = random(SEED + 1);
    const device = await newDevice(context);
    const [welcome] = (await downloadMessages(device, context.api)).messages;
    await deleteThrough(device, welcome, context.api);
    const received = new Set<string>();
    const violations = watchDeletes(server, received);
    const total = 300;
    for (let i = 0; i < total; i++) server.send({ message: `r${i}` });
    const seen: string[] = [];
    const held: string[] = [];
    for (let restarts = 0; received.size < total; restarts++) {
      assert.ok(restarts < 200, "too many restarts");
      const controller = new AbortController();
      const stream = context.stream(device, { signal: controller.signal });
      const stopAfter = 1 + Math.floor(next() * 30);
      const how = next();
      let count = 0;
      try {
        for await (const message of stream) {
          seen.push(message.message);
          received.add(message.umid_str);
          if (received.size === total) break; // all in: the last loop ends
          if (++count < stopAfter) continue;
          if (how < 0.4) break; // the loop ends: the message counts as handled
          // Stopped from outside while this message is in hand.
          held.push(message.message);
          if (how < 0.7) await stream.close();
          else controller.abort(new Error("stop"));
        }
      } catch (error) {
        assert.equal((error as Error).message, "stop");
      }
    }
    assert.deepEqual(violations, []);
    const expected = Array.from({ length: total }, (_, i) => `r${i}`);
    assert.deepEqual([...new Set(seen)].sort(), [...expected].sort());
    // Every repeat is a message that was in the consumer's hands at a stop.
    const counts = new Map<string, number>();
    for (const body of seen) counts.set(body, (counts.get(body) ?? 0) + 1);
    for (const [body, count] of counts) {
      if (count > 1) {
        assert.ok(
          held.filter((h) => h === body).length >= count - 1,
          `${body} came ${count} times but was held at ${
            held.filter((h) => h === body).length
          } stops`,
        );
      }
    }
  },
);
