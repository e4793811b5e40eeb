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
  "streamMessages() downloads before it deletes when a '!' is pending: one request at a time",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const rest = recordingFetch(context.server.fetch);
    const spy = spySockets(context.server.WebSocket);
    const overlaps: string[] = [];
    const checked: typeof fetch = (input, init) => {
      const busy = rest.calls.filter((c) => !c.answered).map((c) => c.endpoint);
      if (busy.length > 0) overlaps.push(`${String(input)} during ${busy}`);
      return rest.fetch(input, init);
    };
    const stream = context.stream(device, {
      fetch: checked,
      WebSocket: spy.WebSocket,
    });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // the welcome
    for (let i = 0; i < 5; i++) server.send({ message: `m${i}` });
    await spy.until(() => spy.sockets[0].frames.includes("!"));
    await nextTurn();
    // Moving past the welcome with a '!' pending: the download goes first.
    const got: string[] = [];
    for (let i = 0; i < 5; i++) {
      got.push((await iterator.next()).value!.message);
    }
    const waiting = iterator.next(); // moves past m4; nothing more comes
    await rest.until(() => rest.count("delete", true) === 1);
    assert.deepEqual(got, ["m0", "m1", "m2", "m3", "m4"]);
    assert.deepEqual(overlaps, []);
    const order = rest.calls.map((c) => c.endpoint);
    assert.equal(order.filter((e) => e === "delete").length, 1, String(order));
    assert.equal(order.at(-1), "delete", String(order));
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
