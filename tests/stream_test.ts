// streamMessages(): delivery, order, deletion and frames, end to end.

import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { deleteThrough, downloadMessages, streamMessages } from "../mod.ts";
import type { Device, StreamStatus } from "../mod.ts";
import type { FakeServer } from "../testing/mod.ts";
import {
  EMAIL,
  newDevice,
  nextTurn,
  queued,
  recordingFetch,
  serverTest,
  spySockets,
  streamOptions,
  take,
  within,
} from "./_setup.ts";

/**
 * Queues `messages` and dates everything queued 10 s back: a backlog from
 * before the stream starts (the fake's clock counts whole seconds).
 */
function queueBacklog(
  server: FakeServer,
  device: Device,
  ...messages: string[]
): void {
  for (const message of messages) server.send({ message });
  for (const entry of server.store.devices.get(device.deviceId)!.queue) {
    entry.queuedDate -= 10;
  }
}

serverTest(
  "streamMessages() yields the backlog, then live messages, in id order",
  async (context) => {
    const device = await newDevice(context);
    context.server.send({ message: "queued before" });
    const stream = context.stream(device);
    const got = await take(stream, 4, (_, index) => {
      if (index === 1) {
        context.server.send({ message: "live 1" });
        context.server.send({ message: "live 2" });
      }
    });
    assert.deepEqual(got.slice(1).map((m) => m.message), [
      "queued before",
      "live 1",
      "live 2",
    ]);
    const ids = got.map((m) => BigInt(m.id_str));
    assert.deepEqual(ids, [...ids].sort((a, b) => a < b ? -1 : 1));
    assert.deepEqual(queued(context.server, device), []);
  },
);

serverTest(
  "streamMessages() sends no delete that deletes nothing while every answer comes: batches, a dropped link and a restart, against a fake that refuses one",
  async (context) => {
    const device = await newDevice(context);
    context.server.send({ message: "queued 1" });
    context.server.send({ message: "queued 2" });
    const first = context.stream(device);
    await take(first, 4, (_, index) => {
      if (index !== 2) return;
      context.server.dropSockets();
      context.server.send({ message: "after the drop" });
    });
    await first.close();
    context.server.send({ message: "for the next start" });
    const again = context.stream(device);
    const [next] = await take(again, 1);
    assert.equal(next.message, "for the next start");
    await again.close();
    const deletes = context.server.log.requests("delete");
    assert.ok(deletes.length >= 2);
    assert.deepEqual(deletes.map((e) => e.status), deletes.map(() => 200));
    assert.deepEqual(queued(context.server, device), []);
  },
  { deleteNothing: "error" },
);

serverTest(
  "streamMessages() takes a refused retry of a delete whose answer was lost (the server had applied it) as done, and goes on",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    // The first delete reaches the server, which applies it; its answer is
    // lost on the way back (a reset connection).
    let lose = true;
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const response = await server.fetch(input, init);
      if (lose && String(input).includes("update_highest_message")) {
        lose = false;
        await response.body?.cancel();
        throw new TypeError("connection reset");
      }
      return response;
    };
    const stream = context.stream(device, { fetch });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // the welcome
    server.send({ message: "next" });
    assert.equal((await iterator.next()).value?.message, "next");
    // Its retry deletes nothing, which this fake refuses: 400.
    await server.log.waitFor((e) =>
      e.kind === "http" && e.endpoint === "delete" && e.status === 400
    );
    server.send({ message: "after" });
    assert.equal((await iterator.next()).value?.message, "after");
    await stream.close();
    assert.deepEqual(
      server.log.requests("delete").map((e) => e.status),
      [200, 400, 200],
    );
    assert.deepEqual(queued(server, device), ["after"], "held at close");
  },
  { deleteNothing: "error" },
);

serverTest(
  "streamMessages() skips the backlog when asked: deleted unseen, live ones delivered",
  async (context) => {
    const device = await newDevice(context);
    queueBacklog(context.server, device, "old 1", "old 2");
    const stream = context.stream(device, { backlog: "skip" });
    const iterator = stream[Symbol.asyncIterator]();
    const first = iterator.next(); // connects, syncs, skips; then waits for "new"
    await context.server.log.waitFor((e) =>
      e.kind === "http" && e.endpoint === "delete" && e.status === 200
    );
    assert.deepEqual(queued(context.server, device), []);
    context.server.send({ message: "new" });
    assert.equal((await first).value?.message, "new");
    await stream.close();
    assert.equal(context.server.log.requests("delete").length, 1);
  },
);

serverTest(
  "streamMessages() deletes the skipped backlog at once, while the first live message is still in hand",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    queueBacklog(server, device, "old 1", "old 2");
    server.send({ message: "new" });
    // Dated a second on: a second boundary between the send and the start
    // must not make it backlog (the start's own second has a test of its own).
    server.store.devices.get(device.deviceId)!.queue.at(-1)!.queuedDate += 1;
    const stream = context.stream(device, { backlog: "skip" });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await within(iterator.next(), "the live message");
    assert.equal(first.value?.message, "new"); // held
    await within(
      server.log.waitFor((e) =>
        e.kind === "http" && e.endpoint === "delete" && e.status === 200
      ),
      "the backlog's delete while 'new' is held",
    );
    assert.deepEqual(queued(server, device), ["new"]);
    await stream.close();
    assert.deepEqual(queued(server, device), ["new"], "held: not deleted");
  },
);

serverTest(
  "streamMessages() skips only the backlog when the first downloads fail: what came during the outage is delivered",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    queueBacklog(server, device, "old 1", "old 2");
    const record = server.store.devices.get(device.deviceId)!;
    server.failNext({ type: "status", status: 503 }, {
      endpoint: "download",
      count: 2,
    });
    const statuses: StreamStatus[] = [];
    const stream = context.stream(device, {
      backlog: "skip",
      onStatus: (s) => {
        statuses.push(s);
        if (s.state === "retrying" && s.attempt === 1) {
          // Queued during the outage, a second into the stream.
          server.send({ message: "new" });
          record.queue.at(-1)!.queuedDate += 1;
        }
      },
    });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await within(iterator.next(), "the message sent meanwhile");
    assert.equal(first.value?.message, "new");
    assert.deepEqual(
      statuses.filter((s) => s.state === "retrying").map((s) =>
        s.state === "retrying" && s.attempt
      ),
      [1, 2],
    );
    await stream.close();
    // The backlog was deleted unseen; "new", held at close, stays.
    assert.deepEqual(queued(server, device), ["new"]);
  },
);

serverTest(
  "streamMessages() with backlog skip delivers a message queued in the start's own second, after next()",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    queueBacklog(server, device); // the welcome is old
    const record = server.store.devices.get(device.deviceId)!;
    const rest = recordingFetch(context.server.fetch);
    // The start's second is read by the first next(); bracket it, and try
    // again in the rare case the bracket spans a second boundary.
    for (let attempt = 0;; attempt++) {
      rest.hold("download");
      const stream = context.stream(device, {
        backlog: "skip",
        fetch: rest.fetch,
      });
      const iterator = stream[Symbol.asyncIterator]();
      const before = Math.floor(Date.now() / 1000);
      const first = iterator.next();
      await rest.until(() => rest.count("download") > 0);
      const after = Math.floor(Date.now() / 1000);
      server.send({ message: "live" }); // after next(), before the download's answer
      record.queue.at(-1)!.queuedDate = after; // the start's own second
      rest.release();
      if (before !== after && attempt < 3) {
        await stream.close();
        record.queue = record.queue.filter((m) => m.message !== "live");
        continue;
      }
      assert.equal(
        before,
        after,
        "the test could not bracket the start's second",
      );
      assert.equal(
        (await within(first, "the live message")).value?.message,
        "live",
      );
      await stream.close();
      break;
    }
    assert.deepEqual(queued(server, device), ["live"]);
  },
);

serverTest(
  "streamMessages() deletes once per batch moved past, not per message",
  async (context) => {
    const device = await newDevice(context);
    for (let i = 0; i < 5; i++) context.server.send({ message: `m${i}` });
    await take(context.stream(device), 6);
    const deletes = context.server.log.requests("delete");
    assert.equal(deletes.length, 1);
    assert.deepEqual(queued(context.server, device), []);
  },
);

serverTest(
  "streamMessages() deletes a message only after the loop moved past it",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const rest = recordingFetch(context.server.fetch);
    const stream = context.stream(device, { fetch: rest.fetch });
    const iterator = stream[Symbol.asyncIterator]();
    const welcome = (await iterator.next()).value!;
    rest.hold("delete");
    const held = iterator.next(); // moves past the welcome: its delete starts
    await rest.until(() => rest.count("delete") === 1);
    server.send({ message: "held" });
    assert.equal((await held).value?.message, "held");
    // The welcome's delete ends while "held" is in the loop's hand: the
    // deleter looks for more to delete then, and must find nothing.
    rest.release();
    await rest.until(() => rest.count("delete", true) === 1);
    for (let i = 0; i < 3; i++) await nextTurn();
    assert.deepEqual(
      rest.calls.filter((c) => c.endpoint === "delete").map((c) =>
        c.params.get("message")
      ),
      [welcome.id_str],
    );
    assert.deepEqual(queued(server, device), ["held"]);
    const after = iterator.next(); // moves past "held": now it may go
    server.send({ message: "after" });
    assert.equal((await after).value?.message, "after");
    await stream.close();
    assert.deepEqual(queued(server, device), ["after"]);
  },
);

serverTest(
  "streamMessages() stopped mid-batch by break keeps the rest for the next start",
  async (context) => {
    const device = await newDevice(context);
    const [welcome] = (await downloadMessages(device, context.api)).messages;
    await deleteThrough(device, welcome, context.api);
    for (const text of ["1", "2", "3", "4", "5"]) {
      context.server.send({ message: text });
    }
    const first = await take(context.stream(device), 2);
    assert.deepEqual(first.map((m) => m.message), ["1", "2"]);
    assert.deepEqual(queued(context.server, device), ["3", "4", "5"]);
    const rest = await take(context.stream(device), 3);
    assert.deepEqual(rest.map((m) => m.message), ["3", "4", "5"]);
  },
);

serverTest(
  "streamMessages() closed from outside keeps the held message for the next start",
  async (context) => {
    const device = await newDevice(context);
    context.server.send({ message: "held" });
    const stream = context.stream(device);
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // welcome
    const held = await iterator.next(); // the loop moved past the welcome
    assert.equal(held.value?.message, "held");
    await stream.close(); // as if the process were stopping mid-handling
    assert.deepEqual(queued(context.server, device), ["held"]);
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
    const [again] = await take(
      context.stream(device),
      1,
    );
    assert.equal(again.message, "held");
  },
);

serverTest(
  "streamMessages() with autoDelete false leaves deleting to the caller",
  async (context) => {
    const device = await newDevice(context);
    context.server.send({ message: "keep" });
    await take(
      context.stream(device, { autoDelete: false }),
      2,
    );
    assert.equal(context.server.log.requests("delete").length, 0);
    assert.equal(queued(context.server, device).length, 2);
  },
);

serverTest(
  "streamMessages() holds at most one download's batch for a slow consumer",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    for (let i = 0; i < 3; i++) server.send({ message: `first ${i}` });
    const rest = recordingFetch(context.server.fetch);
    const spy = spySockets(context.server.WebSocket);
    const downloadsDuring: number[] = [];
    const got = await take(
      context.stream(device, { fetch: rest.fetch, WebSocket: spy.WebSocket }),
      7,
      async (_, index) => {
        if (index === 0) {
          await server.waitForLogin(device.deviceId);
          for (let i = 0; i < 3; i++) server.send({ message: `second ${i}` });
          // Slow: the three '!' reach the stream while it holds the welcome.
          await spy.until(() =>
            spy.sockets[0].frames.filter((f) => f === "!").length === 3
          );
          await nextTurn();
        }
        downloadsDuring.push(rest.count("download"));
      },
    );
    assert.deepEqual(got.map((m) => m.message).slice(1), [
      "first 0",
      "first 1",
      "first 2",
      "second 0",
      "second 1",
      "second 2",
    ]);
    // The whole first batch (4) is handed out from one download, whatever
    // '!' came meanwhile; the next download waits until it is used up.
    assert.deepEqual(downloadsDuring, [1, 1, 1, 1, 2, 2, 2]);
  },
);

serverTest(
  "streamMessages() collapses a burst of 20 '!' during a sync into at most one more download",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const rest = recordingFetch(context.server.fetch);
    const spy = spySockets(context.server.WebSocket);
    const stream = context.stream(device, {
      fetch: rest.fetch,
      WebSocket: spy.WebSocket,
    });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // welcome: connected and synced once
    await server.waitForLogin(device.deviceId);
    const before = rest.count("download");
    rest.hold("download");
    const next = iterator.next(); // moves past the welcome; waits for '!'
    server.send({ message: "burst start" });
    await rest.until(() => rest.count("download") === before + 1);
    // While that download is held, 20 more '!' reach the stream.
    for (let i = 0; i < 20; i++) server.sendFrame("!");
    await spy.until(() => spy.sockets[0].frames.length === 21);
    await nextTurn();
    rest.release();
    assert.equal((await next).value?.message, "burst start");
    // Idle with a loop waiting: the burst may cost one more download, no more.
    const waiting = iterator.next();
    await rest.until(() => rest.count("download", true) === before + 2);
    for (let i = 0; i < 3; i++) await nextTurn();
    const forBurst = rest.count("download") - before;
    assert.ok(forBurst <= 2, `${forBurst} downloads for one '!' and a burst`);
    server.send({ message: "after" });
    assert.equal((await waiting).value?.message, "after");
    await stream.close();
  },
);

serverTest("streamMessages() accepts frames sent as text", async (context) => {
  const device = await newDevice(context);
  const got = await take(
    context.stream(device),
    2,
    (_, index) => {
      if (index === 0) context.server.send({ message: "via text frame" });
    },
  );
  assert.equal(got[1].message, "via text frame");
}, { frameKind: "text" });

serverTest(
  "streamMessages() reports connecting, connected and stopped",
  async (context) => {
    const device = await newDevice(context);
    const statuses: StreamStatus[] = [];
    await take(
      context.stream(device, { onStatus: (s) => statuses.push(s) }),
      1,
    );
    const [connecting, connected, synced, stopped, ...more] = statuses;
    assert.deepEqual(connecting, { state: "connecting", attempt: 1 });
    assert.deepEqual(connected, { state: "connected" });
    // Each download reports the queue's length and the account's facts.
    assert.deepEqual(
      synced.state === "synced" && {
        queued: synced.queued,
        quiet: synced.user?.quiet_hours,
        licensed: synced.user?.is_desktop_licensed,
        email: synced.user?.email,
      },
      { queued: 1, quiet: false, licensed: true, email: EMAIL },
    );
    assert.deepEqual(stopped, {
      state: "stopped",
      reason: "ended",
      error: undefined,
    });
    assert.deepEqual(more, []);
  },
);

for (
  const [kind, onStatus] of [
    ["throws", () => {
      throw new Error("status callback broke");
    }],
    ["is async and rejects", async () => {
      await Promise.resolve();
      throw new Error("async status callback broke");
    }],
  ] as const
) {
  serverTest(
    `streamMessages() keeps delivering when onStatus ${kind}`,
    async (context) => {
      const { server } = context;
      const device = await newDevice(context);
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on("unhandledRejection", onUnhandled);
      const states: string[] = [];
      // Not context.stream(): should the callback's error escape through
      // close(), the test must still end and close the fake.
      const stream = streamMessages(
        device,
        streamOptions(context, {
          onStatus: (s) => {
            states.push(s.state);
            return onStatus();
          },
        }),
      );
      try {
        const got = await take(stream, 2, (_, index) => {
          if (index === 0) server.send({ message: "still delivered" });
        });
        assert.equal(got[1].message, "still delivered");
        assert.deepEqual(states, [
          "connecting",
          "connected",
          "synced",
          "synced",
          "stopped",
        ]);
        // Rejections count as unhandled only after a turn of the event loop.
        for (let i = 0; i < 3; i++) await nextTurn();
      } finally {
        await stream.close().catch(() => {});
        process.off("unhandledRejection", onUnhandled);
      }
      assert.deepEqual(unhandled, []);
    },
  );
}

serverTest(
  "streamMessages() logs in on the socket with the device id and secret",
  async (context) => {
    const device = await newDevice(context);
    await take(context.stream(device), 1);
    const [login] = context.server.log.sockets("received");
    assert.equal(
      login?.data,
      `login:${device.deviceId}:${device.secret}\n`,
    );
  },
);

test("streamMessages() has one consumer", () => {
  const stream = streamMessages({ secret: "s", deviceId: "d" }, {
    WebSocket: class {} as never,
  });
  stream[Symbol.asyncIterator]();
  assert.throws(() => stream[Symbol.asyncIterator](), {
    name: "TypeError",
    message:
      "Cannot stream messages: a MessageStream has one consumer and is iterated already; call streamMessages() again for another",
  });
});
