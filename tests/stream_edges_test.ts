// streamMessages() at its edges: stopping while a slow delete runs, what a
// delete may and may not delay, refusals on a 200, what a custom fetch
// throws, Retry-After on deletes, and how many logins an 'R' storm gets.

import assert from "node:assert/strict";
import process from "node:process";
import {
  LoginRequiredError,
  PushoverError,
  type StreamStatus,
} from "../mod.ts";
import {
  newDevice,
  nextTurn,
  queued,
  recordingFetch,
  rejection,
  serverTest,
  spySockets,
  within,
} from "./_setup.ts";

const STOPS = {
  close: (stream: { close(): Promise<void> }) => stream.close(),
  dispose: (stream: { [Symbol.asyncDispose](): Promise<void> }) =>
    stream[Symbol.asyncDispose](),
  abort: (_: unknown, controller: AbortController) => {
    controller.abort(new Error("stop"));
    return Promise.resolve();
  },
} as const;

for (const [how, stop] of Object.entries(STOPS)) {
  serverTest(
    `streamMessages() stopped by ${how} while a slow delete runs keeps the held message on the server`,
    async (context) => {
      const { server } = context;
      const device = await newDevice(context);
      const controller = new AbortController();
      const stream = context.stream(device, { signal: controller.signal });
      const iterator = stream[Symbol.asyncIterator]();
      const welcome = (await iterator.next()).value!;
      // Moving past the welcome deletes it, slowly: 300 ms on the server.
      server.failNext({ type: "delay", ms: 300 }, { endpoint: "delete" });
      server.send({ message: "held" });
      const held = (await iterator.next()).value!;
      assert.equal(held.message, "held");
      await server.log.waitFor((e) =>
        e.kind === "http" && e.endpoint === "delete"
      );
      // Stop while the loop holds "held" and the delete is in flight; then the
      // loop body finishes and asks for more, as a for-await loop would.
      const stopping = stop(stream, controller);
      const after = iterator.next().catch((error) => error);
      await stopping;
      const answer = await after;
      if (how === "abort") assert.equal((answer as Error).message, "stop");
      else assert.deepEqual(answer, { done: true, value: undefined });
      await stream.close();
      assert.deepEqual(
        server.log.requests("delete").map((r) => r.params.message),
        [welcome.id_str],
      );
      assert.deepEqual(queued(server, device), ["held"]);
    },
  );
}

serverTest(
  "streamMessages() moving past a batch with a '!' pending starts the download first, and the batch's delete beside it",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const rest = recordingFetch(context.server.fetch);
    const spy = spySockets(context.server.WebSocket);
    const overlaps: string[] = [];
    const checked: typeof fetch = (input, init) => {
      const busy = rest.calls.filter((c) => !c.answered).map((c) => c.endpoint);
      if (busy.length > 0) {
        overlaps.push(`${new URL(String(input)).pathname} during ${busy}`);
      }
      return rest.fetch(input, init);
    };
    const stream = context.stream(device, {
      fetch: checked,
      WebSocket: spy.WebSocket,
    });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // the welcome
    rest.hold("download");
    for (let i = 0; i < 5; i++) server.send({ message: `m${i}` });
    await spy.until(() => spy.sockets[0].frames.includes("!"));
    await nextTurn();
    // Moving past the welcome with a '!' pending: the download goes out
    // first, and the welcome's delete right beside it, not after it.
    const first = iterator.next();
    await rest.until(() => rest.count("delete", true) === 1);
    assert.equal(rest.count("download", true), 1, "the download is still held");
    rest.release();
    const got = [(await first).value!.message];
    for (let i = 1; i < 5; i++) {
      got.push((await iterator.next()).value!.message);
    }
    const waiting = iterator.next(); // moves past m4; nothing more comes
    await rest.until(() => rest.count("delete", true) === 2);
    assert.deepEqual(got, ["m0", "m1", "m2", "m3", "m4"]);
    const order = rest.calls.map((c) => c.endpoint);
    assert.deepEqual(order, ["download", "download", "delete", "delete"]);
    assert.equal(overlaps.length, 1, String(overlaps));
    assert.match(overlaps[0], /update_highest_message\.json during download$/);
    await stream.close();
    assert.deepEqual(await waiting, { done: true, value: undefined });
    assert.deepEqual(queued(server, device), []);
  },
);

for (
  const [what, body, login] of [
    [
      "LoginRequiredError when a 200 refuses the secret",
      '{"status":0,"secret":"invalid","errors":["secret is invalid"]}',
      true,
    ],
    [
      "the refusal a 200 carries as status 0",
      '{"status":0,"errors":["application is over its quota"]}',
      false,
    ],
  ] as const
) {
  serverTest(
    `streamMessages() stops with ${what}, without retrying`,
    async (context) => {
      const { server } = context;
      const device = await newDevice(context);
      server.failNext({ type: "json", status: 200, body }, {
        endpoint: "download",
        count: 50,
      });
      const statuses: StreamStatus[] = [];
      const error = await rejection(
        context.stream(device, { onStatus: (s) => statuses.push(s) })
          [Symbol.asyncIterator]().next(),
      );
      assert.ok(error instanceof PushoverError, String(error));
      assert.equal(error instanceof LoginRequiredError, login);
      assert.equal(error.status, 200);
      assert.match(error.message, new RegExp(JSON.parse(body).errors[0]));
      assert.equal(server.log.requests("download").length, 1);
      assert.ok(!statuses.some((s) => s.state === "retrying"));
    },
  );
}

serverTest(
  "streamMessages() retries when a custom fetch rejects with a DOMException naming the URL",
  async (context) => {
    const device = await newDevice(context);
    let failures = 2;
    const flaky: typeof fetch = (input, init) => {
      if (failures-- > 0) {
        return Promise.reject(
          new DOMException(`network gone for ${String(input)}`, "NetworkError"),
        );
      }
      return context.server.fetch(input, init);
    };
    const statuses: StreamStatus[] = [];
    const stream = context.stream(device, {
      fetch: flaky,
      onStatus: (s) => statuses.push(s),
    });
    const first = await within(
      stream[Symbol.asyncIterator]().next(),
      "the welcome after two failures",
    );
    assert.match(first.value!.message, /can now receive notifications/);
    const reasons = statuses.flatMap((s) =>
      s.state === "retrying" ? [s.reason] : []
    );
    assert.equal(reasons.length, 2);
    for (const reason of reasons) {
      assert.match(reason, /network gone for/);
      assert.ok(!reason.includes(device.secret), reason);
    }
  },
);

serverTest(
  "streamMessages() waits as long as a 429's Retry-After asks before retrying a delete",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    server.failNext({ type: "status", status: 429, retryAfter: "0.08" }, {
      endpoint: "delete",
    });
    const statuses: StreamStatus[] = [];
    const stream = context.stream(device, {
      onStatus: (s) => statuses.push(s),
    });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    const waiting = iterator.next(); // moves past the welcome: its delete gets 429
    await server.log.waitFor((e) =>
      e.kind === "http" && e.endpoint === "delete" && e.status === 429
    );
    const refusedAt = Date.now();
    await within(
      server.log.waitFor((e) =>
        e.kind === "http" && e.endpoint === "delete" && e.status === 200
      ),
      "the retried delete",
    );
    // A lower bound only: a slow machine never fails it.
    assert.ok(
      Date.now() - refusedAt >= 70,
      `retried after ${Date.now() - refusedAt} ms`,
    );
    const retrying = statuses.find((s) => s.state === "retrying");
    assert.equal(retrying?.state === "retrying" && retrying.delay, 80);
    await stream.close();
    assert.deepEqual(await waiting, { done: true, value: undefined });
  },
);

serverTest(
  "streamMessages() accepts retryDelay with resetAfter left undefined",
  async (context) => {
    const device = await newDevice(context);
    const stream = context.stream(device, {
      retryDelay: { min: 1, max: 10, resetAfter: undefined },
    });
    const first = await stream[Symbol.asyncIterator]().next();
    assert.equal(first.done, false);
  },
);

serverTest(
  "streamMessages() closed while a delete hangs gives it up after 2 s: the message comes again",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    server.failNext({ type: "hang" }, { endpoint: "delete" });
    const stream = context.stream(device, { timeout: 60_000 });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // the welcome
    const waiting = iterator.next(); // moves past it: its delete hangs
    await server.log.waitFor((e) =>
      e.kind === "http" && e.endpoint === "delete"
    );
    const started = Date.now();
    await within(stream.close(), "close() despite the hanging delete", 5_000);
    const took = Date.now() - started;
    assert.ok(took >= 1_900 && took < 4_000, `close() took ${took} ms`);
    assert.deepEqual(await waiting, { done: true, value: undefined });
    assert.equal(queued(server, device).length, 1, "the welcome stays queued");
  },
  // 2 s a mutant would double the mutation task's time.
  {
    skip: process.env.PUSHOVER_SKIP_SLOW_TESTS === "1" &&
      "PUSHOVER_SKIP_SLOW_TESTS=1 (the mutation task)",
  },
);

serverTest(
  "streamMessages() with backlog skip skips only in the first download: a backdated message that comes later is delivered",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const record = server.store.devices.get(device.deviceId)!;
    record.queue.length = 0; // nothing old at all: nothing to skip
    const stream = context.stream(device, { backlog: "skip" });
    const iterator = stream[Symbol.asyncIterator]();
    const first = iterator.next();
    await server.waitForLogin(device.deviceId);
    await server.log.waitFor((e) =>
      e.kind === "http" && e.endpoint === "download"
    );
    // A message dated before the start, arriving after the first download
    // (a sender's clock, a late relay): not backlog, delivered.
    server.send({ message: "late but new" });
    record.queue.at(-1)!.queuedDate -= 60;
    assert.equal(
      (await within(first, "the late message")).value?.message,
      "late but new",
    );
    await stream.close();
  },
);

serverTest(
  "streamMessages() reports 'stopped' once however often it is stopped, without the abort's reason as an error, and return() answers done",
  async (context) => {
    const device = await newDevice(context);
    const statuses: StreamStatus[] = [];
    const controller = new AbortController();
    const stream = context.stream(device, {
      signal: controller.signal,
      onStatus: (s) => statuses.push(s),
    });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    controller.abort(new Error("user stop"));
    await stream.close();
    await stream.close();
    assert.deepEqual(await iterator.return!(), {
      done: true,
      value: undefined,
    });
    const stopped = statuses.filter((s) => s.state === "stopped");
    assert.deepEqual(stopped, [
      { state: "stopped", reason: "aborted", error: undefined },
    ]);
  },
);

serverTest(
  "streamMessages() gives up on a handshake after the request timeout when that is shorter than the keep-alive timeout",
  async (context) => {
    const device = await newDevice(context);
    class NeverOpens extends EventTarget {
      binaryType = "blob";
      send() {}
      close() {}
    }
    const reasons: string[] = [];
    const stream = context.stream(device, {
      timeout: 20,
      keepAliveTimeout: 60_000,
      WebSocket: NeverOpens as never,
      onStatus: (s) => {
        if (s.state === "reconnecting") reasons.push(s.reason);
      },
    });
    const iterator = stream[Symbol.asyncIterator]();
    const next = iterator.next().catch(() => {});
    await within(
      (async () => {
        while (reasons.length === 0) await new Promise((r) => setTimeout(r, 5));
      })(),
      "a reconnect",
    );
    assert.equal(reasons[0], "the connection did not open within 20 ms");
    await stream.close();
    await next;
  },
);

serverTest(
  "streamMessages() starts its download retries over once a download worked",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const attempts: number[] = [];
    server.failNext({ type: "status", status: 503 }, { endpoint: "download" });
    const stream = context.stream(device, {
      retryDelay: { min: 1, max: 1, resetAfter: 1 },
      onStatus: (s) => {
        if (s.state === "retrying") attempts.push(s.attempt);
      },
    });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // the welcome, after one failed download
    // Downloads have worked for resetAfter (1 ms) once this much has passed:
    // the in-process fake answers fast enough to fail again within it.
    await new Promise((resolve) => setTimeout(resolve, 5));
    server.failNext({ type: "status", status: 503 }, { endpoint: "download" });
    server.send({ message: "after a second failure" });
    assert.equal(
      (await iterator.next()).value?.message,
      "after a second failure",
    );
    await stream.close();
    assert.deepEqual(attempts, [1, 1]);
  },
);

serverTest(
  "streamMessages() retries a failed delete while a download runs: no delete waits for a quiet moment",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const recording = recordingFetch(context.api.fetch ?? fetch);
    const stream = context.stream(device, { fetch: recording.fetch });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // the welcome, held
    // Moving past it: its delete fails once and is retried within 10 ms.
    server.failNext({ type: "status", status: 503 }, { endpoint: "delete" });
    const second = iterator.next();
    await recording.until(() => recording.count("delete", true) === 1);
    // Meanwhile a download starts and is held on the way; the retry goes out.
    recording.hold("download");
    server.send({ message: "second" });
    await recording.until(() => recording.count("download") === 2);
    await recording.until(() => recording.count("delete", true) === 2);
    assert.equal(recording.count("download", true), 1, "the download is held");
    assert.deepEqual(queued(server, device), ["second"]);
    recording.release();
    assert.equal((await second).value?.message, "second");
    const third = iterator.next();
    await recording.until(() => recording.count("delete", true) === 3);
    await stream.close();
    await third;
  },
);
