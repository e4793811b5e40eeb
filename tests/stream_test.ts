// streamMessages(): delivery, order, deletion and frames, end to end.

import assert from "node:assert/strict";
import { test } from "node:test";
import { deleteThrough, downloadMessages, streamMessages } from "../mod.ts";
import type { StreamStatus } from "../mod.ts";
import { newDevice, queued, serverTest, take } from "./_setup.ts";

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
  "streamMessages() skips the backlog when asked: deleted unseen, live ones delivered",
  async (context) => {
    const device = await newDevice(context);
    context.server.send({ message: "old 1" });
    context.server.send({ message: "old 2" });
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
    const device = await newDevice(context);
    context.server.send({ message: "a" });
    context.server.send({ message: "b" });
    const stream = context.stream(device);
    const seenOnServer: string[][] = [];
    await take(stream, 3, () => {
      seenOnServer.push(queued(context.server, device));
    });
    // While the loop held each message, all three were still on the server.
    for (const snapshot of seenOnServer) assert.equal(snapshot.length, 3);
    assert.deepEqual(queued(context.server, device), []);
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
    const device = await newDevice(context);
    for (let i = 0; i < 3; i++) context.server.send({ message: `first ${i}` });
    const downloadsDuring: number[] = [];
    await take(
      context.stream(device),
      7,
      (_, index) => {
        if (index === 0) {
          for (let i = 0; i < 3; i++) {
            context.server.send({ message: `second ${i}` });
          }
        }
        if (index < 4) {
          downloadsDuring.push(context.server.log.requests("download").length);
        }
      },
    );
    // The whole first batch (4) is handed out from one download, whatever `!` came meanwhile.
    assert.deepEqual(downloadsDuring, [1, 1, 1, 1]);
    assert.equal(context.server.log.requests("download").length, 2);
  },
);

serverTest(
  "streamMessages() collapses a burst of 20 '!' during a sync into at most one more download",
  async (context) => {
    const device = await newDevice(context);
    const stream = context.stream(device);
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // welcome: connected and synced once
    const before = context.server.log.requests("download").length;
    context.server.failNext({ type: "delay", ms: 30 }, {
      endpoint: "download",
    });
    const from = context.server.log.entries.length;
    const next = iterator.next(); // moves past the welcome; waits for '!'
    context.server.send({ message: "burst start" });
    await context.server.log.waitFor(
      (e) => e.kind === "http" && e.endpoint === "download",
      from,
    );
    for (let i = 0; i < 20; i++) context.server.sendFrame("!"); // while that download is slow
    assert.equal((await next).value?.message, "burst start");
    context.server.send({ message: "after" });
    assert.equal((await iterator.next()).value?.message, "after");
    await stream.close();
    // one for the first '!', at most one for the 20 collapsed, one for "after"
    assert.ok(context.server.log.requests("download").length - before <= 3);
    assert.ok(context.server.log.requests("download").length - before >= 2);
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
    assert.deepEqual(statuses, [
      { state: "connecting", attempt: 1 },
      { state: "connected" },
      { state: "stopped", reason: "ended", error: undefined },
    ]);
  },
);

serverTest(
  "streamMessages() logs in on the socket with the device id and secret",
  async (context) => {
    const device = await newDevice(context);
    await take(context.stream(device), 1);
    const login = context.server.log.entries.find((e) =>
      e.kind === "socket" && e.event === "received"
    );
    assert.equal(
      login?.kind === "socket" ? login.data : "",
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
