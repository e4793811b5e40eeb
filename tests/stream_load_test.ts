// The stream under a steady flow of messages, over the fake: deletes keep up
// with the batches (a crash re-delivers at most the batch in hand and the one
// before), and a message queued while the push host had not yet taken the
// login still arrives.

import assert from "node:assert/strict";
import { DELETE_EVERY, DELETE_PACE } from "../lib/_deleter.ts";
import type { Message, StreamStatus } from "../mod.ts";
import {
  type Context,
  newDevice,
  queued,
  serverTest,
  within,
} from "./_setup.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How a steady flow is made: one message every `every` ms, handled in `handle` ms. */
interface Load {
  messages: number;
  every: number;
  handle: number;
  /** How long each download takes on the fake, ms (0: as fast as it goes). */
  download: number;
}

/**
 * Streams a steady flow with `forEach` and, at every message, looks at what
 * a crash there would re-deliver: the messages handed out but still queued on
 * the server. Batches are told apart by the stream's `synced` reports, each
 * of which comes before the messages of its download.
 */
async function underLoad(context: Context, load: Load) {
  const { server } = context;
  const device = await newDevice(context);
  if (load.download > 0) {
    server.failNext({ type: "delay", ms: load.download }, {
      endpoint: "download",
      count: 1_000_000,
    });
  }
  /** The messages of each download, as handed out. */
  const batches: string[][] = [[]];
  const handed = new Set<string>();
  const samples: { redelivered: number; bound: number }[] = [];
  const stream = context.stream(device, {
    onStatus: (status: StreamStatus) => {
      if (status.state === "synced" && batches.at(-1)!.length > 0) {
        batches.push([]);
      }
    },
  });
  let sent = 0;
  const producer = setInterval(() => {
    if (sent < load.messages) server.send({ message: `load ${sent++}` });
  }, load.every);
  const total = load.messages + 1; // and the welcome
  try {
    await stream.forEach(async (message: Message) => {
      handed.add(message.message);
      batches.at(-1)!.push(message.message);
      const redelivered = queued(server, device).filter((m) => handed.has(m));
      const [previous = [], current] = batches.slice(-2).length === 2
        ? batches.slice(-2)
        : [[], batches.at(-1)!];
      samples.push({
        redelivered: redelivered.length,
        bound: current.length + previous.length,
      });
      await sleep(load.handle);
      // Closed once this handler has resolved and the loop moved past it.
      if (handed.size === total) setTimeout(() => void stream.close(), 0);
    });
  } finally {
    clearInterval(producer);
  }
  return {
    samples,
    batches: batches.filter((b) => b.length > 0),
    deletes: server.log.requests("delete").length,
    left: queued(server, device),
    handed: handed.size,
  };
}

function assertKeptUp(
  result: Awaited<ReturnType<typeof underLoad>>,
  load: Load,
): void {
  assert.equal(result.handed, load.messages + 1);
  const worst = result.samples.find((s) => s.redelivered > s.bound);
  assert.equal(
    worst,
    undefined,
    `a crash would have re-delivered more than the batch in hand and the one before: ${
      JSON.stringify(worst)
    } (batches ${result.batches.map((b) => b.length)})`,
  );
  // A delete for (nearly) every batch moved past, not one at the end.
  assert.ok(
    result.deletes >= result.batches.length - 1,
    `${result.deletes} deletes for ${result.batches.length} batches`,
  );
  assert.deepEqual(result.left, [], "everything handled was deleted");
}

serverTest(
  "streamMessages() under a steady flow with a slower consumer deletes each batch beside the next download: a crash re-delivers at most two batches",
  async (context) => {
    // The first load, scaled down: a message every 40 ms, 60 ms each.
    const load = { messages: 40, every: 4, handle: 6, download: 0 };
    assertKeptUp(await underLoad(context, load), load);
  },
);

serverTest(
  "streamMessages() under a steady flow with slow downloads and a fast consumer deletes as it goes",
  async (context) => {
    // The second load, scaled down: downloads of 200 ms, a message
    // every 150 ms, handled in 30 ms.
    const load = { messages: 25, every: 15, handle: 3, download: 20 };
    assertKeptUp(await underLoad(context, load), load);
  },
);

serverTest(
  "streamMessages() deletes a long batch of a slow consumer as it goes: every DELETE_EVERY messages, not only at its end",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const backlog = 3 * DELETE_EVERY;
    // Slow enough that DELETE_EVERY messages take longer than DELETE_PACE.
    const handling = Math.ceil(DELETE_PACE / DELETE_EVERY) + 5;
    for (let i = 0; i < backlog; i++) server.send({ message: `old ${i}` });
    const handed = new Set<string>();
    let worst = 0;
    const stream = context.stream(device);
    await stream.forEach(async (message) => {
      handed.add(message.message);
      const redelivered = queued(server, device).filter((m) => handed.has(m));
      worst = Math.max(worst, redelivered.length);
      await new Promise((resolve) => setTimeout(resolve, handling));
      if (handed.size === backlog + 1) setTimeout(() => void stream.close(), 0);
    });
    assert.equal(server.log.requests("download").length, 1, "one batch");
    // At most the messages since the last delete, and those of the one on its way.
    assert.ok(worst <= 2 * DELETE_EVERY, `a crash would re-deliver ${worst}`);
    assert.ok(server.log.requests("delete").length >= 3);
    assert.deepEqual(queued(server, device), []);
  },
);

serverTest(
  "streamMessages() gets a message queued after its connect-time download but before the push host took its login",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    server.holdLogins(true);
    const stream = context.stream(device);
    const iterator = stream[Symbol.asyncIterator]();
    // The connect-time download starts once the login is sent: the welcome.
    assert.equal((await iterator.next()).value?.title, "Welcome to Pushover!");
    await server.log.waitFor((e) =>
      e.kind === "socket" && e.event === "received" &&
      e.data?.startsWith("login:") === true
    );
    const next = iterator.next();
    server.send({ message: "in the login window" });
    assert.equal(server.connections(device.deviceId), 0, "login still held");
    server.holdLogins(false); // taken now; the first keep-alive proves it
    assert.equal(
      (await within(next, "the message queued in the login window"))
        .value?.message,
      "in the login window",
    );
    assert.equal(
      server.log.sockets("sent", { data: "!" }).length,
      0,
      "no '!' announced it",
    );
    await stream.close();
  },
  { keepAliveInterval: 20 },
);

serverTest(
  "forEach() deletes a message once its handler resolves; a handler that throws stops the stream and leaves its message first in the queue",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    for (const text of ["one", "two", "three"]) server.send({ message: text });
    const seen: string[] = [];
    const failure = new Error("the notifier is down");
    const statuses: StreamStatus[] = [];
    const stream = context.stream(device, {
      onStatus: (status) => statuses.push(status),
    });
    await assert.rejects(
      stream.forEach((message) => {
        seen.push(message.message);
        if (message.message === "two") throw failure;
      }),
      (error) => error === failure,
    );
    assert.deepEqual(seen.slice(1), ["one", "two"]); // after the welcome
    assert.deepEqual(statuses.at(-1), {
      state: "stopped",
      reason: "closed",
      error: undefined,
    });
    assert.deepEqual(queued(server, device), ["two", "three"]);
    // The next start begins with the message that failed.
    const again: string[] = [];
    const second = context.stream(device);
    await second.forEach(async (message) => {
      again.push(message.message);
      await Promise.resolve();
      if (again.length === 2) setTimeout(() => void second.close(), 0);
    });
    assert.deepEqual(again, ["two", "three"]);
    assert.deepEqual(queued(server, device), []);
  },
);

serverTest(
  "forEach() rejects an async handler's rejection the same way, and resolves when the stream is closed",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const stream = context.stream(device);
    await assert.rejects(
      stream.forEach(() => Promise.reject(new RangeError("no room"))),
      RangeError,
    );
    assert.equal(queued(server, device).length, 1, "the welcome stays");
    const closing = context.stream(device);
    let handled!: () => void;
    const welcome = new Promise<void>((resolve) => handled = resolve);
    const done = closing.forEach(handled);
    await welcome;
    await new Promise((resolve) => setTimeout(resolve, 0)); // moved past it
    await closing.close();
    assert.equal(await done, undefined);
    assert.deepEqual(queued(server, device), []);
  },
);

serverTest(
  "forEach() takes only a function, and only on a stream not iterated yet",
  async (context) => {
    const device = await newDevice(context);
    const stream = context.stream(device);
    await assert.rejects(
      // @ts-expect-error: a handler is required
      stream.forEach("print"),
      /forEach\(\) takes a function, called with each message: current value is 'print'/,
    );
    stream[Symbol.asyncIterator]();
    await assert.rejects(stream.forEach(() => {}), TypeError);
  },
);

serverTest(
  "forEachBatch() hands a download's worth at once and deletes it, through the last, once the handler resolves",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    for (const text of ["one", "two", "three"]) server.send({ message: text });
    const batches: string[][] = [];
    let queuedDuring: string[] | undefined;
    const stream = context.stream(device);
    await stream.forEachBatch(async (messages) => {
      batches.push(messages.map((message) => message.message));
      // Nothing is deleted while the handler works on the batch.
      queuedDuring ??= queued(server, device);
      await Promise.resolve();
      if (batches.length === 1) server.send({ message: "four" });
      else setTimeout(() => void stream.close(), 0);
    });
    assert.deepEqual(batches.map((batch) => batch.slice(-3)), [
      ["one", "two", "three"],
      ["four"],
    ]);
    assert.equal(batches[0].length, 4, "the welcome and three, in one batch");
    assert.equal(queuedDuring?.length, 4);
    assert.deepEqual(queued(server, device), []);
  },
);

serverTest(
  "forEachBatch() leaves the whole batch queued when its handler rejects, and rejects with the handler's error",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    for (const text of ["one", "two"]) server.send({ message: text });
    const failure = new Error("the disk is full");
    await assert.rejects(
      context.stream(device).forEachBatch(() => Promise.reject(failure)),
      (error) => error === failure,
    );
    assert.equal(queued(server, device).length, 3);
  },
);

serverTest(
  "forEachBatch() takes only a function, and only on a stream not iterated yet",
  async (context) => {
    const device = await newDevice(context);
    const stream = context.stream(device);
    await assert.rejects(
      // @ts-expect-error: a handler is required
      stream.forEachBatch(null),
      /forEachBatch\(\) takes a function, called with each batch: current value is null/,
    );
    void stream.forEach(() => {});
    await assert.rejects(
      stream.forEachBatch(() => {}),
      /has one consumer and is iterated already/,
    );
  },
);
